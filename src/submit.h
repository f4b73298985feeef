/* dproc submit: writes a Slurm batch script for a job and submits it (and a chain of
 * continuations) with sbatch. */
#ifndef DP_SUBMIT_H
#define DP_SUBMIT_H

/* Runs `dproc submit` with its own arguments (argv[0] is "submit"); returns the exit status.
 * Local: runs without MPI, on a login node. */
int dp_submit_main(int argc, char **argv);

#endif
