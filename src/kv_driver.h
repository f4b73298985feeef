/* The run of a key-value kernel: text in, a table of keys out (the MapReduce path). */
#ifndef DP_KV_DRIVER_H
#define DP_KV_DRIVER_H

#include "err.h"
#include "job.h"
#include "report.h"
#include "results.h"

#include <mpi.h>
#include <stdint.h>

/* What a key-value run tells the report. */
typedef struct {
    char describe[160];   /* the input, e.g. "text: 3 files, 1200 bytes (corpus/)" */
    int64_t bytes_read;   /* by this rank */
    double t[DP_NPHASES]; /* this rank's phases */
    dp_results_t results; /* on every rank */
} dp_kv_run_t;

/* Runs a KEYVALUE kernel: each rank maps the records that start in its byte range of the input
 * into per-thread tables, the keys are shuffled to their owners and merged, and rank 0 writes
 * the ordered table and fills the results. With dry_run, prints the plan and stops.
 * Collective over comm. */
dp_status_t dp_kv_run(const dp_job_t *job, const dp_runinfo_t *info, int dry_run, MPI_Comm comm,
                      dp_kv_run_t *run);

#endif
