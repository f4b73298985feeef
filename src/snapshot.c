#include "snapshot.h"

#include "comm.h"
#include "hdf5_util.h"

#include <string.h>

/* Chunks of one snapshot cut until at most 1 MiB, so that reading one time step of a region
 * does not read the whole field. */
static void chunk_dims(const dp_shape_t *g, hsize_t chunk[DP_MAX_DIMS + 1])
{
    chunk[0] = 1;
    hsize_t bytes = 8;
    for (int d = 0; d < g->ndim; d++) {
        chunk[d + 1] = (hsize_t)g->n[d];
        bytes *= chunk[d + 1];
    }
    while (bytes > (1u << 20)) {
        int big = 1;
        for (int d = 2; d <= g->ndim; d++)
            if (chunk[d] > chunk[big])
                big = d;
        bytes = bytes / chunk[big] * ((chunk[big] + 1) / 2);
        chunk[big] = (chunk[big] + 1) / 2;
    }
}

static hid_t extendible(dp_snapshots_t *s, const char *name, hid_t type, int rank,
                        const hsize_t *dims, const hsize_t *chunk)
{
    hsize_t zero[DP_MAX_DIMS + 1], max[DP_MAX_DIMS + 1];
    for (int d = 0; d < rank; d++) {
        zero[d] = d == 0 ? 0 : dims[d];
        max[d] = d == 0 ? H5S_UNLIMITED : dims[d];
    }
    hid_t space = H5Screate_simple(rank, zero, max);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    hid_t d = H5Dcreate2(s->sink.file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0)
        snprintf(s->sink.why, sizeof s->sink.why, "%s", dp_h5_error());
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

dp_status_t dp_snapshots_open(dp_snapshots_t *s, const char *path, const dp_shape_t *global,
                              MPI_Comm comm)
{
    memset(s, 0, sizeof *s);
    s->fields = s->iterations = H5I_INVALID_HID;
    s->ndim = global->ndim;
    DP_CALL(dp_sink_create(&s->sink, path, 1, comm));
    s->open = 1;
    hsize_t dims[DP_MAX_DIMS + 1] = {0}, chunk[DP_MAX_DIMS + 1];
    for (int d = 0; d < global->ndim; d++)
        dims[d + 1] = (hsize_t)global->n[d];
    chunk_dims(global, chunk);
    s->fields = extendible(s, "snapshots", H5T_IEEE_F64LE, global->ndim + 1, dims, chunk);
    const hsize_t tchunk = 256;
    if (s->fields >= 0)
        s->iterations = extendible(s, "iterations", H5T_STD_I64LE, 1, dims, &tchunk);
    dp_status_t st = DP_OK;
    if (s->fields < 0 || s->iterations < 0)
        st = dp_err_set(DP_ERR_IO, "cannot create the snapshot datasets in '%s' (%s)", s->sink.tmp,
                        s->sink.why);
    return dp_comm_agree(st, comm);
}

/* Grows a dataset by one along its first axis and selects that new slab of the file space: the
 * box start/count of the last slab (count 0: nothing). */
static hid_t grow(hid_t d, int64_t n, int rank, const int64_t *start, const int64_t *count)
{
    hsize_t dims[DP_MAX_DIMS + 1];
    hid_t space = H5Dget_space(d);
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    dims[0] = (hsize_t)n + 1;
    if (H5Dset_extent(d, dims) < 0)
        return H5I_INVALID_HID;
    space = H5Dget_space(d);
    hsize_t hs[DP_MAX_DIMS + 1] = {(hsize_t)n}, hc[DP_MAX_DIMS + 1] = {1};
    int empty = 0;
    for (int k = 1; k < rank; k++) {
        hs[k] = (hsize_t)start[k - 1];
        hc[k] = (hsize_t)count[k - 1];
        empty |= count[k - 1] == 0;
    }
    if (empty)
        H5Sselect_none(space);
    else
        H5Sselect_hyperslab(space, H5S_SELECT_SET, hs, NULL, hc, NULL);
    return space;
}

dp_status_t dp_snapshots_append(dp_snapshots_t *s, const dp_field_t *f, int64_t iteration)
{
    int rank;
    MPI_Comm_rank(s->sink.comm, &rank);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    dp_status_t st = DP_OK;
    hid_t fspace = grow(s->fields, s->n, s->ndim + 1, f->start, f->count);
    if (fspace < 0) {
        st = dp_err_set(DP_ERR_IO, "cannot extend the snapshots in '%s' (%s)", s->sink.tmp,
                        dp_h5_error());
    } else {
        hsize_t ext[DP_MAX_DIMS], off[DP_MAX_DIMS], cnt[DP_MAX_DIMS];
        for (int d = 0; d < s->ndim; d++) {
            ext[d] = (hsize_t)f->ext[d];
            off[d] = (hsize_t)f->halo[d];
            cnt[d] = (hsize_t)f->count[d];
        }
        hid_t mspace = H5Screate_simple(s->ndim, ext, NULL);
        if (H5Sget_select_npoints(fspace) == 0)
            H5Sselect_none(mspace);
        else
            H5Sselect_hyperslab(mspace, H5S_SELECT_SET, off, NULL, cnt, NULL);
        if (H5Dwrite(s->fields, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, f->data) < 0)
            st = dp_err_set(DP_ERR_IO, "writing a snapshot to '%s' failed (%s)", s->sink.tmp,
                            dp_h5_error());
        H5Sclose(mspace);
        H5Sclose(fspace);
    }
    const int64_t zero = 0, one = 1;
    hid_t tspace = grow(s->iterations, s->n, 1, &zero, &one);
    if (tspace < 0) {
        if (st == DP_OK)
            st = dp_err_set(DP_ERR_IO, "cannot extend /iterations in '%s'", s->sink.tmp);
    } else {
        const hsize_t n1 = 1;
        hid_t mspace = H5Screate_simple(1, &n1, NULL);
        if (rank != 0) { /* rank 0 writes the iteration number; the others take part */
            H5Sselect_none(tspace);
            H5Sselect_none(mspace);
        }
        long long it = iteration;
        if (H5Dwrite(s->iterations, H5T_NATIVE_LLONG, mspace, tspace, dxpl, &it) < 0 && st == DP_OK)
            st = dp_err_set(DP_ERR_IO, "writing /iterations to '%s' failed (%s)", s->sink.tmp,
                            dp_h5_error());
        H5Sclose(mspace);
        H5Sclose(tspace);
    }
    H5Pclose(dxpl);
    s->n++;
    return dp_comm_agree(st, s->sink.comm);
}

static void close_datasets(dp_snapshots_t *s)
{
    if (s->fields >= 0)
        H5Dclose(s->fields);
    if (s->iterations >= 0)
        H5Dclose(s->iterations);
    s->fields = s->iterations = H5I_INVALID_HID;
}

dp_status_t dp_snapshots_close(dp_snapshots_t *s, const dp_runinfo_t *info)
{
    close_datasets(s);
    dp_status_t st = dp_sink_commit(&s->sink, info);
    if (st == DP_OK)
        s->open = 0;
    return st;
}

void dp_snapshots_abort(dp_snapshots_t *s)
{
    if (!s->open)
        return;
    close_datasets(s);
    dp_sink_abort(&s->sink);
    s->open = 0;
}
