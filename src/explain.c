#include "explain.h"

#include "h5_attr.h"
#include "hdf5_util.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static herr_t list_dataset(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    (void)data;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0)
        return 0;
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[H5S_MAX_RANK];
    const int nd = H5Sget_simple_extent_dims(s, dims, NULL);
    printf("  /%s  ", name);
    for (int i = 0; i < nd; i++)
        printf(i ? " x %llu" : "%llu", (unsigned long long)dims[i]);
    printf("%s %s, %zu-byte elements\n", nd == 0 ? "scalar" : "",
           H5Tget_class(t) == H5T_FLOAT      ? "float"
           : H5Tget_class(t) == H5T_INTEGER  ? "integer"
           : H5Tget_class(t) == H5T_COMPOUND ? "compound"
                                             : "other",
           H5Tget_size(t));
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return 0;
}

int dp_explain(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "dproc: explain: cannot open '%s' as HDF5 (%s)\n", path, dp_h5_error());
        return 1;
    }
    char *job = dp_h5_string_attr(f, "dproc_job"), *version = dp_h5_string_attr(f, "dproc_version");
    char *host = dp_h5_string_attr(f, "dproc_host"),
         *start = dp_h5_string_attr(f, "dproc_start_time");
    const long long ranks = dp_h5_int_attr(f, "dproc_ranks"),
                    threads = dp_h5_int_attr(f, "dproc_threads");
    const long long complete = dp_h5_int_attr(f, "dproc_complete");
    int status = 0;
    if (!job) {
        fprintf(stderr, "dproc: explain: '%s' was not written by dproc (no dproc_job attribute)\n",
                path);
        status = 1;
    } else {
        printf("%s: written by dproc %s on %s, started %s, %lld rank%s x %lld thread%s, %s\n", path,
               version ? version : "?", host ? host : "?", start ? start : "?", ranks,
               ranks == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
               complete == 1 ? "complete" : "INCOMPLETE (no dproc_complete = 1)");
        printf("datasets:\n");
        H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, list_dataset, NULL);
        printf("to repeat it: save the job below as JOB.ini and run\n"
               "  OMP_NUM_THREADS=%lld mpirun -np %lld dproc JOB.ini\n"
               "(any rank and thread count gives the same bits where the kernel's docs say "
               "so)\n-----\n%s%s-----\n",
               threads, ranks, job, job[0] && job[strlen(job) - 1] == '\n' ? "" : "\n");
        status = complete == 1 ? 0 : 1;
    }
    free(job);
    free(version);
    free(host);
    free(start);
    H5Fclose(f);
    return status;
}
