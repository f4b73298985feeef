/* dproc verify: checks an output file against the digests dproc wrote into it. */
#ifndef DP_VERIFY_H
#define DP_VERIFY_H

/* Recomputes the digest of every dataset of the HDF5 file at path that carries one
 * (dproc_digest), reading it in strips (HDF5 checks Fletcher32 checksums on the way), and
 * prints one line per dataset: ok, MISMATCH, FAILED (unreadable, e.g. a chunk whose checksum
 * does not match) or unchecked (no digest). Returns the exit status: 0 when the file is
 * complete and every digest matches, 1 otherwise (also when no dataset has a digest). Local. */
int dp_verify(const char *path);

#endif
