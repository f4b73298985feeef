#include "source.h"

#include "comm.h"
#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const dp_source_ops_t *const sources[] = {
    [DP_SRC_HDF5] = &dp_source_hdf5,
    [DP_SRC_RAW] = &dp_source_raw,
    [DP_SRC_GENERATE] = &dp_source_generate,
};

dp_status_t dp_source_open(dp_source_t *s, const dp_job_t *job, int keep, MPI_Comm comm)
{
    *s = (dp_source_t){
        .ops = sources[job->input.source], .job = job, .comm = comm, .file_ndim = -1, .keep = keep};
    const dp_status_t st = s->ops->open(s);
    if (s->file_ndim < 0) { /* the backend reads arrays of 1 to 3 dimensions only */
        s->file_ndim = s->shape.ndim;
        for (int d = 0; d < s->shape.ndim; d++)
            s->file_n[d] = s->shape.n[d];
        dp_source_fold(s);
    }
    return st;
}

void dp_source_fold(dp_source_t *s)
{
    const int nd = s->file_ndim, k = s->keep;
    int m = 0; /* axes of shape */
    s->fold[0] = 0;
    if (nd == 0) {
        s->fold[++m] = 0; /* a scalar: one axis over no axis of the file, of extent 1 */
    } else if (nd <= DP_MAX_DIMS) {
        for (m = 1; m <= nd; m++)
            s->fold[m] = m;
        m = nd;
    } else if (k < 0 || k >= nd) { /* the leading axes merged into axis 0 */
        s->fold[++m] = nd - (DP_MAX_DIMS - 1);
        for (int d = DP_MAX_DIMS - 2; d >= 0; d--)
            s->fold[++m] = nd - d;
    } else { /* the axes before keep, keep, the axes after it */
        if (k > 0)
            s->fold[++m] = k;
        s->fold[++m] = k + 1;
        if (k < nd - 1)
            s->fold[++m] = nd;
    }
    s->shape = (dp_shape_t){.ndim = m, .n = {1, 1, 1}};
    for (int d = 0; d < m; d++)
        for (int j = s->fold[d]; j < s->fold[d + 1]; j++)
            s->shape.n[d] *= s->file_n[j];
    s->chunk_rows = s->chunk0;
    for (int j = 1; j < s->fold[1] && s->chunk_rows; j++)
        s->chunk_rows *= s->file_n[j];
}

int dp_source_seen_axis(const dp_source_t *s, int axis)
{
    for (int d = 0; d < s->shape.ndim; d++)
        if (s->fold[d] == axis && s->fold[d + 1] == axis + 1)
            return d;
    return -1;
}

dp_status_t dp_source_read(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                           const int64_t count[DP_MAX_DIMS], double *out)
{
    return s->ops->read(s, start, count, out);
}

int dp_source_folded(const dp_source_t *s)
{
    return s->file_ndim != s->shape.ndim;
}

int dp_source_direct(const dp_source_t *s, const char **path, int64_t *offset, char *why,
                     size_t size)
{
    if (s->ops->direct)
        return s->ops->direct(s, path, offset, why, size);
    snprintf(why, size, "the data are not read from a file");
    return 0;
}

MPI_Datatype dp_dtype_mpi(dp_dtype_t t)
{
    switch (t) {
    case DP_DT_INT8:
        return MPI_INT8_T;
    case DP_DT_INT16:
        return MPI_INT16_T;
    case DP_DT_INT32:
        return MPI_INT32_T;
    case DP_DT_INT64:
        return MPI_INT64_T;
    case DP_DT_UINT8:
        return MPI_UINT8_T;
    case DP_DT_UINT16:
        return MPI_UINT16_T;
    case DP_DT_UINT32:
        return MPI_UINT32_T;
    case DP_DT_UINT64:
        return MPI_UINT64_T;
    case DP_DT_FLOAT32:
        return MPI_FLOAT;
    case DP_DT_FLOAT64:
        return MPI_DOUBLE;
    }
    return MPI_DATATYPE_NULL;
}

void dp_source_close(dp_source_t *s)
{
    if (s->ops)
        s->ops->close(s);
    free(s->scratch);
    s->scratch = NULL;
    s->scratch_bytes = 0;
    s->ops = NULL;
}

dp_status_t dp_source_scratch(dp_source_t *s, size_t bytes, void **buf)
{
    if (bytes > s->scratch_bytes) {
        free(s->scratch);
        s->scratch = malloc(bytes);
        s->scratch_bytes = s->scratch ? bytes : 0;
        DP_CHECK(s->scratch, DP_ERR_NOMEM, "cannot allocate a read buffer of %zu bytes", bytes);
    }
    *buf = s->scratch;
    return DP_OK;
}

dp_status_t dp_source_check_readable(const char *path, MPI_Comm comm)
{
    dp_status_t st = DP_OK;
    struct stat sb;
    if (access(path, R_OK) != 0 || stat(path, &sb) != 0)
        st = dp_err_set(DP_ERR_IO, "cannot read input '%s': %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = dp_err_set(DP_ERR_IO, "cannot read input '%s': it is a directory, not a file", path);
    else if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) /* a FIFO would block the open */
        st = dp_err_set(DP_ERR_IO, "cannot read input '%s': it is %s, not a regular file", path,
                        S_ISFIFO(sb.st_mode)   ? "a named pipe"
                        : S_ISSOCK(sb.st_mode) ? "a socket"
                                               : "a character device");
    else if (dp_fault_hit(DP_FAULT_OPEN))
        st = dp_err_set(DP_ERR_IO, "cannot read input '%s': injected fault (DPROC_FAULT)", path);
    return dp_comm_agree(st, comm);
}
