/* The command line of dproc. */
#ifndef DP_CLI_H
#define DP_CLI_H

/* Runs dproc with its command-line arguments: initialises and finalises MPI, parses options,
 * loads the job and runs it. Returns the process exit status: 0 success, 1 runtime failure,
 * 2 bad command line or job file, 3 internal error. Collective over MPI_COMM_WORLD. */
int dp_cli_main(int argc, char **argv);

#endif
