/* The output file: parallel HDF5, written under a temporary name in the same directory and
 * renamed into place only when the whole job succeeded. */
#ifndef DP_SINK_H
#define DP_SINK_H

#include "digest.h"
#include "err.h"
#include "report.h"
#include "results.h"

#include <limits.h>
#include <stdint.h>
#include <mpi.h>

typedef struct {
    MPI_Comm comm;
    int64_t file; /* an HDF5 hid_t: the header leaves HDF5 out for the build without it */
    int64_t dset; /* the array being written, when there is one */
    char tmp[PATH_MAX];
    char final[PATH_MAX];
    int overwrite;      /* replace an existing final file */
    int checksum;       /* arrays chunked with HDF5's Fletcher32 filter ([output] checksum) */
    dp_digest_t digest; /* this rank's part of the digest of dset */
    char why[256];      /* HDF5's cause of the last failed creation */
} dp_sink_t;

/* Creates the temporary file beside path; overwrite says whether dp_sink_commit may replace an
 * existing file there. With MPI_COMM_SELF the file is written by this process alone through
 * POSIX I/O. Collective; path and overwrite must match on all ranks. */
dp_status_t dp_sink_create(dp_sink_t *s, const char *path, int overwrite, MPI_Comm comm);

/* Creates the float64 dataset of the given global shape that dp_sink_write fills: contiguous,
 * or in chunks of about 4 MiB with the Fletcher32 filter when s->checksum is set. The ranks'
 * writes add up to its digest (dproc_digest, written by dp_sink_commit). Collective. */
dp_status_t dp_sink_array(dp_sink_t *s, const char *dataset, const dp_shape_t *global);

/* Creates a contiguous dataset of dtype values (little-endian) of the given global shape with
 * its storage allocated and no fill, flushes the file, and returns the byte offset of its data
 * in the file in *offset: MPI-IO may then write the values straight into the temporary file
 * (dp_writer_t) while HDF5 keeps the file open. Collective. */
dp_status_t dp_sink_array_direct(dp_sink_t *s, const char *dataset, const dp_shape_t *global,
                                 dp_dtype_t dtype, int64_t *offset);

/* Writes this rank's box of the array (count may be 0: the rank still calls). Collective. */
dp_status_t dp_sink_write(dp_sink_t *s, const int64_t start[DP_MAX_DIMS],
                          const int64_t count[DP_MAX_DIMS], const double *data);

/* Writes the own points of field f (its box of the global array) to the dataset created by
 * dp_sink_array, straight from the field's storage. Collective. */
dp_status_t dp_sink_write_field(dp_sink_t *s, const dp_field_t *f);

/* Writes a scalar attribute of the file. Collective; name and value must match. */
dp_status_t dp_sink_attr_int(dp_sink_t *s, const char *name, long long value);
dp_status_t dp_sink_attr_string(dp_sink_t *s, const char *name, const char *value);

/* Writes each result as a dataset in group (scalar or 1-D) with its digest; arrays carry the
 * Fletcher32 filter when s->checksum is set. Collective; results must match. */
dp_status_t dp_sink_results(dp_sink_t *s, const char *group, const dp_results_t *r);

/* Writes the digest d as the attribute dproc_digest of dataset dset. Collective; d must
 * match. */
dp_status_t dp_sink_digest_attr(dp_sink_t *s, int64_t dset, const dp_digest_t *d);

/* Sums the ranks' digests of the array being written into its attribute dproc_digest, writes
 * the provenance attributes and, last, the completion marker dproc_complete = 1; closes and
 * renames the file into place. Collective. */
dp_status_t dp_sink_commit(dp_sink_t *s, const dp_runinfo_t *info);

/* Closes what is open and removes the temporary file; safe after any failure. Collective. */
void dp_sink_abort(dp_sink_t *s);

#endif
