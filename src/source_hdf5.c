#include "source.h"

#include "comm.h"
#include "hdf5_util.h"
#include "plan.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Parallel HDF5 input: collective hyperslab reads of each rank's box. Data are read in the
 * file's own type and converted here, since HDF5 1.10 turns a collective read that needs type
 * conversion into independent reads; only float16, which dproc has no type for, is converted
 * by HDF5 (to float32), and its reads are independent. */

typedef struct {
    hid_t file, dset, dxpl, memtype;
    dp_h5_read_t how; /* how the file's type is read (its memtype is memtype above) */
    int warned;
    int independent; /* reads are independent: parts were never written (see never_written) */
    int direct;      /* contiguous, allocated, native byte order, no conversion: readable with
                        MPI-IO */
    haddr_t offset;  /* of the data in the file, when direct */
    char why[200];   /* why not direct */
} h5src_t;

/* Whether parts of the dataset were never written (storage not allocated, or chunks missing
 * from a chunked one): 1, else 0; -1 when HDF5 cannot say. HDF5 1.10 reads such data wrongly
 * in collective mode: it fills the selection of unallocated storage without the collective
 * exchange, which a rank that selects nothing still enters (a hang), and it puts the address
 * of a missing chunk into the file view (an MPI error). Local. */
static int never_written(const dp_source_t *s, const h5src_t *h, hid_t dcpl, H5D_layout_t layout)
{
    H5D_space_status_t alloc;
    if (H5Dget_space_status(h->dset, &alloc) < 0)
        return -1;
    if (alloc == H5D_SPACE_STATUS_NOT_ALLOCATED)
        return 1;
    if (layout != H5D_CHUNKED)
        return 0;
    hsize_t chunk[H5S_MAX_RANK], have = 0, want = 1;
    if (H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk) < 0)
        return -1;
    for (int d = 0; d < s->file_ndim; d++)
        want *= ((hsize_t)s->file_n[d] + chunk[d] - 1) / chunk[d];
    hid_t space = H5Dget_space(h->dset);
    const herr_t e = space < 0 ? -1 : H5Dget_num_chunks(h->dset, space, &have);
    if (space >= 0)
        H5Sclose(space);
    return e < 0 ? -1 : have < want;
}

/* How the dataset is stored: whether its bytes can be read straight through MPI-IO, and the
 * extent of its chunks along axis 0 when it is chunked. A contiguous dataset whose bytes would
 * lie beyond the end of the file (a truncated or damaged file that HDF5 opened) is an error:
 * MPI-IO would read past the end without HDF5 noticing. Parts never written are read
 * independently (never_written); never written without a fill value is an error. */
