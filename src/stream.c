#include "stream.h"

#include "comm.h"
#include "fault.h"
#include "signals.h"
#include "trace.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t row_values(const dp_stream_t *s)
{
    return s->count[1] * s->count[2];
}

void dp_stream_box(const dp_stream_t *s, int64_t p, int64_t start[DP_MAX_DIMS],
                   int64_t count[DP_MAX_DIMS], int64_t *offset)
{
    const int64_t r0 = p * s->piece_rows;
    int64_t rows = s->count[0] - r0;
    if (rows > s->piece_rows)
        rows = s->piece_rows;
    if (rows < 0 || row_values(s) == 0)
        rows = 0;
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        start[d] = s->start[d];
        count[d] = rows > 0 ? s->count[d] : 0;
    }
    start[0] = s->start[0] + r0;
    count[0] = rows;
    *offset = r0 * row_values(s);
}

/* The file view of the rank's block: its values, in row-major order, from the data's offset. */
static dp_status_t set_view(dp_stream_t *s, int64_t offset)
{
    const dp_shape_t *g = &s->src->shape;
    s->ftype = s->etype;
    if (s->npieces > 0) {
        int sizes[DP_MAX_DIMS], subs[DP_MAX_DIMS], starts[DP_MAX_DIMS];
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            sizes[d] = (int)g->n[d];
            subs[d] = (int)s->count[d];
            starts[d] = (int)s->start[d];
        }
        MPI_Type_create_subarray(DP_MAX_DIMS, sizes, subs, starts, MPI_ORDER_C, s->etype,
                                 &s->ftype);
        MPI_Type_commit(&s->ftype);
    }
    return dp_comm_check(
        MPI_File_set_view(s->fh, (MPI_Offset)offset, s->etype, s->ftype, "native", MPI_INFO_NULL),
        "setting the file view of the streamed input");
}

static dp_status_t open_direct(dp_stream_t *s, const char *path, int64_t offset)
{
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "opening '%s' for streamed reads", path);
    dp_status_t st =
        dp_comm_check(MPI_File_open(s->comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &s->fh), what);
    DP_CALL(dp_comm_agree(st, s->comm));
    st = set_view(s, offset);
    DP_CALL(dp_comm_agree(st, s->comm));
    const int64_t piece = s->piece_rows * row_values(s);
    if (s->npieces > 0 && (s->convert || !s->whole))
        for (int i = 0; i < s->nslots && st == DP_OK; i++) {
            s->slot[i] = malloc((size_t)(piece * s->esize));
            if (!s->slot[i])
                st = dp_err_set(DP_ERR_NOMEM, "cannot allocate %d read buffers of %.1f MiB",
                                s->nslots, (double)(piece * s->esize) / (1 << 20));
        }
    return st;
}

dp_status_t dp_stream_open(dp_stream_t *s, dp_source_t *src, const int64_t start[DP_MAX_DIMS],
                           const int64_t count[DP_MAX_DIMS], int64_t piece_rows, int prefetch,
                           double *whole, MPI_Comm comm)
{
    *s = (dp_stream_t){.src = src,
                       .comm = comm,
                       .piece_rows = piece_rows,
                       .prefetch = prefetch,
                       .whole = whole,
                       .fh = MPI_FILE_NULL,
                       .etype = dp_dtype_mpi(src->dtype),
                       .ftype = MPI_DATATYPE_NULL,
                       .esize = dp_dtype_size(src->dtype),
                       .convert = src->dtype != DP_DT_FLOAT64,
                       .nslots = prefetch + 1};
    memcpy(s->start, start, sizeof s->start);
    memcpy(s->count, count, sizeof s->count);
    for (int i = 0; i < DP_STREAM_MAX_SLOTS; i++)
        s->req[i] = MPI_REQUEST_NULL;
    const int64_t rows = row_values(s) > 0 ? count[0] : 0;
    s->npieces = (rows + piece_rows - 1) / piece_rows;
    const char *path = NULL;
    int64_t offset = 0;
    s->direct = dp_source_direct(src, &path, &offset, s->why, sizeof s->why);
    for (int d = 0; d < DP_MAX_DIMS && s->direct; d++)
        if (src->shape.n[d] > INT_MAX) {
            snprintf(s->why, sizeof s->why,
                     "an extent exceeds MPI-IO's int subarray limit: read through the source");
            s->direct = 0;
        }
    /* a piece is at least one row, read with an int count (merged axes make long rows) */
    if (s->direct && src->shape.n[1] * src->shape.n[2] > INT_MAX) {
        snprintf(s->why, sizeof s->why,
                 "a row of the array as read exceeds MPI-IO's int count limit: read through the "
                 "source");
        s->direct = 0;
    }
    dp_status_t st = DP_OK;
    if (s->direct)
        st = open_direct(s, path, offset);
    const int64_t piece = piece_rows * row_values(s);
    if (st == DP_OK && s->npieces > 0 && !whole && (!s->direct || s->convert)) {
        s->work = malloc((size_t)piece * sizeof(double));
        if (!s->work)
            st = dp_err_set(DP_ERR_NOMEM, "cannot allocate a piece buffer of %.1f MiB",
                            (double)piece * 8 / (1 << 20));
    }
    return dp_comm_agree(st, comm);
}

