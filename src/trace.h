/* The timeline of a run ([output] trace): every rank's phases as Chrome trace-event JSON, with
 * the clocks of all ranks aligned to rank 0's. Spans are recorded by the main thread of each
 * rank, into memory, and written by rank 0 at the end; when no trace is asked for, recording
 * is one test of a flag. */
#ifndef DP_TRACE_H
#define DP_TRACE_H

#include "err.h"
#ifdef DP_SMPI
#include "sim_cost.h"
#endif

#include <mpi.h>
#include <stdint.h>

/* What a span of the timeline is; each kind has its name in the trace and its lane. */
typedef enum {
    DP_TR_SETUP,       /* opening the input and the output, planning */
    DP_TR_READ,        /* a blocking read */
    DP_TR_READ_ISSUE,  /* posting nonblocking reads (MPI-IO may do part of the work here) */
    DP_TR_READ_FLIGHT, /* reads in flight (lane "reads in flight"), from posting to completion */
    DP_TR_READ_WAIT,   /* blocked waiting for a read */
    DP_TR_COMPUTE,
    DP_TR_HALO,         /* a halo exchange in flight (lane "halo in flight") */
    DP_TR_HALO_WAIT,    /* blocked waiting for a halo exchange */
    DP_TR_REDUCE,       /* combining partial results across ranks */
    DP_TR_SHUFFLE,      /* key-value kernels: sending keys to their owners */
    DP_TR_WRITE,        /* a blocking write */
    DP_TR_WRITE_ISSUE,  /* posting nonblocking writes */
    DP_TR_WRITE_FLIGHT, /* streamed writes in flight (lane "writes in flight") */
    DP_TR_WRITE_WAIT,   /* blocked waiting for a streamed write */
    DP_TR_CHECKPOINT,
    DP_TR_PREVIEW, /* drawing [output] preview */
    DP_TR_NKINDS
} dp_trace_kind_t;

/* Nonzero while this rank records a trace; tested before anything else is done. */
extern int dp_trace_active;

/* Starts recording: measures this rank's clock offset against rank 0's (ping-pong, the
 * exchange with the shortest round trip counts) and sets the timeline's origin to rank 0's
 * clock now. Collective over comm. */
void dp_trace_start(MPI_Comm comm);

/* Records a span of kind from t0 to t1 (MPI_Wtime() of this rank). A span that continues the
 * previous one of its kind without a gap is merged into it. Local; main thread only. */
void dp_trace_span_slow(dp_trace_kind_t kind, double t0, double t1);

/* Records a span (see dp_trace_span_slow) when a trace is being recorded. Local. */
static inline void dp_trace_span(dp_trace_kind_t kind, double t0, double t1)
{
    if (dp_trace_active)
        dp_trace_span_slow(kind, t0, t1);
}

/* Adds now - t0 to *slot (a phase's time of the report), records the span of kind and
 * returns now. In dproc-smpi, the end of a compute span is where the simulated clock is
 * advanced by the cost of the work done (src/sim_cost.c). Local. */
static inline double dp_trace_time(double *slot, dp_trace_kind_t kind, double t0)
{
#ifdef DP_SMPI
    if (kind == DP_TR_COMPUTE)
        dp_sim_charge();
#endif
    const double now = MPI_Wtime();
    *slot += now - t0;
    dp_trace_span(kind, t0, now);
    return now;
}

/* What the trace's header says about the run. */
typedef struct {
    const char *version, *job_path, *host, *start_time, *status;
    const char *error; /* the run's failure, or NULL */
    int threads;
} dp_trace_about_t;

/* Stops recording, measures the clock offsets again (spans between are placed by linear
 * interpolation of the two offsets, so that drifting clocks still line up) and writes every
 * rank's spans to path as Chrome trace-event JSON: each rank formats its own part and all write
 * their parts at once with MPI-IO under a temporary name, which rank 0 renames into place.
 * Returns the agreed status. Collective over the comm of dp_trace_start. */
dp_status_t dp_trace_finish(const char *path, const dp_trace_about_t *about);

#endif
