/* Snapshots: a time series of an iterated field, appended to extendible HDF5 datasets in a file
 * that is published under its final name when the job ends. */
#ifndef DP_SNAPSHOT_H
#define DP_SNAPSHOT_H

#include "err.h"
#include "kernel.h"
#include "sink.h"

#include <mpi.h>
#include <stdint.h>

typedef struct {
    dp_sink_t sink;
    int64_t fields;     /* an HDF5 hid_t, /snapshots: time x the field's shape */
    int64_t iterations; /* an HDF5 hid_t, /iterations: the iteration of each snapshot */
    int ndim;
    int64_t n; /* snapshots written */
    int open;
} dp_snapshots_t;

/* Creates the (temporary) snapshot file for fields of the given global shape. Collective. */
dp_status_t dp_snapshots_open(dp_snapshots_t *s, const char *path, const dp_shape_t *global,
                              MPI_Comm comm);

/* Appends every rank's own points of f as the next snapshot, taken after iteration.
 * Collective. */
dp_status_t dp_snapshots_append(dp_snapshots_t *s, const dp_field_t *f, int64_t iteration);

/* Writes provenance and publishes the file under its final name (replacing an older one).
 * Collective. */
dp_status_t dp_snapshots_close(dp_snapshots_t *s, const dp_runinfo_t *info);

/* Removes the temporary file after a failure; safe when not open. Collective. */
void dp_snapshots_abort(dp_snapshots_t *s);

#endif
