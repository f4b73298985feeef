/* dproc selftest: every kernel on inputs whose answers are known in closed form, at the rank and
 * thread count dproc was started with; what a user runs first on a new cluster. */
#ifndef DP_SELFTEST_H
#define DP_SELFTEST_H

#include <mpi.h>

/* Runs the checks in a fresh directory under dir (removed afterwards; it must be visible to
 * every rank, e.g. the working directory on a shared file system), printing one pass/fail line
 * per kernel on rank 0. Returns the exit status: 0 when all passed, 1 otherwise. Collective. */
int dp_selftest(const char *dir, MPI_Comm comm);

#endif
