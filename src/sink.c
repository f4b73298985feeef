#include "sink.h"

#include "comm.h"
#include "fault.h"
#include "hdf5_util.h"
#include "publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(hid_t) == sizeof(int64_t) && (hid_t)-1 < 0,
               "sink.h and snapshot.h keep HDF5 handles in int64_t");

dp_status_t dp_sink_create(dp_sink_t *s, const char *path, int overwrite, MPI_Comm comm)
{
    *s = (dp_sink_t){
        .comm = comm, .file = H5I_INVALID_HID, .dset = H5I_INVALID_HID, .overwrite = overwrite};
    int rank;
    MPI_Comm_rank(comm, &rank);
    long long pid = (long long)getpid();
    MPI_Bcast(&pid, 1, MPI_LONG_LONG, 0, comm);
    snprintf(s->final, sizeof s->final, "%s", path);
    dp_publish_tmp_name(path, pid, s->tmp, sizeof s->tmp);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (comm != MPI_COMM_SELF) { /* a file of one process uses plain POSIX I/O: with MPI-IO, HDF5
                                    cannot write variable-length strings */
        H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
        H5Pset_coll_metadata_write(fapl, 1);
    }
    s->file = H5Fcreate(s->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    dp_status_t st = DP_OK;
    if (s->file < 0) /* before another HDF5 call clears the error stack */
        st = dp_err_set(DP_ERR_IO, "cannot create '%s' (%s)", s->tmp, dp_h5_error());
    H5Pclose(fapl);
    return dp_comm_agree(st, comm);
}

static int attr_string(hid_t obj, const char *name, const char *value);

static hid_t create_dataset_with(dp_sink_t *s, const char *name, hid_t type, hid_t space,
                                 hid_t dcpl)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(s->file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0) /* keep the cause before another HDF5 call clears the error stack */
        snprintf(s->why, sizeof s->why, "%s", dp_h5_error());
    H5Pclose(lcpl);
    return d;
}

dp_status_t dp_sink_array_direct(dp_sink_t *s, const char *dataset, const dp_shape_t *global,
                                 dp_dtype_t dtype, int64_t *offset)
{
    hsize_t dims[DP_MAX_DIMS];
    for (int d = 0; d < global->ndim; d++)
        dims[d] = (hsize_t)global->n[d];
    hid_t space = H5Screate_simple(global->ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t type = H5Tcopy(dp_h5_native(dtype));
    H5Tset_order(type, H5T_ORDER_LE);
    s->dset = create_dataset_with(s, dataset, type, space, dcpl);
    s->digest = (dp_digest_t){{0, 0}};
    H5Tclose(type);
    H5Pclose(dcpl);
    H5Sclose(space);
    dp_status_t st = DP_OK;
    if (s->dset < 0)
        st = dp_err_set(DP_ERR_IO, "cannot create dataset '%s' in '%s' (%s)", dataset, s->tmp,
                        s->why);
    else if ((*offset = (int64_t)H5Dget_offset(s->dset)) == (int64_t)HADDR_UNDEF)
        st = dp_err_set(DP_ERR_INTERNAL, "dataset '%s' in '%s' has no storage", dataset, s->tmp);
    else if (H5Fflush(s->file, H5F_SCOPE_LOCAL) < 0)
        st = dp_err_set(DP_ERR_IO, "flushing '%s' failed (%s)", s->tmp, dp_h5_error());
    return dp_comm_agree(st, s->comm);
}

/* The creation properties of an array with the Fletcher32 filter: chunks of about 4 MiB, whole
 * along the last axes. */
static hid_t checksummed(int ndim, const hsize_t *dims, size_t size)
{
    hsize_t chunk[H5S_MAX_RANK];
    hsize_t budget = (4u << 20) / size;
    for (int d = ndim - 1; d >= 0; d--) {
        chunk[d] = dims[d] < budget ? dims[d] : budget;
        chunk[d] = chunk[d] > 0 ? chunk[d] : 1;
        budget = budget / chunk[d] > 0 ? budget / chunk[d] : 1;
    }
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, ndim, chunk);
    H5Pset_fletcher32(dcpl);
    return dcpl;
}