static dp_status_t storage(dp_source_t *s, h5src_t *h)
{
    const dp_input_t *in = &s->job->input;
    hid_t dcpl = H5Dget_create_plist(h->dset);
    hid_t ftype = H5Dget_type(h->dset);
    if (dcpl < 0 || ftype < 0) {
        const dp_status_t st = dp_err_set(DP_ERR_IO,
                                          "'%s:%s': cannot read how the dataset is stored, the "
                                          "file may be damaged (%s)",
                                          in->path, in->dataset, dp_h5_error_cause());
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (ftype >= 0)
            H5Tclose(ftype);
        return st;
    }
    const H5D_layout_t layout = H5Pget_layout(dcpl);
    const int native =
        H5Tget_order(ftype) == H5Tget_order(H5T_NATIVE_INT) || H5Tget_size(ftype) == 1;
    h->offset = H5Dget_offset(h->dset);
    dp_status_t st = DP_OK;
    const int unwritten = never_written(s, h, dcpl, layout);
    h->independent = unwritten != 0;
    H5D_fill_time_t fill_time = H5D_FILL_TIME_IFSET;
    H5Pget_fill_time(dcpl, &fill_time);
    if (unwritten == 1 && fill_time == H5D_FILL_TIME_NEVER) {
        st = dp_err_set(DP_ERR_DATA,
                        "'%s:%s': parts of the dataset were never written and it has no fill "
                        "value (fill time never): their values are undefined",
                        in->path, in->dataset);
    } else if (layout == H5D_CHUNKED && s->file_ndim == H5S_MAX_RANK) {
        st = dp_err_set(DP_ERR_DATA,
                        "'%s:%s' is chunked and has %d dimensions; HDF5 1.10 cannot read part of "
                        "such a dataset (dproc reads chunked datasets of up to %d dimensions)",
                        in->path, in->dataset, H5S_MAX_RANK, H5S_MAX_RANK - 1);
    } else if (dp_shape_elements(&s->shape) == 0) {
        snprintf(h->why, sizeof h->why, "the dataset is empty: there is nothing to read");
    } else if (layout == H5D_CHUNKED) {
        hsize_t chunk[H5S_MAX_RANK];
        H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
        s->chunk0 = (int64_t)chunk[0];
        dp_source_fold(s); /* for chunk_rows */
        snprintf(h->why, sizeof h->why,
                 "the dataset is chunked%s: read through HDF5, chunk rows by chunk rows, "
                 "without overlap",
                 H5Pget_nfilters(dcpl) > 0 ? " and filtered (compressed)" : "");
    } else if (layout != H5D_CONTIGUOUS || H5Pget_external_count(dcpl) > 0) {
        snprintf(h->why, sizeof h->why, "the dataset is %s: read through HDF5 without overlap",
                 layout == H5D_COMPACT ? "compact" : "stored outside the file");
    } else if (h->offset == HADDR_UNDEF) {
        snprintf(h->why, sizeof h->why,
                 "the dataset's storage is not allocated: read through HDF5");
    } else if (!native) {
        snprintf(h->why, sizeof h->why,
                 "the dataset's byte order is not this machine's: read through HDF5, which "
                 "converts it, without overlap");
    } else if (h->how.converts) {
        snprintf(h->why, sizeof h->why,
                 "the dataset's %s values are converted to %s: read through HDF5, which converts "
                 "them, without overlap",
                 h->how.file_type, dp_dtype_name(s->dtype));
    } else {
        hsize_t file_size = 0;
        const uint64_t bytes = (uint64_t)dp_shape_elements(&s->shape) * H5Tget_size(ftype);
        if (H5Fget_filesize(h->file, &file_size) < 0 || h->offset > file_size ||
            bytes > file_size - h->offset)
            st = dp_err_set(DP_ERR_IO,
                            "'%s:%s': the dataset's %llu bytes at offset %llu lie beyond the end "
                            "of the file (%llu bytes): the file is truncated or damaged",
                            in->path, in->dataset, (unsigned long long)bytes,
                            (unsigned long long)h->offset, (unsigned long long)file_size);
        h->direct = 1;
    }
    if (h->independent && dp_shape_elements(&s->shape) > 0) {
        const size_t used = strlen(h->why);
        snprintf(h->why + used, sizeof h->why - used,
                 "; parts never written (fill values): read independently");
    }
    H5Tclose(ftype);
    H5Pclose(dcpl);
    return st;
}

/* The failure of H5Fopen on path, in words: an empty file, a file without the HDF5 signature,
 * or HDF5's own reason (a truncated or damaged file). Call it right after H5Fopen failed, while
 * HDF5's error stack still holds the reason. Local. */
static dp_status_t open_failure(const dp_input_t *in)
{
    char cause[600];
    snprintf(cause, sizeof cause, "%s", dp_h5_error_cause());
    struct stat sb;
    if (stat(in->path, &sb) == 0 && sb.st_size == 0)
        return dp_err_set(DP_ERR_IO,
                          "cannot read '%s' from '%s': the file is empty (0 bytes), not an HDF5 "
                          "file",
                          in->dataset, in->path);
    if (H5Fis_hdf5(in->path) == 0)
        return dp_err_set(DP_ERR_IO,
                          "cannot read '%s' from '%s': not an HDF5 file (no HDF5 signature in it)",
                          in->dataset, in->path);
    if (strstr(cause, "truncated file"))
        return dp_err_set(DP_ERR_IO,
                          "cannot read '%s' from '%s': the HDF5 file is truncated, shorter than "
                          "its superblock says (%s)",
                          in->dataset, in->path, cause);
    return dp_err_set(DP_ERR_IO,
                      "cannot read '%s' from '%s': the HDF5 file is damaged or truncated, HDF5 "
                      "cannot open it (%s)",
                      in->dataset, in->path, cause);
}

