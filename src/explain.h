/* dproc explain: what made an output file, read back from its provenance attributes. */
#ifndef DP_EXPLAIN_H
#define DP_EXPLAIN_H

/* Prints how the HDF5 file at path was made — dproc version, host, start time, ranks x
 * threads, whether it is complete, its datasets with their shapes — then the job text (with
 * any --set overrides applied), so that the run can be repeated. Returns the exit status: 0,
 * or 1 when the file cannot be read, was not written by dproc or is incomplete. Local. */
int dp_explain(const char *path);

#endif
