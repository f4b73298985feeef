#define _GNU_SOURCE /* qsort_r */

#include "kv_output.h"

#include "comm.h"
#include "hdf5_util.h"
#include "publish.h"
#include "sink.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BATCH = 4 << 20, TAG_ROWS = 61 };

/* One row: its key, its count and its value columns. */
typedef struct {
    const char *key;
    uint32_t klen;
    int64_t count;
    dp_kv_cell_t cell[DP_KV_COLUMNS];
} row_t;

static int key_cmp(const row_t *a, const row_t *b)
{
    const int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* The output order: by count, descending, then key; or by key. */
static int row_cmp(const row_t *a, const row_t *b, int by_count)
{
    if (by_count && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return key_cmp(a, b);
}

typedef struct {
    const dp_kernel_t *k;
    const void *st;
    const dp_kvt_t *t;
} order_t;

static void row_of(const order_t *o, size_t i, row_t *r)
{
    r->key = dp_kvt_key(o->t, i);
    r->klen = dp_kvt_entry(o->t, i)->klen;
    const void *v = dp_kvt_value(o->t, i);
    r->count = o->k->kv_count(o->st, v);
    o->k->kv_row(o->st, v, r->cell);
}

/* The order of two slots: their keys (and counts), without computing their columns. */
static int index_cmp(const void *a, const void *b, void *ctx)
{
    const order_t *o = ctx;
    const size_t i = *(const size_t *)a, j = *(const size_t *)b;
    row_t x = {.key = dp_kvt_key(o->t, i), .klen = dp_kvt_entry(o->t, i)->klen};
    row_t y = {.key = dp_kvt_key(o->t, j), .klen = dp_kvt_entry(o->t, j)->klen};
    if (o->k->kv_by_count) {
        x.count = o->k->kv_count(o->st, dp_kvt_value(o->t, i));
        y.count = o->k->kv_count(o->st, dp_kvt_value(o->t, j));
    }
    return row_cmp(&x, &y, o->k->kv_by_count);
}

/* Bytes of a row on the wire: key length, count, columns, key. */
static size_t wire_size(const row_t *r, int ncols)
{
    return 4 + 8 + (size_t)ncols * 8 + r->klen;
}

static size_t put_row(unsigned char *o, const row_t *r, int ncols)
{
    memcpy(o, &r->klen, 4);
    memcpy(o + 4, &r->count, 8);
    memcpy(o + 12, r->cell, (size_t)ncols * 8);
    memcpy(o + 12 + (size_t)ncols * 8, r->key, r->klen);
    return wire_size(r, ncols);
}

static size_t get_row(const unsigned char *in, row_t *r, int ncols)
{
    memcpy(&r->klen, in, 4);
    memcpy(&r->count, in + 4, 8);
    memcpy(r->cell, in + 12, (size_t)ncols * 8);
    r->key = (const char *)in + 12 + (size_t)ncols * 8;
    return wire_size(r, ncols);
}

/* Sends this rank's first limit rows, in order, to rank 0 in batches; an empty batch ends. */
static void send_rows(const order_t *o, const size_t *idx, size_t n, int ncols, MPI_Comm comm)
{
    unsigned char *buf = NULL;
    size_t cap = 0, used = 0;
    for (size_t j = 0; j <= n; j++) {
        row_t r;
        if (j < n)
            row_of(o, idx[j], &r);
        if (used > 0 && (j == n || used + wire_size(&r, ncols) > BATCH)) {
            MPI_Send(buf, (int)used, MPI_BYTE, 0, TAG_ROWS, comm);
            used = 0;
        }
        if (j == n)
            break;
        if (used + wire_size(&r, ncols) > cap) {
            cap = used + wire_size(&r, ncols) + BATCH;
            buf = dp_xrealloc(buf, cap);
        }
        used += put_row(buf + used, &r, ncols);
    }
    MPI_Send(buf, 0, MPI_BYTE, 0, TAG_ROWS, comm);
    free(buf);
}

/* Rank 0's view of one rank's ordered rows. */
typedef struct {
    unsigned char *buf;
    int len, pos, done;
    row_t row; /* the current row, valid while !done */
} run_t;

static void run_advance(run_t *r, int src, int ncols, MPI_Comm comm)
{
    if (r->pos < r->len) {
        r->pos += (int)get_row(r->buf + r->pos, &r->row, ncols);
        return;
    }
    MPI_Status status;
    MPI_Probe(src, TAG_ROWS, comm, &status);
    MPI_Get_count(&status, MPI_BYTE, &r->len);
    free(r->buf);
    r->buf = dp_xmalloc(r->len > 0 ? (size_t)r->len : 1);
    MPI_Recv(r->buf, r->len, MPI_BYTE, src, TAG_ROWS, comm, MPI_STATUS_IGNORE);
    r->pos = 0;
    if (r->len == 0) {
        r->done = 1;
        return;
    }
    r->pos = (int)get_row(r->buf, &r->row, ncols);
}

/* A row as the HDF5 compound type sees it in memory. */
typedef struct {
    char *key;
    dp_kv_cell_t cell[DP_KV_COLUMNS];
} h5row_t;

/* Where rank 0 puts the rows: a TSV stream or an HDF5 compound dataset, or nothing. */
typedef struct {
    const dp_job_t *job;
    const dp_kernel_t *k;
    const void *st;
    dp_kv_column_t col[DP_KV_COLUMNS + 1];
    int ncols;
    dp_status_t status;
    char tmp[PATH_MAX];
    FILE *f;
    dp_sink_t sink;
    int sink_open;
    hid_t dset, mtype;
    hsize_t rows;
    h5row_t *pend;
    size_t npend;
    char *keys; /* NUL-terminated copies of the pending rows' keys */
    size_t keys_used, keys_cap;
    dp_digest_t digest; /* of the rows written */
    char *rowbuf;       /* one row's bytes for the digest */
    size_t rowbuf_cap;
} writer_t;

enum { HDF5_ROWS = 16384 };

static dp_status_t h5_open(writer_t *w, const dp_runinfo_t *info)
{
    (void)info;
    DP_CALL(dp_sink_create(&w->sink, w->job->output.path, w->job->output.overwrite, MPI_COMM_SELF));
    w->sink_open = 1;
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    const size_t rsize = sizeof *w->pend;
    w->mtype = H5Tcreate(H5T_COMPOUND, rsize);
    H5Tinsert(w->mtype, "key", 0, str);
    for (int j = 0; j < w->ncols; j++)
        H5Tinsert(w->mtype, w->col[j + 1].name,
                  offsetof(h5row_t, cell) + (size_t)j * sizeof(dp_kv_cell_t),
                  w->col[j + 1].is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE);
    H5Tclose(str);
    hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = HDF5_ROWS;
    hid_t space = H5Screate_simple(1, &dims, &maxdims);
    hid_t ftype = H5Tcopy(w->mtype); /* in the file without the row struct's padding */
    H5Tpack(ftype);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    if (w->job->output.checksum)
        H5Pset_fletcher32(dcpl);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    w->dset =
        H5Dcreate2(w->sink.file, w->job->output.dataset, ftype, space, lcpl, dcpl, H5P_DEFAULT);
    H5Tclose(ftype);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
    DP_CHECK(w->dset >= 0, DP_ERR_IO, "cannot create dataset '%s' in '%s' (%s)",
             w->job->output.dataset, w->job->output.path, dp_h5_error());
    w->pend = dp_xmalloc(HDF5_ROWS * sizeof *w->pend);
    return DP_OK;
}

static dp_status_t h5_flush(writer_t *w)
{
    if (w->npend == 0)
        return DP_OK;
    for (size_t i = 0, off = 0; i < w->npend; i++) { /* keys moved with the arena's growth */
        w->pend[i].key = w->keys + off;
        off += strlen(w->keys + off) + 1;
    }
    hsize_t dims = w->rows + w->npend, start = w->rows, count = w->npend;
    herr_t rc = H5Dset_extent(w->dset, &dims);
    hid_t fspace = H5Dget_space(w->dset);
    rc |= H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL);
    hid_t mspace = H5Screate_simple(1, &count, NULL);
    rc |= H5Dwrite(w->dset, w->mtype, mspace, fspace, H5P_DEFAULT, w->pend);
    H5Sclose(mspace);
    H5Sclose(fspace);
    DP_CHECK(rc >= 0, DP_ERR_IO, "writing '%s' failed (%s)", w->job->output.path, dp_h5_error());
    w->rows += w->npend;
    w->npend = 0;
    w->keys_used = 0;
    return DP_OK;
}

/* Adds a row to the table's digest: its key's bytes and a NUL, then each column's 8 bytes, as
 * dproc verify reads a compound record. */
static void digest_row(writer_t *w, const row_t *r)
{
    if (w->rowbuf_cap < r->klen + 1 + 8 * (size_t)w->ncols) {
        w->rowbuf_cap = 2 * (r->klen + 1 + 8 * (size_t)w->ncols);
        w->rowbuf = dp_xrealloc(w->rowbuf, w->rowbuf_cap);
    }
    memcpy(w->rowbuf, r->key, r->klen);
    w->rowbuf[r->klen] = '\0';
    for (int j = 0; j < w->ncols; j++)
        memcpy(w->rowbuf + r->klen + 1 + 8 * (size_t)j, &r->cell[j], 8);
    dp_digest_one(&w->digest, w->rowbuf, r->klen + 1 + 8 * (size_t)w->ncols,
                  (int64_t)(w->rows + w->npend));
}

static dp_status_t h5_row(writer_t *w, const row_t *r)
{
    for (uint32_t i = 0; i < r->klen; i++) /* a C string cannot hold NUL */
        DP_CHECK(r->key[i] != '\0', DP_ERR_DATA,
                 "a key holds a NUL byte, which an HDF5 string cannot hold (format = tsv can)");
    if (w->keys_used + r->klen + 1 > w->keys_cap) {
        w->keys_cap = 2 * (w->keys_used + r->klen + 1);
        w->keys = dp_xrealloc(w->keys, w->keys_cap);
    }
    memcpy(w->keys + w->keys_used, r->key, r->klen);
    w->keys[w->keys_used + r->klen] = '\0';
    w->keys_used += r->klen + 1;
    memcpy(w->pend[w->npend].cell, r->cell, sizeof r->cell);
    digest_row(w, r);
    if (++w->npend == HDF5_ROWS)
        return h5_flush(w);
    return DP_OK;
}

static void tsv_key(FILE *f, const char *k, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const char c = k[i];
        if (c == '\t' || c == '\n' || c == '\r' || c == '\\') {
            fputc('\\', f);
            fputc(c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\', f);
        } else {
            fputc(c, f);
        }
    }
}

static void tsv_row(writer_t *w, const row_t *r)
{
    tsv_key(w->f, r->key, r->klen);
    for (int j = 0; j < w->ncols; j++) {
        if (w->col[j + 1].is_int)
            fprintf(w->f, "\t%lld", (long long)r->cell[j].i);
        else
            fprintf(w->f, "\t%.17g", r->cell[j].r);
    }
    fputc('\n', w->f);
}

static dp_status_t writer_open(writer_t *w, const dp_runinfo_t *info)
{
    if (!w->job->output.path)
        return DP_OK;
    if (w->job->output.format == DP_KV_HDF5)
        return h5_open(w, info);
    dp_publish_tmp_name(w->job->output.path, (long long)getpid(), w->tmp, sizeof w->tmp);
    w->f = fopen(w->tmp, "w");
    DP_CHECK(w->f, DP_ERR_IO, "cannot create '%s': %s", w->tmp, strerror(errno));
    setvbuf(w->f, NULL, _IOFBF, 1 << 20);
    fputs(w->col[0].name, w->f);
    for (int j = 0; j < w->ncols; j++)
        fprintf(w->f, "\t%s", w->col[j + 1].name);
    fputc('\n', w->f);
    return DP_OK;
}

static void writer_row(writer_t *w, const row_t *r)
{
    if (w->status != DP_OK)
        return;
    if (w->f)
        tsv_row(w, r);
    else if (w->dset > 0)
        w->status = h5_row(w, r);
}

/* Finishes the file and puts it in place, or removes it after a failure. */
static dp_status_t writer_close(writer_t *w, const dp_runinfo_t *info, dp_status_t st)
{
    if (w->f) {
        const int bad = ferror(w->f) | (fclose(w->f) != 0);
        if (st == DP_OK && bad)
            st = dp_err_set(DP_ERR_IO, "writing '%s' failed: %s", w->tmp, strerror(errno));
        if (st == DP_OK)
            st = dp_publish(w->tmp, w->job->output.path, w->job->output.overwrite);
        if (st != DP_OK)
            unlink(w->tmp);
    }
    if (w->sink_open) {
        if (st == DP_OK)
            st = h5_flush(w);
        if (st == DP_OK) /* this process alone: no other rank to agree with */
            st = dp_sink_digest_attr(&w->sink, w->dset, &w->digest);
        if (w->dset > 0)
            H5Dclose(w->dset);
        w->sink.dset = H5I_INVALID_HID;
        if (w->mtype > 0)
            H5Tclose(w->mtype);
        if (st == DP_OK)
            st = dp_sink_commit(&w->sink, info);
        if (st != DP_OK)
            dp_sink_abort(&w->sink);
    }
    free(w->pend);
    free(w->keys);
    free(w->rowbuf);
    return st;
}

static void keep_top(dp_kv_out_t *out, const row_t *r, int64_t top_k)
{
    if (out->ntop >= top_k)
        return;
    out->top_key = dp_xrealloc(out->top_key, (size_t)(out->ntop + 1) * sizeof *out->top_key);
    out->top_count = dp_xrealloc(out->top_count, (size_t)(out->ntop + 1) * sizeof *out->top_count);
    char *k = dp_xmalloc(r->klen + 1);
    memcpy(k, r->key, r->klen);
    k[r->klen] = '\0';
    out->top_key[out->ntop] = k;
    out->top_count[out->ntop] = r->count;
    out->ntop++;
}

/* Rank 0: merges the ordered runs of all ranks (its own from idx) into the writer. */
static void merge(writer_t *w, const order_t *o, const size_t *idx, size_t n, size_t limit,
                  int nranks, MPI_Comm comm, dp_kv_out_t *out)
{
    run_t *runs = dp_xcalloc((size_t)nranks, sizeof *runs);
    size_t mine = 0;
    if (n > 0)
        row_of(o, idx[0], &runs[0].row);
    runs[0].done = n == 0;
    for (int q = 1; q < nranks; q++)
        run_advance(&runs[q], q, w->ncols, comm);
    const int64_t top_k = w->k->kv_top_k(w->st);
    for (size_t written = 0;; written++) {
        int best = -1;
        for (int q = 0; q < nranks; q++)
            if (!runs[q].done &&
                (best < 0 || row_cmp(&runs[q].row, &runs[best].row, w->k->kv_by_count) < 0))
                best = q;
        if (best < 0)
            break;
        if (written < limit) {
            keep_top(out, &runs[best].row, top_k);
            writer_row(w, &runs[best].row);
        }
        if (best == 0) {
            if (++mine < n)
                row_of(o, idx[mine], &runs[0].row);
            else
                runs[0].done = 1;
        } else {
            run_advance(&runs[best], best, w->ncols, comm);
        }
    }
    for (int q = 0; q < nranks; q++)
        free(runs[q].buf);
    free(runs);
}

dp_status_t dp_kv_output(const dp_job_t *job, const dp_runinfo_t *info, const void *st,
                         const dp_kvt_t *owned, MPI_Comm comm, dp_kv_out_t *out)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    const dp_kernel_t *k = job->kernel;
    *out = (dp_kv_out_t){0};
    long long n = (long long)owned->n, distinct = 0;
    MPI_Allreduce(&n, &distinct, 1, MPI_LONG_LONG, MPI_SUM, comm);
    out->distinct = distinct;

    order_t o = {.k = k, .st = st, .t = owned};
    size_t *idx = dp_xmalloc((owned->n ? owned->n : 1) * sizeof *idx);
    for (size_t i = 0, j = 0; i < owned->nslots; i++)
        if (dp_kvt_full(owned, i))
            idx[j++] = i;
    qsort_r(idx, owned->n, sizeof *idx, index_cmp, &o);
    /* without an output file only the top rows are needed: no rank sends more */
    const size_t limit = job->output.path ? SIZE_MAX : (size_t)k->kv_top_k(st);
    const size_t sent = owned->n < limit ? owned->n : limit;

    writer_t w = {.job = job, .k = k, .st = st, .dset = H5I_INVALID_HID, .mtype = H5I_INVALID_HID};
    w.ncols = k->kv_columns(st, w.col);
    dp_status_t status = DP_OK;
    if (rank == 0) {
        w.status = writer_open(&w, info);
        merge(&w, &o, idx, sent, limit, nranks, comm, out);
        status = writer_close(&w, info, w.status);
    } else {
        send_rows(&o, idx, sent, w.ncols, comm);
    }
    free(idx);
    return dp_comm_agree(status, comm);
}

void dp_kv_out_free(dp_kv_out_t *out)
{
    for (int i = 0; i < out->ntop; i++)
        free(out->top_key[i]);
    free(out->top_key);
    free(out->top_count);
    *out = (dp_kv_out_t){0};
}