/* Why in->dataset cannot be found in the open file, component by component: a missing link, a
 * component before the last that is not a group, or an HDF5 error (a damaged file). Call it when
 * H5Lexists of the whole path did not say yes. Local. */
static dp_status_t missing_dataset(const h5src_t *h, const dp_input_t *in)
{
    const char *path = in->dataset;
    const size_t len = strlen(path);
    char prefix[DP_ERR_MSG_MAX];
    for (size_t i = 1; i <= len && i < sizeof prefix; i++) {
        if (i < len && (path[i] != '/' || path[i - 1] == '/'))
            continue;
        snprintf(prefix, sizeof prefix, "%.*s", (int)i, path);
        const htri_t exists = H5Lexists(h->file, prefix, H5P_DEFAULT);
        if (exists < 0)
            return dp_err_set(DP_ERR_IO,
                              "'%s:%s': cannot look up '%s', the file may be damaged (%s)",
                              in->path, in->dataset, prefix, dp_h5_error_cause());
        if (exists == 0 && i == len)
            return dp_err_set(DP_ERR_DATA, "'%s' has no dataset '%s'", in->path, in->dataset);
        if (exists == 0)
            return dp_err_set(DP_ERR_DATA, "'%s' has no dataset '%s': there is no '%s'", in->path,
                              in->dataset, prefix);
        H5O_info_t info;
        if (i < len && H5Oget_info_by_name(h->file, prefix, &info, H5P_DEFAULT) >= 0 &&
            info.type != H5O_TYPE_GROUP)
            return dp_err_set(DP_ERR_DATA, "'%s' has no dataset '%s': '%s' is not a group",
                              in->path, in->dataset, prefix);
    }
    return dp_err_set(DP_ERR_DATA, "'%s' has no dataset '%s' (%s)", in->path, in->dataset,
                      dp_h5_error_cause());
}

/* Opens in->dataset of the open file, with a message saying why not: no such path, a group or
 * a named datatype, a link to nothing, or a dataset HDF5 cannot open (a damaged header).
 * Local. */
static dp_status_t open_dataset(h5src_t *h, const dp_input_t *in)
{
    if (H5Lexists(h->file, in->dataset, H5P_DEFAULT) <= 0 && strcmp(in->dataset, "/") != 0)
        return missing_dataset(h, in);
    const htri_t exists = H5Oexists_by_name(h->file, in->dataset, H5P_DEFAULT);
    if (exists == 0)
        return dp_err_set(DP_ERR_DATA,
                          "'%s': '%s' is a link to an object that does not exist, not a dataset",
                          in->path, in->dataset);
    H5O_info_t info;
    if (exists < 0 || H5Oget_info_by_name(h->file, in->dataset, &info, H5P_DEFAULT) < 0)
        return dp_err_set(DP_ERR_IO,
                          "'%s:%s': cannot read the dataset's object header, the file is "
                          "damaged (%s)",
                          in->path, in->dataset, dp_h5_error_cause());
    if (info.type != H5O_TYPE_DATASET)
        return dp_err_set(DP_ERR_DATA, "'%s': '%s' is %s, not a dataset", in->path, in->dataset,
                          info.type == H5O_TYPE_GROUP            ? "a group"
                          : info.type == H5O_TYPE_NAMED_DATATYPE ? "a named datatype"
                                                                 : "an unknown kind of object");
    h->dset = H5Dopen2(h->file, in->dataset, H5P_DEFAULT);
    if (h->dset < 0)
        return dp_err_set(DP_ERR_IO, "'%s:%s': cannot open the dataset, the file is damaged (%s)",
                          in->path, in->dataset, dp_h5_error_cause());
    return DP_OK;
}

/* The extents of the dataset, checked: their product (those that are not 0) in bytes of
 * float64 fits 64-bit counts (an extent may be 0: an empty array); the array is seen as
 * dp_source_fold says. Local. */
