#include "source.h"

#include "comm.h"
#include "plan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* Raw binary input through MPI-IO: each read is a collective read of a subarray view. */

typedef struct {
    MPI_File fh;
    MPI_Datatype etype;
} raw_t;

static dp_status_t raw_open(dp_source_t *s)
{
    const dp_input_t *in = &s->job->input;
    char shape[96];
    s->shape = in->shape;
    s->dtype = (dp_dtype_t)in->dtype;
    snprintf(s->describe, sizeof s->describe, "raw %s (%s %s, offset %lld)", in->path,
             dp_dtype_name(s->dtype), dp_shape_str(&s->shape, shape, sizeof shape),
             (long long)in->offset);
    DP_CALL(dp_source_check_readable(in->path, s->comm));
    raw_t *r = dp_xcalloc(1, sizeof *r);
    r->fh = MPI_FILE_NULL;
    r->etype = dp_dtype_mpi(s->dtype);
    s->impl = r;
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "opening raw input '%s'", in->path);
    dp_status_t st = dp_comm_check(
        MPI_File_open(s->comm, in->path, MPI_MODE_RDONLY, MPI_INFO_NULL, &r->fh), what);
    DP_CALL(dp_comm_agree(st, s->comm));
    MPI_Offset size = 0;
    st = dp_comm_check(MPI_File_get_size(r->fh, &size), "getting the raw input's size");
    const int64_t n = dp_shape_elements(&s->shape);
    int64_t need;
    if (__builtin_mul_overflow(n, (int64_t)dp_dtype_size(s->dtype), &need) ||
        __builtin_add_overflow(need, in->offset, &need))
        st = dp_err_set(DP_ERR_DATA, "[input] offset %lld + the data's size overflow 64 bits",
                        (long long)in->offset);
    else if (st == DP_OK && (int64_t)size != need) {
        const int esize = dp_dtype_size(s->dtype);
        const int64_t after = (int64_t)size - in->offset;
        char whole[128] = "";
        if (after > 0 && after % esize != 0)
            snprintf(whole, sizeof whole,
                     " (the %lld bytes after the offset are not a whole number of %d-byte "
                     "values)",
                     (long long)after, esize);
        st = dp_err_set(DP_ERR_DATA,
                        "raw input '%s' has %lld bytes, but offset %lld + %s %s values of %d "
                        "bytes need %lld%s",
                        in->path, (long long)size, (long long)in->offset, shape,
                        dp_dtype_name(s->dtype), esize, (long long)need, whole);
    }
    for (int d = 0; d < s->shape.ndim && st == DP_OK; d++)
        if (s->shape.n[d] > INT_MAX)
            st =
                dp_err_set(DP_ERR_DATA, "raw input extent %lld exceeds MPI-IO's int subarray limit",
                           (long long)s->shape.n[d]);
    return dp_comm_agree(st, s->comm);
}

static dp_status_t raw_read(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                            const int64_t count[DP_MAX_DIMS], double *out)
{
    raw_t *r = s->impl;
    const int64_t n = count[0] * count[1] * count[2];
    const int esize = dp_dtype_size(s->dtype);
    dp_status_t st = DP_OK;
    void *buf = NULL;
    if (n > INT_MAX)
        st = dp_err_set(DP_ERR_DATA,
                        "a read of %lld values exceeds MPI's int count: lower [run] chunk_mb or "
                        "use more ranks",
                        (long long)n);
    if (st == DP_OK && n > 0)
        st = s->dtype == DP_DT_FLOAT64 ? DP_OK : dp_source_scratch(s, (size_t)(n * esize), &buf);
    DP_CALL(dp_comm_agree(st, s->comm));
    if (s->dtype == DP_DT_FLOAT64)
        buf = out;

    MPI_Datatype ftype = r->etype;
    if (n > 0) {
        int sizes[DP_MAX_DIMS], subs[DP_MAX_DIMS], starts[DP_MAX_DIMS];
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            sizes[d] = (int)s->shape.n[d];
            subs[d] = (int)count[d];
            starts[d] = (int)start[d];
        }
        MPI_Type_create_subarray(DP_MAX_DIMS, sizes, subs, starts, MPI_ORDER_C, r->etype, &ftype);
        MPI_Type_commit(&ftype);
    }
    st = dp_comm_check(
        MPI_File_set_view(r->fh, s->job->input.offset, r->etype, ftype, "native", MPI_INFO_NULL),
        "setting the raw input's file view");
    if (st == DP_OK) {
        MPI_Status status;
        st = dp_comm_check(MPI_File_read_all(r->fh, buf, (int)n, r->etype, &status),
                           "reading the raw input");
        int got = 0;
        MPI_Get_count(&status, r->etype, &got);
        if (st == DP_OK && got != (int)n)
            st = dp_err_set(DP_ERR_IO, "short read of raw input: %d of %lld values", got,
                            (long long)n);
    }
    if (n > 0)
        MPI_Type_free(&ftype);
    if (st == DP_OK && n > 0) {
        if (s->dtype != DP_DT_FLOAT64)
            dp_convert_to_f64(s->dtype, buf, out, n);
        s->bytes_read += n * esize;
    }
    return dp_comm_agree(st, s->comm);
}

static void raw_close(dp_source_t *s)
{
    raw_t *r = s->impl;
    if (r && r->fh != MPI_FILE_NULL)
        MPI_File_close(&r->fh);
    free(r);
    s->impl = NULL;
}

static int raw_direct(const dp_source_t *s, const char **path, int64_t *offset, char *why,
                      size_t size)
{
    (void)why;
    (void)size;
    *path = s->job->input.path;
    *offset = s->job->input.offset;
    return 1;
}

const dp_source_ops_t dp_source_raw = {
    .open = raw_open, .read = raw_read, .direct = raw_direct, .close = raw_close};
