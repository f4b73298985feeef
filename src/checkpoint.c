#include "checkpoint.h"

#include "comm.h"
#include "fault.h"
#include "hdf5_util.h"
#include "sink.h"

#include <hdf5.h>
#include <string.h>

dp_status_t dp_checkpoint_write(const char *path, const dp_field_t *f, int64_t iteration,
                                const char *signature, const dp_runinfo_t *info, MPI_Comm comm)
{
    dp_sink_t s;
    dp_status_t st = dp_sink_create(&s, path, 1, comm);
    if (st != DP_OK)
        return st;
    st = dp_comm_agree(dp_fault_hit(DP_FAULT_CHECKPOINT)
                           ? dp_err_set(DP_ERR_IO,
                                        "writing checkpoint '%s': injected fault "
                                        "(DPROC_FAULT)",
                                        path)
                           : DP_OK,
                       comm);
    if (st != DP_OK) {
        dp_sink_abort(&s);
        return st;
    }
    st = dp_sink_array(&s, DP_CHECKPOINT_DATASET, &f->global);
    if (st == DP_OK)
        st = dp_sink_write_field(&s, f);
    if (st == DP_OK)
        st = dp_sink_attr_int(&s, "dproc_iteration", iteration);
    if (st == DP_OK)
        st = dp_sink_attr_string(&s, "dproc_signature", signature);
    if (st == DP_OK)
        st = dp_sink_commit(&s, info);
    if (st != DP_OK)
        dp_sink_abort(&s);
    return st;
}

/* Reads a scalar attribute of obj into buf (an integer, or a string of at most size bytes). */
static int read_attr(hid_t obj, const char *name, long long *value, char *buf, size_t size)
{
    if (H5Aexists(obj, name) <= 0)
        return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    int ok;
    if (value) {
        ok = H5Aread(a, H5T_NATIVE_LLONG, value) >= 0;
    } else {
        hid_t ftype = H5Aget_type(a);
        ok = H5Tget_class(ftype) == H5T_STRING && !H5Tis_variable_str(ftype) &&
             H5Tget_size(ftype) <= size;
        if (ok) {
            hid_t mtype = H5Tcopy(ftype);
            memset(buf, 0, size);
            ok = H5Aread(a, mtype, buf) >= 0;
            H5Tclose(mtype);
        }
        H5Tclose(ftype);
    }
    H5Aclose(a);
    return ok;
}

/* Rank 0's part of dp_checkpoint_inspect. */
static dp_status_t inspect(const char *path, dp_checkpoint_meta_t *m)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return dp_err_set(DP_ERR_IO, "cannot open the checkpoint '%s' (%s)", path, dp_h5_error());
    dp_status_t st = DP_OK;
    long long complete = 0, iteration = -1;
    if (!read_attr(file, "dproc_complete", &complete, NULL, 0) || complete != 1)
        st = dp_err_set(DP_ERR_IO, "the checkpoint '%s' is incomplete (no dproc_complete)", path);
    else if (!read_attr(file, "dproc_iteration", &iteration, NULL, 0) || iteration < 0 ||
             !read_attr(file, "dproc_signature", NULL, m->signature, sizeof m->signature))
        st = dp_err_set(DP_ERR_IO, "'%s' is not a dproc checkpoint (attributes missing)", path);
    m->iteration = iteration;
    hid_t d = st == DP_OK ? H5Dopen2(file, DP_CHECKPOINT_DATASET, H5P_DEFAULT) : -1;
    if (st == DP_OK && d < 0)
        st = dp_err_set(DP_ERR_IO, "the checkpoint '%s' has no dataset '%s'", path,
                        DP_CHECKPOINT_DATASET);
    if (d >= 0) {
        hid_t space = H5Dget_space(d);
        hsize_t dims[DP_MAX_DIMS] = {1, 1, 1};
        const int nd = H5Sget_simple_extent_ndims(space);
        if (nd < 1 || nd > DP_MAX_DIMS) {
            st =
                dp_err_set(DP_ERR_IO, "the checkpoint '%s' holds a %d-dimensional field", path, nd);
        } else {
            H5Sget_simple_extent_dims(space, dims, NULL);
            m->shape.ndim = nd;
            for (int k = 0; k < DP_MAX_DIMS; k++)
                m->shape.n[k] = k < nd ? (int64_t)dims[k] : 1;
        }
        H5Sclose(space);
        H5Dclose(d);
    }
    H5Fclose(file);
    return st;
}

dp_status_t dp_checkpoint_inspect(const char *path, dp_checkpoint_meta_t *m, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    memset(m, 0, sizeof *m);
    dp_status_t st = rank == 0 ? inspect(path, m) : DP_OK;
    DP_CALL(dp_comm_agree(st, comm));
    MPI_Bcast(m, sizeof *m, MPI_BYTE, 0, comm);
    return DP_OK;
}