dp_status_t dp_sink_array(dp_sink_t *s, const char *dataset, const dp_shape_t *global)
{
    hsize_t dims[DP_MAX_DIMS];
    for (int d = 0; d < global->ndim; d++)
        dims[d] = (hsize_t)global->n[d];
    hid_t space = H5Screate_simple(global->ndim, dims, NULL);
    hid_t dcpl = s->checksum ? checksummed(global->ndim, dims, sizeof(double)) : H5P_DEFAULT;
    s->dset = create_dataset_with(s, dataset, H5T_IEEE_F64LE, space, dcpl);
    s->digest = (dp_digest_t){{0, 0}};
    if (dcpl != H5P_DEFAULT)
        H5Pclose(dcpl);
    H5Sclose(space);
    dp_status_t st = DP_OK;
    if (s->dset < 0)
        st = dp_err_set(DP_ERR_IO, "cannot create dataset '%s' in '%s' (%s)", dataset, s->tmp,
                        s->why);
    return dp_comm_agree(st, s->comm);
}

/* Adds the box start/count of the array, at data (contiguous, field NULL) or the own points of
 * field, to this rank's part of its digest. */
static void digest_box(dp_sink_t *s, const int64_t start[DP_MAX_DIMS],
                       const int64_t count[DP_MAX_DIMS], const double *data,
                       const dp_field_t *field)
{
    hid_t space = H5Dget_space(s->dset);
    hsize_t dims[DP_MAX_DIMS] = {1, 1, 1};
    H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    const int64_t shape[DP_MAX_DIMS] = {(int64_t)dims[0], (int64_t)dims[1], (int64_t)dims[2]};
    if (!field) {
        dp_digest_box(&s->digest, data, sizeof(double), shape, start, count);
        return;
    }
    for (int64_t i = 0; i < count[0]; i++)
        for (int64_t j = 0; j < count[1]; j++) {
            const double *row =
                field->data +
                ((i + field->halo[0]) * field->ext[1] + j + field->halo[1]) * field->ext[2] +
                field->halo[2];
            const int64_t index0 = ((start[0] + i) * shape[1] + start[1] + j) * shape[2] + start[2];
            dp_digest_run(&s->digest, row, sizeof(double), count[2], index0);
        }
}

/* Writes the box start/count of the dataset from data, which is contiguous (field NULL) or
 * the own points of field. */
static dp_status_t write_box(dp_sink_t *s, const int64_t start[DP_MAX_DIMS],
                             const int64_t count[DP_MAX_DIMS], const double *data,
                             const dp_field_t *field)
{
    hid_t fspace = H5Dget_space(s->dset);
    int nd = H5Sget_simple_extent_ndims(fspace);
    const int64_t n = count[0] * count[1] * count[2];
    hsize_t one = 1, total = (hsize_t)n;
    hid_t mspace;
    if (n > 0) {
        hsize_t hs[DP_MAX_DIMS], hc[DP_MAX_DIMS];
        for (int d = 0; d < nd; d++) {
            hs[d] = (hsize_t)start[d];
            hc[d] = (hsize_t)count[d];
        }
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, hs, NULL, hc, NULL);
        if (field) {
            hsize_t ext[DP_MAX_DIMS], off[DP_MAX_DIMS];
            for (int d = 0; d < nd; d++) {
                ext[d] = (hsize_t)field->ext[d];
                off[d] = (hsize_t)field->halo[d];
            }
            mspace = H5Screate_simple(nd, ext, NULL);
            H5Sselect_hyperslab(mspace, H5S_SELECT_SET, off, NULL, hc, NULL);
        } else {
            mspace = H5Screate_simple(1, &total, NULL);
        }
    } else {
        H5Sselect_none(fspace);
        mspace = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(mspace);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    digest_box(s, start, count, data, field);
    dp_status_t st = DP_OK;
    if (H5Dwrite(s->dset, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, data) < 0)
        st = dp_err_set(DP_ERR_IO, "writing '%s' failed (%s)", s->tmp, dp_h5_error());
    H5Pclose(dxpl);
    H5Sclose(mspace);
    H5Sclose(fspace);
    return dp_comm_agree(st, s->comm);
}

