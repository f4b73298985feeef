/* How far along a run is, on rank 0's stderr: phase, units done of total, rate, elapsed and
 * ETA. On a terminal one line rewritten in place (at most 10 times a second); otherwise a plain
 * line at every tenth of a phase. Rank 0 reports its own progress, which stands for all ranks
 * (their blocks are of equal size); nothing is communicated. */
#ifndef DP_PROGRESS_H
#define DP_PROGRESS_H

#include <stdint.h>

typedef enum {
    DP_PROGRESS_AUTO,  /* line on a terminal, plain lines otherwise; from 2 s into the run */
    DP_PROGRESS_LINE,  /* the self-updating line from the start */
    DP_PROGRESS_PLAIN, /* plain lines from the start */
    DP_PROGRESS_NONE
} dp_progress_mode_t;

/* Sets how progress is shown; only rank 0 (rank == 0) shows any. Local. */
void dp_progress_init(dp_progress_mode_t mode, int rank);

/* Begins a phase (e.g. "iterate") of total units (e.g. "iterations") of which done are done
 * already; bytes_per_unit > 0 shows the rate in MB/s, else in units per second. Local. */
void dp_progress_begin(const char *phase, const char *unit, int64_t done, int64_t total,
                       double bytes_per_unit);

/* Notes that done units of the phase are done; prints when it is time. Local; cheap. */
void dp_progress_update(int64_t done);

/* Ends the phase: a terminal's line is finished with its last state. Local. */
void dp_progress_end(void);

#endif
