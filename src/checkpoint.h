/* Checkpoints of iterative kernels: the field and the number of iterations done, in an HDF5
 * file that is replaced atomically (a crash while writing leaves the previous one intact). */
#ifndef DP_CHECKPOINT_H
#define DP_CHECKPOINT_H

#include "err.h"
#include "kernel.h"
#include "report.h"

#include <mpi.h>
#include <stdint.h>

enum { DP_SIGNATURE_MAX = 512 };

typedef struct {
    int64_t iteration;                /* iterations done when it was written */
    dp_shape_t shape;                 /* of the field */
    char signature[DP_SIGNATURE_MAX]; /* the computation it belongs to */
} dp_checkpoint_meta_t;

/* The dataset of a checkpoint file that holds the field. */
#define DP_CHECKPOINT_DATASET "field"

/* Writes every rank's own points of f and the iteration count to path: a temporary file
 * beside it, renamed over the previous checkpoint once complete. Collective; path, iteration
 * and signature must match on all ranks. */
dp_status_t dp_checkpoint_write(const char *path, const dp_field_t *f, int64_t iteration,
                                const char *signature, const dp_runinfo_t *info, MPI_Comm comm);

/* Reads a checkpoint's metadata on rank 0 and broadcasts it. Fails (DP_ERR_IO) when the file
 * is missing, unreadable or incomplete. Collective. */
dp_status_t dp_checkpoint_inspect(const char *path, dp_checkpoint_meta_t *m, MPI_Comm comm);

#endif
