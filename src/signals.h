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

/* "SIGUSR1", "SIGTERM" or "signal N". Local. */
const char *dp_signal_name(int sig);

#endif