dp_status_t dp_sink_write(dp_sink_t *s, const int64_t start[DP_MAX_DIMS],
                          const int64_t count[DP_MAX_DIMS], const double *data)
{
    return write_box(s, start, count, data, NULL);
}

dp_status_t dp_sink_write_field(dp_sink_t *s, const dp_field_t *f)
{
    return write_box(s, f->start, f->count, f->data, f);
}

dp_status_t dp_sink_results(dp_sink_t *s, const char *group, const dp_results_t *r)
{
    int rank;
    MPI_Comm_rank(s->comm, &rank);
    dp_status_t st = DP_OK;
    for (size_t k = 0; k < r->n && st == DP_OK; k++) {
        const dp_result_t *x = &r->v[k];
        if (x->s) /* string lists belong to key-value jobs, whose table is their output */
            continue;
        char name[512];
        snprintf(name, sizeof name, "%s/%s", strcmp(group, "/") ? group : "", x->name);
        hsize_t dims[H5S_MAX_RANK] = {x->n};
        int nd = 1;
        for (int d = 0; d < x->shape.ndim; d++)
            dims[d] = (hsize_t)x->shape.n[d];
        if (x->shape.ndim > 0)
            nd = x->shape.ndim;
        for (int d = 0; d < r->array_ndim && x->shape.ndim > 0; d++)
            dims[d] = (hsize_t)r->array_n[d];
        if (x->shape.ndim > 0 && r->array_ndim > 0)
            nd = r->array_ndim;
        hid_t space = x->scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(nd, dims, NULL);
        hsize_t n = 1;
        for (int q = 0; q < nd && !x->scalar; q++)
            n *= dims[q];
        /* a scalar dataset cannot be chunked, nor an empty one filtered */
        hid_t dcpl = s->checksum && !x->scalar && n > 0 ? checksummed(nd, dims, 8) : H5P_DEFAULT;
        hid_t d =
            create_dataset_with(s, name, x->is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, space, dcpl);
        if (dcpl != H5P_DEFAULT)
            H5Pclose(dcpl);
        /* rank 0 writes the values and says their digest: the other ranks may hold none
         * (dp_results_elsewhere), and select none */
        const int64_t none = 0;
        const void *buf = x->is_int ? (const void *)x->i : (const void *)x->r;
        dp_digest_t digest = {{0, 0}};
        if (rank == 0)
            dp_digest_run(&digest, buf, 8, (int64_t)n, 0);
        MPI_Bcast(digest.lane, 2, MPI_UINT64_T, 0, s->comm);
        if (d < 0)
            st = dp_err_set(DP_ERR_IO, "cannot create dataset '%s' (%s)", name, s->why);
        st = dp_comm_agree(st, s->comm); /* the write below is collective with checksums */
        if (st == DP_OK) {
            if (rank != 0) {
                H5Sselect_none(space);
                buf = &none;
            }
            hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
            if (s->comm != MPI_COMM_SELF && s->checksum)
                H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
            /* an empty dataset has nothing to write (and a collective write of it fails) */
            if (n > 0 && H5Dwrite(d, x->is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, space, space,
                                  dxpl, buf) < 0)
                st = dp_err_set(DP_ERR_IO, "writing dataset '%s' failed (%s)", name, dp_h5_error());
            H5Pclose(dxpl);
            char text[DP_DIGEST_TEXT];
            dp_digest_text(&digest, text);
            if (!attr_string(d, "dproc_digest", text) && st == DP_OK)
                st = dp_err_set(DP_ERR_IO, "writing the digest of '%s' failed (%s)", name,
                                dp_h5_error());
        }
        if (d >= 0)
            H5Dclose(d);
        H5Sclose(space);
        st = dp_comm_agree(st, s->comm); /* every rank goes on to the next dataset, or none */
    }
    return st;
}

