/* The work done by this process's kernels: point updates of stencils and elements folded by
 * reductions, counted per box or piece where the loops run. The report turns it into a rate;
 * dproc-smpi charges simulated time for it (src/sim_cost.c). */
#ifndef DP_WORK_H
#define DP_WORK_H

#include <stdint.h>

/* Counts units more units of work done. Local; safe from any thread. */
void dp_work_add(int64_t units);

/* The units of work counted since the process started. Local. */
int64_t dp_work_done(void);

#endif