static dp_status_t read_shape(dp_source_t *s, h5src_t *h)
{
    const dp_input_t *in = &s->job->input;
    hid_t space = H5Dget_space(h->dset);
    if (space < 0)
        return dp_err_set(DP_ERR_IO,
                          "'%s:%s': cannot read the dataset's shape, the file may be damaged (%s)",
                          in->path, in->dataset, dp_h5_error_cause());
    const H5S_class_t cls = H5Sget_simple_extent_type(space);
    const int nd = H5Sget_simple_extent_ndims(space);
    hsize_t dims[H5S_MAX_RANK];
    if (nd > 0)
        H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    if (cls == H5S_NULL)
        return dp_err_set(DP_ERR_DATA, "'%s:%s' is empty (a null dataspace: no values)", in->path,
                          in->dataset);
    if (nd < 0 || nd > DP_FILE_MAX_DIMS)
        return dp_err_set(DP_ERR_IO, "'%s:%s': cannot read the dataset's shape (%d dimensions)",
                          in->path, in->dataset, nd);
    int64_t total = 8; /* bytes of the values in memory, over the extents that are not 0 */
    for (int d = 0; d < nd; d++) {
        if (dims[d] > INT64_MAX ||
            (dims[d] > 0 && __builtin_mul_overflow(total, (int64_t)dims[d], &total)))
            return dp_err_set(DP_ERR_DATA,
                              "'%s:%s': its extents are too large: their product overflows "
                              "64-bit byte counts",
                              in->path, in->dataset);
        s->file_n[d] = (int64_t)dims[d];
    }
    s->file_ndim = nd;
    dp_source_fold(s);
    return DP_OK;
}

/* The dataset's shape in words: "2x3x4x5 (seen as 6x4x5)", "scalar (seen as 1 value)" or
 * "400x300". Local. */
static void file_shape_str(const dp_source_t *s, char *buf, size_t size)
{
    char seen[96];
    size_t j = 0;
    buf[0] = '\0';
    if (s->file_ndim == 0) {
        snprintf(buf, size, "scalar");
        return;
    }
    for (int d = 0; d < s->file_ndim && j < size; d++)
        j += (size_t)snprintf(buf + j, size - j, d ? "x%lld" : "%lld", (long long)s->file_n[d]);
    if (dp_source_folded(s) && j < size)
        snprintf(buf + j, size - j, " (seen as %s)", dp_shape_str(&s->shape, seen, sizeof seen));
}

/* The blocks that cover the values [a, b) of m axes of extents n[], in their row-major order:
 * whole steps of the outermost axis where the range allows, else of the next one, and so on;
 * at most 2m - 1 blocks, each a start and count per axis. Returns how many. Local. */
static int run_blocks(const int64_t *n, int m, int64_t a, int64_t b, hsize_t hs[][DP_FILE_MAX_DIMS],
                      hsize_t hc[][DP_FILE_MAX_DIMS])
{
    int64_t stride[DP_FILE_MAX_DIMS]; /* values per step along axis j */
    stride[m - 1] = 1;
    for (int j = m - 2; j >= 0; j--)
        stride[j] = stride[j + 1] * n[j + 1];
    int blocks = 0;
    while (a < b) {
        int j = 0; /* the outermost axis along which whole steps start at a and fit */
        while (j < m - 1 && (a % stride[j] != 0 || a + stride[j] > b))
            j++;
        const int64_t at = a / stride[j] % n[j];
        int64_t k = (b - a) / stride[j];
        if (k > n[j] - at)
            k = n[j] - at;
        for (int d = 0; d < m; d++) {
            hs[blocks][d] = d < j ? (hsize_t)(a / stride[d] % n[d]) : d == j ? (hsize_t)at : 0;
            hc[blocks][d] = d < j ? 1 : d == j ? (hsize_t)k : (hsize_t)n[d];
        }
        blocks++;
        a += k * stride[j];
    }
    return blocks;
}

/* Selects in fspace the values of the box (start, count) of the folded array (more than
 * DP_MAX_DIMS dimensions): along each axis of the box, its range runs over the file's axes
 * merged into that axis, which a union of blocks covers (run_blocks); the selection is the
 * union of every combination of one block per axis. HDF5 reads a selection in the file's
 * row-major order, which is the order of the box. Local. */