/* Notes that a read completed now: the reads' busy time runs while any is in flight. */
static void completed(dp_stream_t *s, int i, const MPI_Status *status)
{
    int got = 0;
    MPI_Get_count(status, s->etype, &got);
    if ((int64_t)got != s->slot_n[i] && s->err == DP_OK)
        s->err = dp_err_set(DP_ERR_IO, "short read of '%s': %d of %lld values",
                            s->src->job->input.path, got, (long long)s->slot_n[i]);
    if (--s->inflight == 0) {
        const double now = MPI_Wtime();
        s->busy += now - s->since;
        dp_trace_span(DP_TR_READ_FLIGHT, s->since, now);
    }
}

/* Where piece p is read to: its place in the whole block when no conversion is needed, else
 * the ring slot. */
static void *read_target(dp_stream_t *s, int64_t p, int64_t offset)
{
    if (s->whole && !s->convert)
        return s->whole + offset;
    return s->slot[p % s->nslots];
}

static void post(dp_stream_t *s, int64_t p)
{
    if (p >= s->npieces || s->err != DP_OK)
        return;
    int64_t st[DP_MAX_DIMS], ct[DP_MAX_DIMS], offset;
    dp_stream_box(s, p, st, ct, &offset);
    const int i = (int)(p % s->nslots);
    s->slot_n[i] = ct[0] * ct[1] * ct[2];
    const double t0 = MPI_Wtime();
    const int rc = MPI_File_iread_at(s->fh, (MPI_Offset)offset, read_target(s, p, offset),
                                     (int)s->slot_n[i], s->etype, &s->req[i]);
    dp_trace_span(DP_TR_READ_ISSUE, t0, MPI_Wtime());
    if (rc != MPI_SUCCESS) {
        s->err = dp_comm_check(rc, "posting a streamed read");
        return;
    }
    if (s->inflight++ == 0)
        s->since = MPI_Wtime();
    s->posted = p + 1;
}

/* The failure of a pass stopped by signal sig before piece p. */
static dp_status_t stopped(const dp_stream_t *s, int64_t p, int sig)
{
    return dp_err_set(DP_ERR_STOPPED, "stopped by %s before piece %lld of %lld; no output written",
                      dp_signal_name(sig), (long long)p + 1, (long long)s->npieces);
}

/* The whole pass through the source: one collective read per piece. */
static dp_status_t next_through(dp_stream_t *s, int64_t p, double **data)
{
    int64_t st[DP_MAX_DIMS], ct[DP_MAX_DIMS], offset;
    dp_stream_box(s, p, st, ct, &offset);
    static double none; /* where a rank without piece p reads its nothing */
    double *dest = ct[0] == 0 ? &none : s->whole ? s->whole + offset : s->work;
    const int sig = s->err == DP_OK ? dp_signal_agree(s->comm) : 0;
    if (sig)
        s->err = stopped(s, p, sig);
    if (s->err != DP_OK) /* every rank has it: the source agrees on each read */
        return s->err;
    const double t0 = MPI_Wtime();
    s->err = dp_source_read(s->src, st, ct, dest);
    const double t1 = MPI_Wtime();
    s->wait += t1 - t0;
    s->busy += t1 - t0;
    dp_trace_span(DP_TR_READ, t0, t1);
    *data = s->err == DP_OK && ct[0] > 0 ? dest : NULL;
    return s->err;
}

