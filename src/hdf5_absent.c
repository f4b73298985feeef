/* What dproc-smpi, the build for SimGrid's simulator without HDF5 or libpng (cmake/smpi.cmake),
 * links where the real build reads or writes HDF5 or PNG files. The job check refuses every
 * job that would get here (src/job.c, check_simulated: simulated jobs read source = generate and
 * keep their results in the report, docs/scaling.md), so these only stand guard: each refuses
 * with a clear error, on every rank alike, and the commands explain, verify and plot say why
 * they cannot run. */
#include "checkpoint.h"
#include "explain.h"
#include "heatmap.h"
#include "kv_output.h"
#include "plot_cli.h"
#include "sink.h"
#include "snapshot.h"
#include "source.h"
#include "verify.h"

#include <stdio.h>

#define DP_NO_HDF5 "this dproc is dproc-smpi, built for the SimGrid simulator without HDF5"

static dp_status_t refuse(const char *what, const char *path)
{
    return dp_err_set(DP_ERR_USAGE, "%s '%s': " DP_NO_HDF5 "; use the real build", what,
                      path ? path : "");
}

static int refuse_command(const char *command)
{
    fprintf(stderr, "dproc: %s: " DP_NO_HDF5 "; use the real build\n", command);
    return 2;
}

void dp_h5_quiet(void) {}

int dp_explain(const char *path)
{
    (void)path;
    return refuse_command("explain");
}

int dp_verify(const char *path)
{
    (void)path;
    return refuse_command("verify");
}

int dp_plot_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return refuse_command("plot");
}

int dp_heatmap_png(const dp_heatmap_opts_t *o, char *err, size_t errsz)
{
    snprintf(err, errsz, DP_NO_HDF5 " or libpng, so it cannot draw '%s'", o->out);
    return -1;
}

static dp_status_t open_hdf5(dp_source_t *s)
{
    return refuse("[input] source = hdf5: cannot read", s->job->input.path);
}

static dp_status_t read_hdf5(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                             const int64_t count[DP_MAX_DIMS], double *out)
{
    (void)start;
    (void)count;
    (void)out;
    return open_hdf5(s);
}

static void close_hdf5(dp_source_t *s)
{
    (void)s;
}

const dp_source_ops_t dp_source_hdf5 = {.open = open_hdf5, .read = read_hdf5, .close = close_hdf5};

dp_status_t dp_sink_create(dp_sink_t *s, const char *path, int overwrite, MPI_Comm comm)
{
    *s = (dp_sink_t){.comm = comm, .file = -1, .dset = -1, .overwrite = overwrite};
    return refuse("[output] path: cannot write", path);
}

dp_status_t dp_sink_array(dp_sink_t *s, const char *dataset, const dp_shape_t *global)
{
    (void)global;
    return refuse("[output] dataset: cannot write", dataset ? dataset : s->final);
}

dp_status_t dp_sink_array_direct(dp_sink_t *s, const char *dataset, const dp_shape_t *global,
                                 dp_dtype_t dtype, int64_t *offset)
{
    (void)dtype;
    (void)offset;
    return dp_sink_array(s, dataset, global);
}

dp_status_t dp_sink_write(dp_sink_t *s, const int64_t start[DP_MAX_DIMS],
                          const int64_t count[DP_MAX_DIMS], const double *data)
{
    (void)start;
    (void)count;
    (void)data;
    return refuse("[output] path: cannot write", s->final);
}

dp_status_t dp_sink_results(dp_sink_t *s, const char *group, const dp_results_t *r)
{
    (void)r;
    return refuse("[output] path: cannot write the results", group ? group : s->final);
}

dp_status_t dp_sink_commit(dp_sink_t *s, const dp_runinfo_t *info)
{
    (void)info;
    return refuse("[output] path: cannot write", s->final);
}

void dp_sink_abort(dp_sink_t *s)
{
    (void)s;
}

dp_status_t dp_snapshots_open(dp_snapshots_t *s, const char *path, const dp_shape_t *global,
                              MPI_Comm comm)
{
    (void)global;
    (void)comm;
    *s = (dp_snapshots_t){.fields = -1, .iterations = -1};
    return refuse("[stencil] snapshot_path: cannot write", path);
}

dp_status_t dp_snapshots_append(dp_snapshots_t *s, const dp_field_t *f, int64_t iteration)
{
    (void)f;
    (void)iteration;
    return refuse("[stencil] snapshot_path: cannot write", s->sink.final);
}

dp_status_t dp_snapshots_close(dp_snapshots_t *s, const dp_runinfo_t *info)
{
    (void)info;
    return refuse("[stencil] snapshot_path: cannot write", s->sink.final);
}

void dp_snapshots_abort(dp_snapshots_t *s)
{
    (void)s;
}

dp_status_t dp_checkpoint_inspect(const char *path, dp_checkpoint_meta_t *m, MPI_Comm comm)
{
    (void)m;
    (void)comm;
    return refuse("--restart: cannot read the checkpoint", path);
}

dp_status_t dp_checkpoint_write(const char *path, const dp_field_t *f, int64_t iteration,
                                const char *signature, const dp_runinfo_t *info, MPI_Comm comm)
{
    (void)f;
    (void)iteration;
    (void)signature;
    (void)info;
    (void)comm;
    return refuse("[stencil] checkpoint_path: cannot write", path);
}

dp_status_t dp_kv_output(const dp_job_t *job, const dp_runinfo_t *info, const void *st,
                         const dp_kvt_t *owned, MPI_Comm comm, dp_kv_out_t *out)
{
    (void)info;
    (void)st;
    (void)owned;
    (void)comm;
    (void)out;
    return refuse("[output] path: cannot write the table", job->output.path);
}

void dp_kv_out_free(dp_kv_out_t *out)
{
    (void)out;
}