static void select_folded(const dp_source_t *s, hid_t fspace, const int64_t start[DP_MAX_DIMS],
                          const int64_t count[DP_MAX_DIMS])
{
    enum { MAX_BLOCKS = 2 * DP_FILE_MAX_DIMS };
    hsize_t bs[DP_MAX_DIMS][MAX_BLOCKS][DP_FILE_MAX_DIMS],
        bc[DP_MAX_DIMS][MAX_BLOCKS][DP_FILE_MAX_DIMS];
    int nb[DP_MAX_DIMS] = {1, 1, 1};
    const int m = s->shape.ndim;
    for (int d = 0; d < m; d++)
        nb[d] = run_blocks(s->file_n + s->fold[d], s->fold[d + 1] - s->fold[d], start[d],
                           start[d] + count[d], bs[d], bc[d]);
    hsize_t hs[DP_FILE_MAX_DIMS], hc[DP_FILE_MAX_DIMS];
    H5S_seloper_t op = H5S_SELECT_SET;
    for (int i0 = 0; i0 < nb[0]; i0++)
        for (int i1 = 0; i1 < nb[1]; i1++)
            for (int i2 = 0; i2 < nb[2]; i2++) {
                const int pick[DP_MAX_DIMS] = {i0, i1, i2};
                for (int d = 0; d < m; d++)
                    for (int j = s->fold[d]; j < s->fold[d + 1]; j++) {
                        hs[j] = bs[d][pick[d]][j - s->fold[d]];
                        hc[j] = bc[d][pick[d]][j - s->fold[d]];
                    }
                H5Sselect_hyperslab(fspace, op, hs, NULL, hc, NULL);
                op = H5S_SELECT_OR;
            }
}

