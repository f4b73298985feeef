/* MPI helpers: error agreement, deterministic combination of partial results, MPI errors as
 * text. */
#ifndef DP_COMM_H
#define DP_COMM_H

#include "err.h"

#include <mpi.h>
#include <stddef.h>

/* Agrees on the outcome of a step that may fail on some ranks only. Every rank passes its own
 * status; all return the same status: DP_OK when every rank succeeded, else the code of the
 * lowest failing rank, whose message (prefixed "rank N: ") becomes every rank's dp_err_msg().
 * Call it after every step that can fail locally, before the next collective. Collective. */
dp_status_t dp_comm_agree(dp_status_t status, MPI_Comm comm);

/* Combines one partial result of size bytes per rank with combine(ctx, acc, in), where acc
 * always holds the data of lower ranks, along a binomial tree; the order of combinations is
 * fixed for a given rank count. On return every rank holds the combination in buf.
 * Collective; size must match on all ranks. */
dp_status_t dp_comm_combine(void *buf, size_t size,
                            void (*combine)(const void *ctx, void *acc, const void *in),
                            const void *ctx, MPI_Comm comm);

/* Waits for a nonblocking file request by testing it with 50 us sleeps in between. MPI_Wait
 * polls without pause, and on Open MPI's ompio its polling starves the POSIX AIO thread that
 * does the I/O: a read waited for that way ran at half the speed of a blocking one here.
 * Returns MPI_Test's code. Local. */
int dp_comm_wait_io(MPI_Request *req, MPI_Status *status);

/* Turns an MPI return code into a recorded error naming what failed; DP_OK for MPI_SUCCESS.
 * Local. */
dp_status_t dp_comm_check(int mpi_rc, const char *what);

#endif