static int attr_string(hid_t obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, type, value) >= 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    return ok;
}

static int attr_int(hid_t obj, const char *name, long long value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &value) >= 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return ok;
}

dp_status_t dp_sink_attr_int(dp_sink_t *s, const char *name, long long value)
{
    dp_status_t st = DP_OK;
    if (!attr_int(s->file, name, value))
        st = dp_err_set(DP_ERR_IO, "writing attribute %s to '%s' failed (%s)", name, s->tmp,
                        dp_h5_error());
    return dp_comm_agree(st, s->comm);
}

dp_status_t dp_sink_attr_string(dp_sink_t *s, const char *name, const char *value)
{
    dp_status_t st = DP_OK;
    if (!attr_string(s->file, name, value))
        st = dp_err_set(DP_ERR_IO, "writing attribute %s to '%s' failed (%s)", name, s->tmp,
                        dp_h5_error());
    return dp_comm_agree(st, s->comm);
}

dp_status_t dp_sink_digest_attr(dp_sink_t *s, int64_t dset, const dp_digest_t *d)
{
    char text[DP_DIGEST_TEXT];
    dp_digest_text(d, text);
    dp_status_t st = DP_OK;
    if (!attr_string(dset, "dproc_digest", text))
        st = dp_err_set(DP_ERR_IO, "writing the digest attribute to '%s' failed (%s)", s->tmp,
                        dp_h5_error());
    return dp_comm_agree(st, s->comm);
}

dp_status_t dp_sink_commit(dp_sink_t *s, const dp_runinfo_t *info)
{
    if (s->dset >= 0) {
        dp_digest_t all;
        MPI_Allreduce(s->digest.lane, all.lane, 2, MPI_UINT64_T, MPI_SUM, s->comm);
        const dp_status_t st = dp_sink_digest_attr(s, s->dset, &all);
        H5Dclose(s->dset);
        s->dset = H5I_INVALID_HID;
        DP_CALL(st);
    }
    /* every rank makes every (collective) call, whatever failed before */
    int ok = attr_string(s->file, "dproc_version", info->version);
    ok &= attr_string(s->file, "dproc_job", info->job_text);
    ok &= attr_int(s->file, "dproc_ranks", info->ranks);
    ok &= attr_int(s->file, "dproc_threads", info->threads);
    ok &= attr_string(s->file, "dproc_start_time", info->start_time);
    ok &= attr_string(s->file, "dproc_host", info->host);
    ok &= attr_int(s->file, "dproc_complete", 1);
    dp_status_t st = ok ? DP_OK
                        : dp_err_set(DP_ERR_IO, "writing provenance attributes to '%s' failed (%s)",
                                     s->tmp, dp_h5_error());
    DP_CALL(dp_comm_agree(st, s->comm));
    herr_t closed = H5Fclose(s->file);
    s->file = H5I_INVALID_HID;
    if (closed < 0)
        st = dp_err_set(DP_ERR_IO, "closing '%s' failed (%s)", s->tmp, dp_h5_error());
    DP_CALL(dp_comm_agree(st, s->comm));
    int rank;
    MPI_Comm_rank(s->comm, &rank);
    if (rank == 0)
        st = dp_publish(s->tmp, s->final, s->overwrite);
    st = dp_comm_agree(st, s->comm);
    if (st == DP_OK)
        s->tmp[0] = '\0';
    return st;
}

void dp_sink_abort(dp_sink_t *s)
{
    if (s->dset >= 0)
        H5Dclose(s->dset);
    if (s->file >= 0)
        H5Fclose(s->file);
    s->dset = s->file = H5I_INVALID_HID;
    int rank;
    MPI_Comm_rank(s->comm, &rank);
    MPI_Barrier(s->comm);
    if (rank == 0 && s->tmp[0])
        unlink(s->tmp);
    s->tmp[0] = '\0';
}