static dp_status_t h5_open(dp_source_t *s)
{
    const dp_input_t *in = &s->job->input;
    DP_CALL(dp_source_check_readable(in->path, s->comm));
    h5src_t *h = dp_xcalloc(1, sizeof *h);
    h->file = h->dset = h->dxpl = h->memtype = H5I_INVALID_HID;
    s->impl = h;

    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, s->comm, MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    h->file = H5Fopen(in->path, H5F_ACC_RDONLY, fapl);
    dp_status_t st = DP_OK;
    if (h->file < 0) /* before another HDF5 call clears the error stack */
        st = open_failure(in);
    H5Pclose(fapl);
    DP_CALL(dp_comm_agree(st, s->comm));

    st = open_dataset(h, in);
    DP_CALL(dp_comm_agree(st, s->comm));

    st = read_shape(s, h);
    if (st == DP_OK) {
        hid_t ftype = H5Dget_type(h->dset);
        st = ftype < 0 ? dp_err_set(DP_ERR_IO,
                                    "'%s:%s': cannot read the element type, the file may be "
                                    "damaged (%s)",
                                    in->path, in->dataset, dp_h5_error_cause())
                       : dp_h5_dtype(ftype, &s->dtype, &h->how);
        if (st == DP_OK)
            h->memtype = h->how.memtype;
        if (st != DP_OK && ftype >= 0) {
            char why[DP_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", dp_err_msg());
            dp_err_set(DP_ERR_DATA, "'%s:%s': %s", in->path, in->dataset, why);
        }
        if (ftype >= 0)
            H5Tclose(ftype);
    }
    if (st == DP_OK)
        st = storage(s, h);
    /* one transfer mode on every rank: a rank reading collectively would wait for the others */
    MPI_Allreduce(MPI_IN_PLACE, &h->independent, 1, MPI_INT, MPI_LOR, s->comm);
    if (st == DP_OK) {
        h->dxpl = H5Pcreate(H5P_DATASET_XFER);
        H5Pset_dxpl_mpio(h->dxpl, h->independent ? H5FD_MPIO_INDEPENDENT : H5FD_MPIO_COLLECTIVE);
        char shape[160], type[48];
        file_shape_str(s, shape, sizeof shape);
        if (h->how.file_type)
            snprintf(type, sizeof type, "%s read as %s", h->how.file_type, dp_dtype_name(s->dtype));
        else
            snprintf(type, sizeof type, "%s", dp_dtype_name(s->dtype));
        snprintf(s->describe, sizeof s->describe, "HDF5 %s:%s (%s %s)", in->path, in->dataset, type,
                 shape);
    }
    return dp_comm_agree(st, s->comm);
}

static dp_status_t h5_read(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                           const int64_t count[DP_MAX_DIMS], double *out)
{
    h5src_t *h = s->impl;
    const int nd = s->shape.ndim;
    const int64_t n = count[0] * count[1] * count[2];
    const int esize = dp_dtype_size(s->dtype);
    void *buf = out;
    dp_status_t st = DP_OK;
    if (n > 0 && s->dtype != DP_DT_FLOAT64)
        st = dp_source_scratch(s, (size_t)(n * esize), &buf);
    DP_CALL(dp_comm_agree(st, s->comm));

    hid_t fspace = H5Dget_space(h->dset);
    hsize_t one = 1;
    hid_t mspace;
    if (n > 0 && s->file_ndim == 0) {
        H5Sselect_all(fspace);
    } else if (n > 0 && dp_source_folded(s)) {
        select_folded(s, fspace, start, count);
    } else if (n > 0) {
        hsize_t hs[DP_MAX_DIMS], hc[DP_MAX_DIMS];
        for (int d = 0; d < nd; d++) {
            hs[d] = (hsize_t)start[d];
            hc[d] = (hsize_t)count[d];
        }
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, hs, NULL, hc, NULL);
    } else {
        H5Sselect_none(fspace);
    }
    if (n > 0) {
        hsize_t total = (hsize_t)n;
        mspace = H5Screate_simple(1, &total, NULL);
    } else {
        mspace = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(mspace);
    }
    if (H5Dread(h->dset, h->memtype, mspace, fspace, h->dxpl, buf) < 0)
        st = dp_err_set(DP_ERR_IO, "reading '%s:%s' failed, the file may be damaged (%s)",
                        s->job->input.path, s->job->input.dataset, dp_h5_error_cause());
    H5Sclose(mspace);
    H5Sclose(fspace);
    if (st == DP_OK && !h->warned) {
        H5D_mpio_actual_io_mode_t mode;
        H5Pget_mpio_actual_io_mode(h->dxpl, &mode);
        if (mode == H5D_MPIO_NO_COLLECTIVE && n > 0 && !h->independent) {
            uint32_t local = 0, global = 0;
            H5Pget_mpio_no_collective_cause(h->dxpl, &local, &global);
            const size_t used = strlen(s->note);
            snprintf(s->note + used, sizeof s->note - used,
                     "%sHDF5 read of %s was independent, not collective (cause flags 0x%x)",
                     used ? "; " : "", s->job->input.dataset, (unsigned)(local | global));
            h->warned = 1;
        }
    }
    if (st == DP_OK && n > 0) {
        if (s->dtype != DP_DT_FLOAT64)
            dp_convert_to_f64(s->dtype, buf, out, n);
        s->bytes_read += n * (int64_t)h->how.file_esize;
    }
    return dp_comm_agree(st, s->comm);
}

static void h5_close(dp_source_t *s)
{
    h5src_t *h = s->impl;
    if (!h)
        return;
    if (h->dxpl >= 0)
        H5Pclose(h->dxpl);
    if (h->memtype >= 0)
        H5Tclose(h->memtype);
    if (h->dset >= 0)
        H5Dclose(h->dset);
    if (h->file >= 0)
        H5Fclose(h->file);
    free(h);
    s->impl = NULL;
}

static int h5_direct(const dp_source_t *s, const char **path, int64_t *offset, char *why,
                     size_t size)
{
    const h5src_t *h = s->impl;
    *path = s->job->input.path;
    *offset = (int64_t)h->offset;
    snprintf(why, size, "%s", h->why);
    return h->direct;
}

const dp_source_ops_t dp_source_hdf5 = {
    .open = h5_open, .read = h5_read, .direct = h5_direct, .close = h5_close};
