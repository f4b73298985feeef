/* Sources: where the array comes from. One table of operations per source kind (hdf5, raw,
 * generate), selected by [input] source. Every operation is collective over the source's
 * communicator and agrees on errors before it returns, so all ranks see the same status. */
#ifndef DP_SOURCE_H
#define DP_SOURCE_H

#include "convert.h"
#include "err.h"
#include "job.h"
#include "opts.h"

#include <mpi.h>
#include <stdint.h>

typedef struct dp_source dp_source_t;

/* Dimensions of a stored array that dproc reads (HDF5's own limit). */
enum { DP_FILE_MAX_DIMS = 32 };

typedef struct {
    /* Opens the input and fills shape, dtype and describe. Collective. */
    dp_status_t (*open)(dp_source_t *s);
    /* Reads the given box of the global array as float64 into out (count[0]*count[1]*count[2]
     * values, row-major). A rank with nothing to read passes a count of 0 but still calls.
     * Collective: every rank calls it the same number of times. */
    dp_status_t (*read)(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                        const int64_t count[DP_MAX_DIMS], double *out);
    /* Whether the array lies in one file as consecutive row-major values of the stored type
     * in native byte order from a byte offset, so that it can be read with nonblocking MPI-IO
     * (raw files, contiguous HDF5 datasets): sets *path and *offset and returns 1; else
     * returns 0 with the reason in why. Local; the same answer on every rank. Optional: no. */
    int (*direct)(const dp_source_t *s, const char **path, int64_t *offset, char *why, size_t size);
    /* Releases the input. Collective. */
    void (*close)(dp_source_t *s);
} dp_source_ops_t;

struct dp_source {
    const dp_source_ops_t *ops;
    const dp_job_t *job;
    MPI_Comm comm;
    dp_shape_t shape; /* global extents */
    /* The array as stored: file_ndim extents file_n[] (0 for a scalar). An array of 0 or of
     * more than DP_MAX_DIMS dimensions is seen as shape with runs of neighbouring axes merged
     * (a scalar as one value), which keeps the row-major order of its values: axis d of shape
     * covers the file's axes fold[d] to fold[d + 1] - 1. By default the leading axes are
     * merged into axis 0; with keep >= 0 (given to dp_source_open) the file's axis keep stays
     * an axis of its own, the axes before it and those after it merged. Any other array is seen
     * as it is stored. */
    int file_ndim;
    int64_t file_n[DP_FILE_MAX_DIMS];
    int fold[DP_MAX_DIMS + 1];
    int keep;
    dp_dtype_t dtype;   /* element type as stored */
    char describe[160]; /* e.g. "HDF5 data.h5:/temp (int32)" */
    char note[512];     /* warnings for the report, e.g. a read that was not collective */
    int64_t bytes_read; /* by this rank */
    int64_t chunk_rows; /* extent along axis 0 of the storage chunks (chunked HDF5), else 0 */
    int64_t chunk0;     /* the same along the file's axis 0 */
    void *scratch;      /* conversion buffer, grown on demand */
    size_t scratch_bytes;
    void *impl; /* the backend's own state */
};

/* Opens the source named by job->input.source; an array of more than DP_MAX_DIMS dimensions
 * is seen with the file's axis keep (-1: none) as an axis of its own (see fold). Collective over
 * comm. */
dp_status_t dp_source_open(dp_source_t *s, const dp_job_t *job, int keep, MPI_Comm comm);

/* Reads one box (see dp_source_ops_t.read). Collective. */
dp_status_t dp_source_read(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                           const int64_t count[DP_MAX_DIMS], double *out);

/* Whether the source's array is seen with its axes merged (see file_ndim): a scalar or an
 * array of more than DP_MAX_DIMS dimensions. Local. */
int dp_source_folded(const dp_source_t *s);

/* Sets shape, fold and chunk_rows from the file's extents, keep and chunk0 (see file_ndim);
 * called by the backends once they know the extents. Local. */
void dp_source_fold(dp_source_t *s);

/* The axis of shape that is the file's axis alone, or -1 when it is merged with others.
 * Local. */
int dp_source_seen_axis(const dp_source_t *s, int axis);

/* See dp_source_ops_t.direct; 0 with a reason for sources without it. Local. */
int dp_source_direct(const dp_source_t *s, const char **path, int64_t *offset, char *why,
                     size_t size);

/* The MPI datatype of one stored element of type t. Local. */
MPI_Datatype dp_dtype_mpi(dp_dtype_t t);

/* Closes the source and frees its buffers; safe on a source that failed to open.
 * Collective. */
void dp_source_close(dp_source_t *s);

/* A conversion buffer of at least bytes, kept for the next call; DP_ERR_NOMEM when it cannot
 * be had. Local. */
dp_status_t dp_source_scratch(dp_source_t *s, size_t bytes, void **buf);

/* Checks on every rank that path can be read and is a regular file (a directory, named pipe,
 * socket or device is refused) and agrees; the message names the file. Collective. */
dp_status_t dp_source_check_readable(const char *path, MPI_Comm comm);

extern const dp_source_ops_t dp_source_hdf5;
extern const dp_source_ops_t dp_source_raw;
extern const dp_source_ops_t dp_source_generate;

#endif
