/* The report of a run: the JSON file ([output] report) and the summary on rank 0's stdout. */
#ifndef DP_REPORT_H
#define DP_REPORT_H

#include "err.h"
#include "job.h"
#include "placement.h"
#include "results.h"

#include <stdint.h>
#include <stdio.h>

/* Where a run took place: the provenance carried by the output file and the report. */
typedef struct {
    const char *version;
    const char *job_text;
    int ranks, threads;
    char start_time[32];  /* ISO 8601, UTC */
    char host[256];       /* rank 0's host name */
    dp_placement_t place; /* Slurm job, ranks per node, every rank's cores (on rank 0) */
} dp_runinfo_t;

enum {
    DP_PHASE_READ,
    DP_PHASE_COMPUTE,
    DP_PHASE_COMMUNICATE,
    DP_PHASE_WRITE,
    DP_PHASE_CHECKPOINT, /* writing checkpoints (stencils) */
    DP_PHASE_HALO,       /* halo exchanges from posting to completion, overlapping compute */
    DP_PHASE_HALO_WAIT,  /* the part of the halo exchanges not hidden behind computation */
    DP_PHASE_READ_WAIT,  /* blocked waiting for data to arrive (part of read) */
    DP_PHASE_READ_BUSY,  /* reads in flight, overlapping compute */
    DP_PHASE_WRITE_WAIT, /* blocked waiting for streamed writes (part of write) */
    DP_PHASE_WRITE_BUSY, /* streamed writes in flight */
    DP_PHASE_SHUFFLE,    /* key-value kernels: sending keys to their owners and merging them */
    DP_PHASE_TOTAL,
    DP_NPHASES
};

/* Everything a report says. Timings are maxima over ranks. */
typedef struct {
    const dp_job_t *job;
    const dp_runinfo_t *info;
    const char *input;     /* the source's description */
    dp_shape_t shape;      /* global extents, as the kernel sees them */
    int file_ndim;         /* the extents as stored, when they differ (a scalar, or more than */
    const int64_t *file_n; /* DP_MAX_DIMS dimensions): file_n is NULL when they do not */
    int dims[DP_MAX_DIMS]; /* the process grid, over the axes of shape */
    int64_t elements;
    int64_t bytes_read;   /* summed over ranks */
    int64_t work;         /* the kernels' units of work (kernels/work.h), summed over ranks */
    int64_t mem_per_rank; /* estimated bytes of the largest rank */
    double timing[DP_NPHASES];
    int streamed;       /* the data were read in pieces (not a stencil's whole block) */
    double overlap;     /* fraction of the reads' time hidden behind compute */
    double peak_rss_mb; /* largest resident size of any rank */
    double base_rss_mb; /* largest resident size of any rank before the run's buffers */
    const dp_results_t *results;
    const char *digest; /* of the final field when no output file carries it, or NULL */
    const char *note;   /* a warning, or NULL */
    dp_status_t status;
    const char *error; /* the failure, when status != DP_OK */
} dp_report_t;

/* Writes the JSON report to path under a temporary name and renames it into place. Local
 * (rank 0). */
dp_status_t dp_report_write_json(const dp_report_t *r, const char *path);

/* The one-line verdict on what bounds the run: I/O or compute, and which knob would help.
 * Local. */
void dp_report_verdict(const dp_report_t *r, char *buf, size_t size);

/* Prints the human summary (results with %.17g, timings). Local (rank 0). */
void dp_report_print(const dp_report_t *r, FILE *f);

#endif
