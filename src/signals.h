/* Stopping cleanly on SIGUSR1 and SIGTERM (Slurm's warning before a time limit, scancel): the
 * handlers only note the signal; the driver looks at iteration and piece boundaries, agrees
 * across ranks, writes a checkpoint where the kernel has one and ends with DP_ERR_STOPPED. */
#ifndef DP_SIGNALS_H
#define DP_SIGNALS_H

#include "err.h"

#include <mpi.h>

/* Installs the handlers of SIGUSR1 and SIGTERM. Local; call once, after MPI_Init. */
void dp_signals_install(void);

/* The signal this process received and has not acted on yet, or 0. Local. */
int dp_signal_pending(void);

/* The signal any rank received (the highest number when they differ), or 0 when none did.
 * Collective: one MPI_Allreduce of an int. */
int dp_signal_agree(MPI_Comm comm);

/* A vote on stopping that travels while the ranks compute: an MPI_Iallreduce of the signals
 * received, posted after one step and completed after the next, so that iterative jobs do not
 * pay a blocking collective's latency every iteration (at 1024 ranks it cost more than a
 * 256x256 sweep: docs/scaling.md). */
typedef struct {
    MPI_Request req;
    int mine, any;
    int posted;
} dp_signal_vote_t;

/* Posts this rank's vote (the signal it received, or 0). Collective (nonblocking): every rank
 * posts its votes in the same order; at most one vote is posted at a time. */
void dp_signal_vote_begin(dp_signal_vote_t *v, MPI_Comm comm);

/* Completes the posted vote and returns the signal any rank had received when it voted (the
 * highest number when they differ), or 0; 0 when no vote is posted. Collective: completes the
 * collective that dp_signal_vote_begin posted. */
int dp_signal_vote_end(dp_signal_vote_t *v);

/* "SIGUSR1", "SIGTERM" or "signal N". Local. */
const char *dp_signal_name(int sig);

#endif