dp_status_t dp_stream_next(dp_stream_t *s, int64_t p, double **data)
{
    *data = NULL;
    if (!s->direct)
        return next_through(s, p, data);
    if (s->err == DP_OK && p < s->npieces && dp_signal_pending())
        s->err = stopped(s, p, dp_signal_pending());
    if (p >= s->npieces || s->err != DP_OK)
        return s->err;
    for (int64_t q = s->posted; q <= p + s->prefetch; q++)
        post(s, q);
    const int i = (int)(p % s->nslots);
    if (s->req[i] != MPI_REQUEST_NULL) {
        MPI_Status status;
        const double t0 = MPI_Wtime();
        const int rc = dp_comm_wait_io(&s->req[i], &status);
        dp_trace_time(&s->wait, DP_TR_READ_WAIT, t0);
        if (rc != MPI_SUCCESS && s->err == DP_OK)
            s->err = dp_comm_check(rc, "a streamed read");
        completed(s, i, &status);
    }
    if (s->err == DP_OK && dp_fault_hit(DP_FAULT_READ)) /* once per piece, however it arrived */
        s->err =
            dp_err_set(DP_ERR_IO, "reading piece %lld of the input: injected fault (DPROC_FAULT)",
                       (long long)p);
    if (s->err != DP_OK)
        return s->err;
    int64_t st[DP_MAX_DIMS], ct[DP_MAX_DIMS], offset;
    dp_stream_box(s, p, st, ct, &offset);
    s->src->bytes_read += s->slot_n[i] * s->esize;
    if (!s->convert) {
        *data = read_target(s, p, offset);
        return DP_OK;
    }
    double *dest = s->whole ? s->whole + offset : s->work;
    const double t0 = MPI_Wtime();
    dp_convert_to_f64(s->src->dtype, s->slot[i], dest, s->slot_n[i]);
    dp_trace_time(&s->convert_time, DP_TR_COMPUTE, t0);
    *data = dest;
    return DP_OK;
}

void dp_stream_poke(dp_stream_t *s)
{
    if (!s->direct || s->inflight == 0)
        return;
    for (int i = 0; i < s->nslots; i++)
        if (s->req[i] != MPI_REQUEST_NULL) {
            int done = 0;
            MPI_Status status;
            const int rc = MPI_Test(&s->req[i], &done, &status);
            if (rc != MPI_SUCCESS && s->err == DP_OK)
                s->err = dp_comm_check(rc, "a streamed read");
            if (done || rc != MPI_SUCCESS) {
                s->req[i] = MPI_REQUEST_NULL;
                completed(s, i, &status);
            }
        }
}

dp_status_t dp_stream_end(dp_stream_t *s)
{
    for (int i = 0; i < s->nslots; i++)
        if (s->req[i] != MPI_REQUEST_NULL) {
            MPI_Status status;
            dp_comm_wait_io(&s->req[i], &status);
            completed(s, i, &status);
        }
    s->posted = 0;
    dp_status_t st = s->err;
    s->err = DP_OK;
    return dp_comm_agree(st, s->comm);
}

void dp_stream_close(dp_stream_t *s)
{
    for (int i = 0; i < s->nslots; i++) {
        if (s->req[i] != MPI_REQUEST_NULL)
            MPI_Wait(&s->req[i], MPI_STATUS_IGNORE);
        free(s->slot[i]);
        s->slot[i] = NULL;
    }
    if (s->ftype != MPI_DATATYPE_NULL && s->ftype != s->etype)
        MPI_Type_free(&s->ftype);
    s->ftype = MPI_DATATYPE_NULL;
    if (s->fh != MPI_FILE_NULL)
        MPI_File_close(&s->fh);
    free(s->work);
    s->work = NULL;
}
