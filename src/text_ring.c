#include "text.h"

#include "comm.h"
#include "fault.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Posts reads into free slots while fewer than want are in flight. */
static dp_status_t post(dp_ring_t *r, int want)
{
    while (r->inflight < want && r->next < r->end) {
        const int s = (r->head + r->inflight) % r->nslots;
        const int64_t n = r->end - r->next < r->chunk ? r->end - r->next : r->chunk;
        if (!r->buf[s]) {
            r->buf[s] = malloc((size_t)r->chunk);
            DP_CHECK(r->buf[s], DP_ERR_NOMEM, "out of memory for a read buffer of %lld bytes",
                     (long long)r->chunk);
        }
        const double t0 = MPI_Wtime();
        const int rc =
            MPI_File_iread_at(r->fh, (MPI_Offset)r->next, r->buf[s], (int)n, MPI_BYTE, &r->req[s]);
        dp_trace_span(DP_TR_READ_ISSUE, t0, MPI_Wtime());
        DP_CALL(dp_comm_check(rc, "posting a read of the input"));
        if (r->pending++ == 0)
            r->since = MPI_Wtime();
        r->at[s] = r->next;
        r->len[s] = n;
        r->done[s] = 0;
        r->next += n;
        r->inflight++;
    }
    return DP_OK;
}

dp_status_t dp_ring_open(dp_ring_t *r, const char *path, int64_t size, int64_t pos, int64_t end,
                         int64_t chunk, int prefetch, int overlap)
{
    if (chunk > (int64_t)1 << 30) /* MPI counts are ints: read at most 1 GiB at a time */
        chunk = (int64_t)1 << 30;
    *r = (dp_ring_t){.fh = MPI_FILE_NULL,
                     .chunk = chunk,
                     .next = pos,
                     .size = size,
                     .end = end < size ? end : size,
                     .overlap = overlap};
    r->nslots = overlap ? prefetch + 1 : 1;
    if (r->nslots > DP_RING_MAX)
        r->nslots = DP_RING_MAX;
    char what[600];
    snprintf(what, sizeof what, "opening input '%.500s'", path);
    return dp_comm_check(MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &r->fh),
                         what);
}

/* Notes that the read in slot s completed (now). */
static void completed(dp_ring_t *r, int s, int rc)
{
    r->done[s] = 1;
    r->rc[s] = rc;
    if (--r->pending == 0) {
        const double now = MPI_Wtime();
        r->busy += now - r->since;
        dp_trace_span(DP_TR_READ_FLIGHT, r->since, now);
    }
}

void dp_ring_poke(dp_ring_t *r)
{
    for (int k = 0; k < r->inflight; k++) {
        const int s = (r->head + k) % r->nslots;
        int flag = 0;
        if (r->done[s])
            continue;
        const int rc = MPI_Test(&r->req[s], &flag, &r->status[s]);
        if (flag || rc != MPI_SUCCESS)
            completed(r, s, rc);
    }
}

dp_status_t dp_ring_next(dp_ring_t *r, const char **data, int64_t *len, int64_t *at)
{
    DP_CALL(post(r, r->nslots));
    *len = 0;
    if (r->inflight == 0)
        return DP_OK;
    const int s = r->head;
    if (!r->done[s]) {
        const double t0 = MPI_Wtime();
        const int rc = dp_comm_wait_io(&r->req[s], &r->status[s]);
        dp_trace_time(&r->wait, DP_TR_READ_WAIT, t0);
        completed(r, s, rc);
    }
    r->head = (r->head + 1) % r->nslots;
    r->inflight--;
    DP_CALL(dp_comm_check(r->rc[s], "reading the input"));
    DP_CHECK(!dp_fault_hit(DP_FAULT_READ), DP_ERR_IO,
             "reading the input at offset %lld: injected fault (DPROC_FAULT)", (long long)r->at[s]);
    int got = 0;
    MPI_Get_count(&r->status[s], MPI_BYTE, &got);
    DP_CHECK(got == r->len[s], DP_ERR_IO,
             "short read of the input: %d of %lld bytes at offset %lld (did the file shrink?)", got,
             (long long)r->len[s], (long long)r->at[s]);
    r->bytes += got;
    *data = r->buf[s];
    *len = r->len[s];
    *at = r->at[s];
    /* keep prefetch reads in flight while the caller works on this piece */
    return r->overlap ? post(r, r->nslots - 1) : DP_OK;
}

void dp_ring_extend(dp_ring_t *r, int64_t end)
{
    r->end = end < r->size ? end : r->size;
}

void dp_ring_close(dp_ring_t *r)
{
    for (; r->inflight > 0; r->inflight--) {
        if (!r->done[r->head])
            completed(r, r->head, dp_comm_wait_io(&r->req[r->head], MPI_STATUS_IGNORE));
        r->head = (r->head + 1) % r->nslots;
    }
    if (r->fh != MPI_FILE_NULL)
        MPI_File_close(&r->fh);
    for (int s = 0; s < r->nslots; s++)
        free(r->buf[s]);
    memset(r->buf, 0, sizeof r->buf);
}
