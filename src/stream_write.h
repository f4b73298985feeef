/* Streaming writes of a rank's block in pieces of whole rows to a contiguous dataset of the
 * output file, with nonblocking MPI-IO (MPI_File_iwrite_at through a view of the rank's block)
 * from two buffers: one piece is written while the next is computed. */
#ifndef DP_STREAM_WRITE_H
#define DP_STREAM_WRITE_H

#include "digest.h"
#include "err.h"
#include "kernel.h"

#include <mpi.h>
#include <stdint.h>

typedef struct {
    MPI_Comm comm;
    MPI_File fh;
    MPI_Datatype etype, ftype;
    dp_dtype_t dtype;
    int esize;
    int overlap; /* 0: wait for each write before going on */
    int64_t row; /* values per row of the block */
    int64_t shape[DP_MAX_DIMS], start[DP_MAX_DIMS], count[DP_MAX_DIMS]; /* the array, the block */
    dp_digest_t digest; /* of the values this rank wrote, as stored */
    void *slot[2];
    MPI_Request req[2];
    int64_t slot_n[2];
    int turn; /* the buffer the next piece goes to */
    int inflight;
    double since;
    dp_status_t err;
    double wait, busy; /* seconds blocked on writes, and with writes in flight */
} dp_writer_t;

/* Opens path (the sink's temporary file, whose dataset of dtype values lies at byte offset) for
 * writing this rank's block (start, count) of global in pieces of at most piece_rows rows.
 * Collective over comm; all but start and count must match. */
dp_status_t dp_writer_open(dp_writer_t *w, const char *path, int64_t offset,
                           const dp_shape_t *global, dp_dtype_t dtype,
                           const int64_t start[DP_MAX_DIMS], const int64_t count[DP_MAX_DIMS],
                           int64_t piece_rows, int overlap, MPI_Comm comm);

/* Writes n values (float64, stored as the writer's dtype) at offset values from the start of
 * the rank's block: converts them into a free buffer, adds them to the digest and posts the
 * write. After a failure it writes no more; dp_writer_close agrees on it. Local. */
void dp_writer_put(dp_writer_t *w, int64_t offset, const double *data, int64_t n);

/* Lets writes in flight progress. Local; cheap. */
void dp_writer_poke(dp_writer_t *w);

/* Waits for every write, closes the file and agrees on the outcome. Collective; safe after a
 * failed open. */
dp_status_t dp_writer_close(dp_writer_t *w);

#endif
