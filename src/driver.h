/* The driver: runs one validated job from input to report. */
#ifndef DP_DRIVER_H
#define DP_DRIVER_H

#include "err.h"
#include "job.h"

#include <mpi.h>

typedef struct {
    int dry_run;  /* print the plan and stop before reading data */
    int quiet;    /* no summary on stdout */
    int verbose;  /* more detail: per-rank blocks, where errors were raised */
    int restart;  /* continue an iterative job from its checkpoint */
    int progress; /* dp_progress_mode_t: how rank 0 shows how far along the run is */
} dp_driver_opts_t;

/* Runs the job: opens the source, plans the decomposition, reads each rank's block in pieces
 * and runs the kernel on them, combines partial results, writes the output and the report.
 * Every failure is agreed on by all ranks; rank 0 prints it and the output file is left
 * untouched. Collective over comm. */
dp_status_t dp_driver_run(const dp_job_t *job, const dp_driver_opts_t *opts, MPI_Comm comm);

#endif
