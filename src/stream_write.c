#include "stream_write.h"

#include "comm.h"
#include "convert.h"
#include "fault.h"
#include "job.h"
#include "source.h"
#include "trace.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dp_status_t dp_writer_open(dp_writer_t *w, const char *path, int64_t offset,
                           const dp_shape_t *global, dp_dtype_t dtype,
                           const int64_t start[DP_MAX_DIMS], const int64_t count[DP_MAX_DIMS],
                           int64_t piece_rows, int overlap, MPI_Comm comm)
{
    *w = (dp_writer_t){.comm = comm,
                       .fh = MPI_FILE_NULL,
                       .etype = dp_dtype_mpi(dtype),
                       .ftype = MPI_DATATYPE_NULL,
                       .dtype = dtype,
                       .esize = dp_dtype_size(dtype),
                       .overlap = overlap,
                       .row = count[1] * count[2],
                       .req = {MPI_REQUEST_NULL, MPI_REQUEST_NULL}};
    const int64_t n = count[0] * count[1] * count[2];
    memcpy(w->start, start, sizeof w->start);
    memcpy(w->count, count, sizeof w->count);
    for (int d = 0; d < DP_MAX_DIMS; d++)
        w->shape[d] = global->n[d];
    dp_status_t st = DP_OK;
    for (int d = 0; d < DP_MAX_DIMS; d++)
        if (global->n[d] > INT_MAX)
            st = dp_err_set(DP_ERR_DATA, "output extent %lld exceeds MPI-IO's int subarray limit",
                            (long long)global->n[d]);
    DP_CALL(dp_comm_agree(st, comm));
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "opening '%s' for streamed writes", path);
    st = dp_comm_check(MPI_File_open(comm, path, MPI_MODE_WRONLY, MPI_INFO_NULL, &w->fh), what);
    DP_CALL(dp_comm_agree(st, comm));
    w->ftype = w->etype;
    if (n > 0) {
        int sizes[DP_MAX_DIMS], subs[DP_MAX_DIMS], starts[DP_MAX_DIMS];
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            sizes[d] = (int)global->n[d];
            subs[d] = (int)count[d];
            starts[d] = (int)start[d];
        }
        MPI_Type_create_subarray(DP_MAX_DIMS, sizes, subs, starts, MPI_ORDER_C, w->etype,
                                 &w->ftype);
        MPI_Type_commit(&w->ftype);
    }
    st = dp_comm_check(
        MPI_File_set_view(w->fh, (MPI_Offset)offset, w->etype, w->ftype, "native", MPI_INFO_NULL),
        "setting the file view of the streamed output");
    const int64_t piece = piece_rows * w->row;
    for (int i = 0; i < 2 && st == DP_OK && n > 0; i++) {
        w->slot[i] = malloc((size_t)(piece * w->esize));
        if (!w->slot[i])
            st = dp_err_set(DP_ERR_NOMEM, "cannot allocate two write buffers of %.1f MiB",
                            (double)(piece * w->esize) / (1 << 20));
    }
    return dp_comm_agree(st, comm);
}

/* Completes write i, blocking when wait is set; returns whether it is done. */
static int finish(dp_writer_t *w, int i, int wait)
{
    if (w->req[i] == MPI_REQUEST_NULL)
        return 1;
    MPI_Status status;
    int done = 1, rc;
    if (wait) {
        const double t0 = MPI_Wtime();
        rc = dp_comm_wait_io(&w->req[i], &status);
        dp_trace_time(&w->wait, DP_TR_WRITE_WAIT, t0);
    } else {
        rc = MPI_Test(&w->req[i], &done, &status);
    }
    if (rc != MPI_SUCCESS && w->err == DP_OK)
        w->err = dp_comm_check(rc, "a streamed write");
    if (!done && rc == MPI_SUCCESS)
        return 0;
    w->req[i] = MPI_REQUEST_NULL;
    int put = 0;
    MPI_Get_count(&status, w->etype, &put);
    if (rc == MPI_SUCCESS && (int64_t)put != w->slot_n[i] && w->err == DP_OK)
        w->err = dp_err_set(DP_ERR_IO, "short write of the output: %d of %lld values", put,
                            (long long)w->slot_n[i]);
    if (--w->inflight == 0) {
        const double now = MPI_Wtime();
        w->busy += now - w->since;
        dp_trace_span(DP_TR_WRITE_FLIGHT, w->since, now);
    }
    return 1;
}

void dp_writer_put(dp_writer_t *w, int64_t offset, const double *data, int64_t n)
{
    if (n == 0 || w->err != DP_OK)
        return;
    const int slot = w->turn;
    w->turn ^= 1;
    finish(w, slot, 1); /* the write before last used this buffer */
    if (w->err == DP_OK && dp_fault_hit(DP_FAULT_WRITE))
        w->err = dp_err_set(DP_ERR_IO, "writing the output: injected fault (DPROC_FAULT)");
    if (w->err != DP_OK)
        return;
    dp_convert_from_f64(w->dtype, data, w->slot[slot], n);
    int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS];
    memcpy(start, w->start, sizeof start);
    memcpy(count, w->count, sizeof count);
    start[0] += offset / w->row;
    count[0] = n / w->row;
    dp_digest_box(&w->digest, w->slot[slot], (size_t)w->esize, w->shape, start, count);
    w->slot_n[slot] = n;
    const double t0 = MPI_Wtime();
    const int rc = MPI_File_iwrite_at(w->fh, (MPI_Offset)offset, w->slot[slot], (int)n, w->etype,
                                      &w->req[slot]);
    dp_trace_span(DP_TR_WRITE_ISSUE, t0, MPI_Wtime());
    if (rc != MPI_SUCCESS) {
        w->err = dp_comm_check(rc, "posting a streamed write");
        return;
    }
    if (w->inflight++ == 0)
        w->since = MPI_Wtime();
    if (!w->overlap)
        finish(w, slot, 1);
}

void dp_writer_poke(dp_writer_t *w)
{
    for (int i = 0; i < 2 && w->inflight > 0; i++)
        finish(w, i, 0);
}

dp_status_t dp_writer_close(dp_writer_t *w)
{
    for (int i = 0; i < 2; i++)
        finish(w, i, 1);
    dp_status_t st = w->err;
    if (w->ftype != MPI_DATATYPE_NULL && w->ftype != w->etype)
        MPI_Type_free(&w->ftype);
    if (w->fh != MPI_FILE_NULL) {
        const dp_status_t c = dp_comm_check(MPI_File_close(&w->fh), "closing the streamed output");
        if (st == DP_OK)
            st = c;
    }
    for (int i = 0; i < 2; i++) {
        free(w->slot[i]);
        w->slot[i] = NULL;
    }
    return dp_comm_agree(st, w->comm);
}
