/* Streaming reads of a rank's block in pieces of whole rows. When the source lies in a file as
 * plain values (raw files, contiguous HDF5 datasets), pieces are read with nonblocking MPI-IO
 * (MPI_File_iread_at through a view of the rank's block) into a ring of prefetch + 1 buffers,
 * prefetch reads in flight while the rank computes on the piece that arrived; otherwise each
 * piece is one collective read through the source. Either way the stream measures how long
 * the rank waited for data and how long reads were in flight. */
#ifndef DP_STREAM_H
#define DP_STREAM_H

#include "err.h"
#include "source.h"

#include <mpi.h>
#include <stdint.h>

enum { DP_STREAM_MAX_SLOTS = 65 };

typedef struct {
    /* set by dp_stream_open */
    dp_source_t *src;
    MPI_Comm comm;
    int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS]; /* this rank's block */
    int64_t piece_rows;
    int64_t npieces; /* this rank's pieces */
    int prefetch;    /* reads in flight while computing; 0: read, wait, then compute */
    double *whole;   /* the whole block, where pieces land at their offset; or NULL */
    int direct;      /* nonblocking MPI-IO; else reads through the source */
    char why[200];   /* why not direct */
    MPI_File fh;
    MPI_Datatype etype, ftype;
    int esize;
    int convert; /* stored values are not float64 */
    int nslots;
    void *slot[DP_STREAM_MAX_SLOTS];
    MPI_Request req[DP_STREAM_MAX_SLOTS];
    int64_t slot_n[DP_STREAM_MAX_SLOTS];
    double *work;   /* one float64 piece, when values are converted or read through the source */
    int64_t posted; /* pieces posted in this pass */
    int inflight;
    double since; /* when the reads in flight became more than none */
    dp_status_t err;
    /* measures of this rank, in seconds */
    double wait; /* blocked waiting for a piece */
    double busy; /* at least one read in flight (completion seen at the next test or wait) */
    double convert_time; /* converting stored values to float64 */
} dp_stream_t;

/* Opens the stream of this rank's block (start, count) of src in pieces of piece_rows rows,
 * prefetch reads ahead (0: none), landing in whole (the block's float64 buffer) when it is not
 * NULL, else in buffers of its own. Collective over comm (the source's); every argument but
 * start, count and whole must match on all ranks. */
dp_status_t dp_stream_open(dp_stream_t *s, dp_source_t *src, const int64_t start[DP_MAX_DIMS],
                           const int64_t count[DP_MAX_DIMS], int64_t piece_rows, int prefetch,
                           double *whole, MPI_Comm comm);

/* The box of piece p of the block (count 0 beyond the rank's pieces) and its offset in values
 * from the block's first. Local. */
void dp_stream_box(const dp_stream_t *s, int64_t p, int64_t start[DP_MAX_DIMS],
                   int64_t count[DP_MAX_DIMS], int64_t *offset);

/* Piece p of the current pass as float64 values in *data (NULL when the rank has no piece p):
 * waits for it and keeps the next prefetch pieces in flight. Pieces are taken in order
 * 0, 1, ... and every rank calls it for p below the largest number of pieces of any rank;
 * collective only when the source is read through (not direct). After a failure it reads no
 * more and returns the failure: the pass continues to dp_stream_end, which agrees on it. The
 * data stay valid until the next call. */
dp_status_t dp_stream_next(dp_stream_t *s, int64_t p, double **data);

/* Lets reads in flight progress and notes the ones completed. Local; cheap. */
void dp_stream_poke(dp_stream_t *s);

/* Ends a pass: waits for what is still in flight and agrees on the pass's status; the next
 * dp_stream_next(s, 0, ...) starts reading the block again. Collective. */
dp_status_t dp_stream_end(dp_stream_t *s);

/* Frees the buffers and closes the file. Collective; safe after a failed open. */
void dp_stream_close(dp_stream_t *s);

#endif
