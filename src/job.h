/* The job: the typed, validated content of a job file with its --set overrides. */
#ifndef DP_JOB_H
#define DP_JOB_H

#include "diag.h"
#include "err.h"
#include "ini.h"
#include "kernel.h"

#include <mpi.h>
#include <stdint.h>

typedef enum { DP_SRC_HDF5, DP_SRC_RAW, DP_SRC_GENERATE, DP_SRC_TEXT } dp_source_kind_t;
#define DP_SOURCE_NAMES "hdf5|raw|generate|text"

typedef enum { DP_DECOMP_AUTO, DP_DECOMP_1D, DP_DECOMP_2D, DP_DECOMP_3D } dp_decomp_t;
#define DP_DECOMP_NAMES "auto|1d|2d|3d"

typedef struct {
    char *name;
    char *kernel;
    char *plugin; /* plugin files, comma-separated, or NULL */
} dp_job_section_t;

typedef struct {
    int source; /* dp_source_kind_t */
    char *path;
    char *dataset;
    int dtype; /* dp_dtype_t, raw only */
    dp_shape_t shape;
    int64_t offset;
    int generator; /* dp_generator_t */
    int64_t seed;
} dp_input_t;

typedef struct {
    char *path;
    char *dataset;
    char *report;
    int overwrite;
    int format;            /* key-value kernels: dp_kv_format_t */
    int checksum;          /* HDF5's Fletcher32 filter on the arrays written through HDF5 */
    char *trace;           /* Chrome trace-event JSON of every rank's phases, or NULL */
    char *preview;         /* PNG heat map of a 2-D dataset (or slice) of the output, or NULL */
    char *preview_dataset; /* default: [output] dataset */
    int64_t preview_axis;  /* of a 3-D dataset: the axis sliced across */
    int64_t preview_index; /* and where; -1: the middle */
} dp_output_t;

typedef struct {
    int64_t threads;
    int64_t chunk_mb;
    int decomposition;  /* dp_decomp_t */
    int overlap;        /* hide reads and communication behind computation */
    int64_t memory_mb;  /* bound on the data buffers per rank; 0: none */
    int64_t prefetch;   /* reads in flight while computing */
    int64_t shuffle_mb; /* bound on a rank's shuffle send buffer per round */
} dp_run_t;

typedef struct {
    const char *file; /* the job file as named on the command line */
    dp_ini_t ini;
    dp_job_section_t job;
    dp_input_t input;
    dp_output_t output;
    dp_run_t run;
    const dp_kernel_t *kernel;
    void *kcfg;              /* the kernel's configuration, filled from its section */
    const dp_kernel_t *then; /* the reduction of a MAP kernel's output ([map] then_reduce) */
    void *then_cfg;          /* its configuration: [reduce] with the ops of then_reduce */
    char *text;              /* the job text with the overrides applied, for provenance */
    int plugin_failed;       /* a plugin failed to load on this rank */
} dp_job_t;

/* Parses and validates a job from its text and overrides (sets[0..nsets-1], each
 * "section.key=value"). Every problem found is added to diag; returns DP_ERR_USAGE when there
 * was any. Loads the plugins of DPROC_PLUGIN_PATH and [job] plugin but touches no other file:
 * deterministic but where plugins differ between ranks (dp_job_load agrees on the verdict).
 * Local. */
int dp_job_parse(dp_job_t *job, const char *file, const char *text, size_t len, char *const *sets,
                 int nsets, dp_diag_t *diag);

/* Checks what needs the file system: the input exists and is not the output, the output
 * directory exists, and an existing output is refused unless overwrite = true. Adds to diag.
 * Local (rank 0 calls it). */
void dp_job_check_files(const dp_job_t *job, dp_diag_t *diag);

/* Reads the job file on rank 0, broadcasts it, parses and validates it on every rank, and
 * checks files on rank 0. On failure rank 0 prints every diagnostic to stderr and all ranks
 * return DP_ERR_USAGE together. Collective over comm; file and sets must match on all ranks. */
int dp_job_load(dp_job_t *job, const char *file, char *const *sets, int nsets, MPI_Comm comm);

/* Records a job setting that only the data show to be wrong, in the job-file form
 * ("JOB.ini:LINE: [section] key: why"), and returns DP_ERR_USAGE. Local. */
dp_status_t dp_job_usage_error(const dp_job_t *job, const char *section, const char *key,
                               const char *why);

/* Prints the job-file reference (every section and key) as Markdown. Local. */
void dp_job_print_reference(FILE *f);

/* Prints the same reference as man-page (troff) subsections. Local. */
void dp_job_print_man(FILE *f);

/* Frees the job. Local. */
void dp_job_free(dp_job_t *job);

/* Size in bytes of one element of a dtype. Local. */
int dp_dtype_size(dp_dtype_t t);

/* Name of a dtype ("float32"). Local. */
const char *dp_dtype_name(dp_dtype_t t);

#endif
