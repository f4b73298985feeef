/* Text input (source = text): the list of files a path names, a ring of nonblocking reads over
 * a byte range of one file, and the cutting of a rank's byte range into whole records. */
#ifndef DP_TEXT_H
#define DP_TEXT_H

#include "err.h"
#include "csv.h"
#include "kernel.h"

#include <mpi.h>
#include <stdint.h>

/* The input files in order; the input is their concatenation, and the end of a file always
 * ends a record. */
typedef struct {
    int n;
    char **path;
    int64_t *size;
    int64_t total;
} dp_text_files_t;

/* Expands [input] path on rank 0 — a file, a directory (its regular files, not hidden ones,
 * sorted by name) or a glob pattern (sorted matches that are regular files) — checks that every
 * file can be read and broadcasts the list. Collective; pattern must match on all ranks. */
dp_status_t dp_text_files_open(dp_text_files_t *f, const char *pattern, MPI_Comm comm);

/* The expansion of dp_text_files_open on this rank alone, without the read check; the message
 * names the path when nothing matches. Local. */
dp_status_t dp_text_files_expand(dp_text_files_t *f, const char *pattern);

/* Frees the list. Local. */
void dp_text_files_free(dp_text_files_t *f);

enum { DP_RING_MAX = 65 };

/* Reads of one file's bytes [pos, end) in order, in pieces of at most chunk bytes, up to
 * prefetch of them in flight (MPI_File_iread_at) while the caller works on the last one. */
typedef struct {
    MPI_File fh;
    int64_t chunk, next, end, size;
    int nslots, head, inflight, overlap;
    char *buf[DP_RING_MAX];
    int64_t at[DP_RING_MAX], len[DP_RING_MAX];
    MPI_Request req[DP_RING_MAX];
    int done[DP_RING_MAX]; /* the read's completion was seen */
    int rc[DP_RING_MAX];
    MPI_Status status[DP_RING_MAX];
    int pending;       /* reads posted whose completion was not seen yet */
    double since;      /* when pending became more than none */
    double wait, busy; /* seconds blocked, seconds with reads in flight */
    int64_t bytes;     /* read */
} dp_ring_t;

/* Opens path (on this rank alone) and starts reading [pos, end) of it. Local. */
dp_status_t dp_ring_open(dp_ring_t *r, const char *path, int64_t size, int64_t pos, int64_t end,
                         int64_t chunk, int prefetch, int overlap);

/* The next piece: its bytes, length and file position; *len = 0 at the end. The piece stays
 * valid until the next call. Local. */
dp_status_t dp_ring_next(dp_ring_t *r, const char **data, int64_t *len, int64_t *at);

/* Tests the reads in flight, so that a completion is noted (and its busy time ends) while the
 * caller computes. Local. */
void dp_ring_poke(dp_ring_t *r);

/* Moves the end of the reads to end (at most the file's size). Local. */
void dp_ring_extend(dp_ring_t *r, int64_t end);

/* Waits for reads still in flight, closes the file and frees the buffers. Local. */
void dp_ring_close(dp_ring_t *r);

/* How a rank reads its part of one file: records that start in [a, b), read from the file
 * through a ring and handed to records() in runs of whole records. */
typedef struct {
    const dp_text_files_t *files;
    int64_t chunk;
    int prefetch, overlap;
    const dp_csv_machine_t *csv; /* CSV records (a newline in quotes does not end one); NULL:
                                    lines */
    void (*records)(void *ctx, const dp_text_t *text);
    void *ctx;
    double wait, busy; /* summed over segments */
    int64_t bytes;
} dp_text_reader_t;

/* Hands every record of file f that starts in [a, b) to r->records, in order; state is the CSV
 * automaton's state at byte a (csv), line the 1-based line number of byte a. Reads past b to
 * the end of the last record. Local. */
dp_status_t dp_text_read(dp_text_reader_t *r, int64_t f, int64_t a, int64_t b, int state,
                         int64_t line);

/* Runs the CSV automaton over [a, b) of file f from all its states at once: *vector says where
 * each start state leads; counts the newlines into *newlines. Local. */
dp_status_t dp_text_scan(dp_text_reader_t *r, int64_t f, int64_t a, int64_t b, uint8_t *vector,
                         int64_t *newlines);

#endif
