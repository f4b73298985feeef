/* The iteration of STENCIL kernels: two fields with ghost layers, halo exchange hidden behind
 * the interior, deep halos, convergence checks and checkpoints. */
#ifndef DP_ITERATE_H
#define DP_ITERATE_H

#include "err.h"
#include "job.h"
#include "plan.h"
#include "report.h"
#include "results.h"

#include <mpi.h>

typedef struct {
    const dp_job_t *job;
    void *state; /* the kernel's */
    MPI_Comm comm;
    const dp_plan_t *plan;
    int rank;
    int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS]; /* this rank's block */
    int64_t first;                                  /* iterations already done (restart) */
    int overlap; /* post the exchange, compute the interior, then wait */
    const dp_runinfo_t *info;
    double *t;             /* phase timings, DP_NPHASES */
    dp_results_t *results; /* receives iterations_done and residual */
} dp_iterate_t;

/* Checks that the plan suits the kernel's halo (every block that exchanges along an axis is
 * at least as thick as the halo there); returns NULL, or why not with *key set to the
 * [stencil] key to blame. Local. */
const char *dp_iterate_check(const dp_job_t *job, const void *state, const dp_plan_t *plan,
                             const char **key);

/* Bytes of the two fields (with ghost layers) of the largest block. Local. */
int64_t dp_iterate_memory(const dp_job_t *job, const void *state, const dp_plan_t *plan);

/* Runs the iterations on the rank's block, which *block holds (contiguous, row-major); on
 * return *block holds the result (it may be a different allocation, owned by the caller).
 * Collective over it->comm. */
dp_status_t dp_iterate_run(const dp_iterate_t *it, double **block);

#endif
