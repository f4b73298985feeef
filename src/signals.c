#include "signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t received;

static void note(int sig)
{
    received = sig;
}

void dp_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = note;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int dp_signal_pending(void)
{
    return received;
}

int dp_signal_agree(MPI_Comm comm)
{
    int mine = received, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}

void dp_signal_vote_begin(dp_signal_vote_t *v, MPI_Comm comm)
{
    v->mine = received;
    v->any = 0;
    MPI_Iallreduce(&v->mine, &v->any, 1, MPI_INT, MPI_MAX, comm, &v->req);
    v->posted = 1;
}

int dp_signal_vote_end(dp_signal_vote_t *v)
{
    if (!v->posted)
        return 0;
    MPI_Wait(&v->req, MPI_STATUS_IGNORE);
    v->posted = 0;
    return v->any;
}

const char *dp_signal_name(int sig)
{
    static char other[32];
    if (sig == SIGUSR1)
        return "SIGUSR1";
    if (sig == SIGTERM)
        return "SIGTERM";
    snprintf(other, sizeof other, "signal %d", sig);
    return other;
}
