#include "driver.h"

#include "axis_gather.h"
#include "checkpoint.h"
#include "comm.h"
#include "digest.h"
#include "dp_version.h"
#include "fault.h"
#include "heatmap.h"
#include "iterate.h"
#include "kernel.h"
#include "kv_driver.h"
#include "opts.h"
#include "plan.h"
#include "progress.h"
#include "report.h"
#include "results.h"
#include "rounding.h"
#include "sink.h"
#include "source.h"
#include "stream.h"
#include "stream_write.h"
#include "trace.h"
#include "work.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const dp_job_t *job;
    const dp_driver_opts_t *opts;
    MPI_Comm comm;
    MPI_Comm cart; /* the process grid of the plan, rank numbers unchanged */
    int rank, nranks;
    dp_runinfo_t info;
    dp_source_t src;
    dp_plan_t plan;
    int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS];
    int64_t piece_rows, npieces, mem; /* npieces: the most of any rank */
    double *buf;                      /* the whole block, when it stays in memory */
    int whole;
    void *state;            /* the kernel's */
    const dp_kernel_t *red; /* the reduction: the kernel, or a map kernel's then_reduce */
    void *red_state;
    void *partial;
    int own; /* along an axis, each rank keeps the outputs of its block (dp_reduce_keep) */
    dp_stream_t stream;
    int stream_open;
    dp_writer_t writer; /* a map kernel's output */
    int writer_open;
    dp_sink_t sink;
    int sink_open;
    double rss_base; /* MiB resident before the run's buffers */
    int64_t work0;   /* the kernels' work counted before this run (dproc selftest runs several) */
    dp_results_t results;
    int64_t reduced_n[DP_FILE_MAX_DIMS]; /* extents of results along an axis (results.array_n) */
    char digest[DP_DIGEST_TEXT];         /* of the final field, when no output file carries it */
    double t[DP_NPHASES];
    dp_job_t restart_job; /* the job reading its checkpoint instead of its input */
    dp_checkpoint_meta_t ckpt;
} run_t;

static void runinfo(run_t *r)
{
    r->info.version = DP_VERSION;
    r->info.job_text = r->job->text;
    r->info.ranks = r->nranks;
    r->info.threads = omp_get_max_threads();
    if (r->rank == 0) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(r->info.start_time, sizeof r->info.start_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (gethostname(r->info.host, sizeof r->info.host) != 0)
            snprintf(r->info.host, sizeof r->info.host, "unknown");
        r->info.host[sizeof r->info.host - 1] = '\0';
    }
    MPI_Bcast(&r->info.threads, 1, MPI_INT, 0, r->comm); /* rank 0's, the same on all */
    dp_placement_gather(&r->info.place, r->info.threads, r->comm);
    if (r->rank == 0 && r->info.place.warning[0])
        fprintf(stderr, "dproc: warning: %s\n", r->info.place.warning);
    MPI_Bcast(r->info.start_time, sizeof r->info.start_time, MPI_CHAR, 0, r->comm);
    MPI_Bcast(r->info.host, sizeof r->info.host, MPI_CHAR, 0, r->comm);
}

/* Whether the built-in reduce reduces along axis 0 of the data as read: each piece then gives
 * every output a run of only as many values as it has rows. Local. */
static int along_rows(const run_t *r)
{
    const dp_job_t *job = r->job;
    return job->kernel == &dp_kernel_reduce && dp_reduce_axis(job->kcfg) >= 0 &&
           dp_source_seen_axis(&r->src, dp_reduce_axis(job->kcfg)) == 0;
}

/* Rows per piece that a reduction along axis 0 asks for: each output takes its values in runs
 * of this many (runs of one value cost over 100 times as much per value). */
enum { ALONG_ROWS_RUN = 256 };

/* What a reduction keeps beside the data, on rank 0 (whose block is the largest): its partial
 * results (exact accumulators, histogram counts), twice while they are combined over ranks; with
 * outputs kept by rank, the finished values of all outputs, which rank 0 holds once they are
 * gathered. Local. */
static int64_t reduction_memory(const run_t *r)
{
    if (!r->red)
        return 0;
    const int64_t partial = (int64_t)r->red->partial_size(r->red_state);
    if (!r->own)
        return r->plan.nranks > 1 ? 2 * partial : partial;
    const dp_shape_t *g = &r->plan.global;
    const int seen = dp_source_seen_axis(&r->src, dp_reduce_axis(r->job->kcfg));
    int64_t outputs = 1;
    for (int d = 0; d < g->ndim; d++)
        if (d != seen)
            outputs *= g->n[d];
    return partial + outputs * (int64_t)sizeof(dp_reduce_value_t);
}

/* How the block is read: in pieces within [run] chunk_mb and memory_mb, kept whole when a
 * reduction needs more passes and it fits (a stencil always keeps it). A reduction along axis 0
 * reads pieces of up to ALONG_ROWS_RUN rows beyond chunk_mb, as long as their buffers take no
 * more memory than its exact accumulators (rank 0's), and memory_mb allows. Collective. */
static dp_status_t budget(run_t *r)
{
    const dp_job_t *job = r->job;
    const dp_kernel_t *k = job->kernel;
    const int stencil = k->kind == DP_KERNEL_STENCIL;
    const char *path;
    int64_t offset;
    char why[200];
    const int direct = dp_source_direct(&r->src, &path, &offset, why, sizeof why);
    dp_budget_in_t in = {
        .memory = stencil ? 0 : job->run.memory_mb << 20,
        .chunk = job->run.chunk_mb << 20,
        .in_size = dp_dtype_size(r->src.dtype),
        .convert = r->src.dtype != DP_DT_FLOAT64,
        .slots = direct ? (job->run.overlap ? (int)job->run.prefetch + 1 : 1) : 0,
        .out_size = k->kind == DP_KERNEL_MAP
                        ? dp_dtype_size(k->out_dtype ? k->out_dtype(job->kcfg) : DP_DT_FLOAT64)
                        : 0,
        .multi_pass = stencil || (r->red && r->red->multi_pass &&
                                  r->red->multi_pass(r->red == k ? job->kcfg : job->then_cfg)),
        .align = r->src.chunk_rows,
    };
    int64_t start0[DP_MAX_DIMS], count0[DP_MAX_DIMS]; /* rank 0's block is the largest */
    dp_plan_block(&r->plan, 0, start0, count0);
    const int64_t row = count0[1] * count0[2];
    if (along_rows(r) && row > 0) {
        /* buffers per value of a piece: the reads in flight, or the source's, and a float64 copy
         * when converted; all of them at most the accumulators' bytes */
        const int64_t per_value = (in.slots > 0 ? in.slots : 1) * in.in_size + (in.convert ? 8 : 0);
        /* rank 0's accumulators: its block is the largest, and every rank must read as many
         * pieces (reads through the source are collective) */
        int64_t acc = (int64_t)r->red->partial_size(r->red_state);
        if (r->own)
            MPI_Bcast(&acc, 1, MPI_INT64_T, 0, r->comm);
        const int64_t fit = acc / (row * per_value);
        int64_t rows = count0[0] < ALONG_ROWS_RUN ? count0[0] : ALONG_ROWS_RUN;
        rows = rows < fit ? rows : fit;
        if (rows * row * in.in_size > in.chunk)
            in.chunk = rows * row * in.in_size;
    }
    dp_budget_t b;
    dp_status_t st = dp_plan_budget(count0, &in, &b);
    if (st == DP_ERR_USAGE) {
        char msg[DP_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", dp_err_msg());
        return dp_job_usage_error(job, "run", "memory_mb", msg);
    }
    r->piece_rows = b.piece_rows;
    r->whole = b.whole;
    r->mem = b.bytes + reduction_memory(r);
    r->npieces = count0[1] * count0[2] > 0 ? (count0[0] + b.piece_rows - 1) / b.piece_rows : 0;
    if (stencil) {
        /* two fields with ghosts replace the block once it is read */
        const int64_t fields = dp_iterate_memory(job, r->state, &r->plan);
        r->mem = b.bytes > fields ? b.bytes : fields;
        if (job->run.memory_mb > 0 && r->mem > job->run.memory_mb << 20) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "is too small for this stencil: each rank keeps two copies of its block with "
                     "ghost points, %.1f MiB; raise it or use more ranks",
                     (double)r->mem / (1 << 20));
            return dp_job_usage_error(job, "run", "memory_mb", msg);
        }
    }
    return DP_OK;
}

/* Data seen folded (a scalar, or more than DP_MAX_DIMS dimensions) and empty data are read by
 * the built-in reduce only: other kernels (plugins' REDUCE kernels too) would see axes or values
 * that are not the file's. Along an axis of folded data, the file's other axes are merged around
 * it (dp_source_open's keep) and the results written with the file's extents but that axis.
 * Local; the same answer on every rank. */
static dp_status_t check_shape(run_t *r)
{
    const dp_job_t *job = r->job;
    const dp_source_t *s = &r->src;
    const int reduce = job->kernel == &dp_kernel_reduce;
    const char *path = s->job->input.path, *dset = s->job->input.dataset;
    for (int d = 0; d < s->file_ndim && !reduce; d++)
        if (s->file_n[d] == 0)
            return dp_err_set(DP_ERR_DATA,
                              "'%s:%s' is empty (extent 0 along axis %d); kernel %s needs "
                              "values (kernel reduce reads an empty array)",
                              path, dset, d, job->kernel->name);
    if (!dp_source_folded(s))
        return DP_OK;
    char dims[64];
    if (s->file_ndim == 0)
        snprintf(dims, sizeof dims, "is a scalar (0 dimensions)");
    else
        snprintf(dims, sizeof dims, "has %d dimensions", s->file_ndim);
    if (!reduce)
        return dp_err_set(DP_ERR_DATA,
                          "'%s:%s' %s; kernel %s reads arrays of 1 to %d dimensions (kernel "
                          "reduce reads any number)",
                          path, dset, dims, job->kernel->name, DP_MAX_DIMS);
    const int axis = dp_reduce_axis(job->kcfg);
    char why[DP_ERR_MSG_MAX];
    if (axis >= 0 && s->file_ndim == 0) {
        snprintf(why, sizeof why,
                 "'%s:%s' %s: it has no axis to reduce along (without axis, it is reduced as one "
                 "value)",
                 path, dset, dims);
        return dp_job_usage_error(job, job->kernel->name, "axis", why);
    }
    if (axis >= s->file_ndim) {
        snprintf(why, sizeof why, "axis %d, but '%s:%s' has %d dimensions (axes 0 to %d)", axis,
                 path, dset, s->file_ndim, s->file_ndim - 1);
        return dp_job_usage_error(job, job->kernel->name, "axis", why);
    }
    if (axis >= 0) { /* the file's other axes merged around axis: results without it */
        dp_reduce_see_axis(job->kcfg, dp_source_seen_axis(s, axis));
        r->results.array_ndim = s->file_ndim - 1;
        r->results.array_n = r->reduced_n;
        for (int d = 0, j = 0; d < s->file_ndim; d++)
            if (d != axis)
                r->reduced_n[j++] = s->file_n[d];
    }
    return DP_OK;
}

/* How data seen folded are read, for a message: " (a scalar is read as one value)",
 * " (the 4-D dataset is read as 3x120, its axes merged around axis 0)". Local. */
static void folded_text(const dp_source_t *s, int axis, char *buf, size_t size)
{
    char seen[96];
    dp_shape_str(&s->shape, seen, sizeof seen);
    if (s->file_ndim == 0)
        snprintf(buf, size, " (a scalar is read as one value)");
    else if (axis >= 0)
        snprintf(buf, size, " (the %d-D dataset is read as %s, its axes merged around axis %d)",
                 s->file_ndim, seen, axis);
    else
        snprintf(buf, size, " (the %d-D dataset is read as %s, its leading axes merged)",
                 s->file_ndim, seen);
}

/* Keeping all outputs costs each rank about OWN_COST_RATIO times as much per output (their
 * exact accumulators set up, combined over ranks and broadcast) as keeping its own costs per
 * run of contiguous values it then reads (a column band of a table reduced along axis 0 is one
 * run per row): 17-34 us per output against 4-5 us per run, measured on 2 ranks of the Zen 5
 * VM (docs/reduce.md). */
enum { OWN_COST_RATIO = 5 };

/* Whether, along axis whole of the data as read, the ranks should keep the outputs of their own
 * blocks where they may keep either: on several ranks, when the grid that keeps the axis whole
 * is as balanced as the one that may cut it (its largest block at most 1% larger) and the runs
 * each rank then reads are fewer than OWN_COST_RATIO per output. Local; the same answer on
 * every rank. */
static int own_pays(const run_t *r, int whole)
{
    const dp_shape_t *g = &r->src.shape;
    dp_plan_t p, cut;
    if (r->nranks == 1 ||
        dp_plan_make(&p, g, r->nranks, r->job->run.decomposition, 0, whole) != DP_OK ||
        dp_plan_make(&cut, g, r->nranks, r->job->run.decomposition, 0, -1) != DP_OK)
        return 0;
    int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS], ccount[DP_MAX_DIMS];
    dp_plan_block(&p, 0, start, count);
    dp_plan_block(&cut, 0, start, ccount);
    const double largest = (double)count[0] * (double)count[1] * (double)count[2];
    if (largest > 1.01 * (double)ccount[0] * (double)ccount[1] * (double)ccount[2])
        return 0;
    int j = g->ndim - 1; /* the block's runs: the axes before j; inner axes whole merge */
    while (j > 0 && count[j] == g->n[j])
        j--;
    int64_t runs = 1, outputs = 1;
    for (int d = 0; d < j; d++)
        runs *= count[d];
    for (int d = 0; d < g->ndim; d++) /* at most dp_reduce_outputs_max() when the choice is free */
        if (d != whole)
            outputs *= g->n[d];
    return outputs * OWN_COST_RATIO > runs;
}

static dp_status_t make_plan(run_t *r)
{
    const dp_job_t *job = r->job;
    r->results.index_ndim = r->src.file_ndim;
    r->results.index_n = r->src.file_n;
    DP_CALL(dp_comm_agree(check_shape(r), r->comm));
    const int axis = job->kernel == &dp_kernel_reduce ? dp_reduce_axis(job->kcfg) : -1;
    const int keep = axis >= 0 ? dp_reduce_keep(job->kcfg, &r->src.shape) : 0;
    const int seen = axis >= 0 ? dp_source_seen_axis(&r->src, axis) : -1;
    r->own = keep == 1 || (keep < 0 && own_pays(r, seen));
    const int whole = r->own ? seen : -1;
    dp_status_t st = dp_plan_make(&r->plan, &r->src.shape, r->nranks, job->run.decomposition,
                                  job->kernel->kind == DP_KERNEL_STENCIL, whole);
    if (st == DP_ERR_USAGE) {
        char why[DP_ERR_MSG_MAX];
        size_t j = (size_t)snprintf(why, sizeof why, "%s", dp_err_msg());
        dp_plan_t any; /* the hint only when it is keeping the axis whole that fails */
        if (r->own && j < sizeof why &&
            dp_plan_make(&any, &r->src.shape, r->nranks, job->run.decomposition, 0, -1) == DP_OK)
            j += (size_t)snprintf(why + j, sizeof why - j,
                                  " (each rank keeps the outputs of its block, along all of axis "
                                  "%d: [reduce] keep = own, or auto with more outputs than one "
                                  "rank may keep)",
                                  axis);
        if (dp_source_folded(&r->src) && j < sizeof why)
            folded_text(&r->src, dp_reduce_axis(job->kcfg), why + j, sizeof why - j);
        st = dp_job_usage_error(job, "run", "decomposition", why);
    }
    if (st == DP_OK && job->kernel->check_data) {
        const char *key = NULL;
        const char *why = job->kernel->check_data(job->kcfg, &r->src.shape, &key);
        if (why)
            st = dp_job_usage_error(job, job->kernel->name, key, why);
    }
    if (st == DP_OK && job->then == &dp_kernel_reduce &&
        dp_reduce_keep(job->then_cfg, &r->src.shape) == 1) {
        const int a = dp_reduce_axis(job->then_cfg);
        char why[256];
        snprintf(why, sizeof why,
                 "reducing along axis %d leaves %lld values per op, more than one rank may keep "
                 "(%lld): a then_reduce keeps all of them on every rank, only kernel reduce "
                 "splits them over ranks",
                 a,
                 (long long)(r->src.shape.n[a]
                                 ? dp_shape_elements(&r->src.shape) / r->src.shape.n[a]
                                 : 0),
                 (long long)dp_reduce_outputs_max());
        st = dp_job_usage_error(job, job->then->name, "axis", why);
    }
    if (st == DP_OK && job->then && job->then->check_data) {
        const char *key = NULL;
        const char *why = job->then->check_data(job->then_cfg, &r->src.shape, &key);
        if (why)
            st = dp_job_usage_error(job, job->then->name, key, why);
    }
    if (st == DP_OK && job->kernel->create && !r->state)
        r->state = job->kernel->create(job->kcfg, &r->src.shape);
    if (st == DP_OK && r->own) { /* rank 0's block is the largest */
        int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], s0[DP_MAX_DIMS], c0[DP_MAX_DIMS];
        dp_plan_block(&r->plan, r->rank, s, c);
        dp_plan_block(&r->plan, 0, s0, c0);
        const char *why = dp_reduce_own_block(r->state, s, c, c0);
        if (why)
            st = dp_job_usage_error(job, job->kernel->name, "axis", why);
    }
    r->red = job->kernel->kind == DP_KERNEL_REDUCE ? job->kernel : job->then;
    if (st == DP_OK && job->then)
        r->red_state = job->then->create(job->then_cfg, &r->src.shape);
    else
        r->red_state = r->state;
    if (st == DP_OK && job->kernel->kind == DP_KERNEL_STENCIL) {
        const char *key = NULL;
        const char *why = dp_iterate_check(job, r->state, &r->plan, &key);
        if (why)
            st = dp_job_usage_error(job, job->kernel->name, key, why);
    }
    DP_CALL(dp_comm_agree(st, r->comm));
    int periods[DP_MAX_DIMS] = {0, 0, 0};
    DP_CALL(dp_comm_check(
        MPI_Cart_create(r->comm, r->plan.global.ndim, r->plan.dims, periods, 0, &r->cart),
        "creating the Cartesian communicator"));
    int coords[DP_MAX_DIMS] = {0, 0, 0};
    MPI_Cart_coords(r->cart, r->rank, r->plan.global.ndim, coords);
    dp_plan_block(&r->plan, r->rank, r->start, r->count);
    for (int d = 0; d < r->plan.global.ndim; d++)
        DP_CHECK(r->start[d] == dp_plan_start(&r->plan, d, coords[d]), DP_ERR_INTERNAL,
                 "the plan's block of rank %d disagrees with MPI_Cart_coords", r->rank);
    return budget(r);
}

static void print_plan(const run_t *r, FILE *f)
{
    const dp_job_t *job = r->job;
    static const char *const decomp[] = {"auto", "1d", "2d", "3d"};
    char grid[64] = "";
    for (int d = 0, g = 0; d < r->plan.global.ndim; d++)
        g += snprintf(grid + g, sizeof grid - (size_t)g, d ? "x%d" : "%d", r->plan.dims[d]);
    fprintf(f, "dproc %s dry run: job '%s', kernel %s\n", DP_VERSION, job->job.name,
            job->kernel->name);
    fprintf(f, "input: %s\n", r->src.describe);
    fprintf(f, "ranks %d, threads %d, grid %s (decomposition %s)\n", r->nranks, r->info.threads,
            grid, decomp[job->run.decomposition]);
    const char *path;
    int64_t offset;
    char why[200];
    const int direct = dp_source_direct(&r->src, &path, &offset, why, sizeof why);
    fprintf(f,
            "reads: up to %lld piece%s per rank of %lld rows (chunk_mb %lld%s, memory_mb %lld), "
            "%s\n",
            (long long)r->npieces, r->npieces == 1 ? "" : "s", (long long)r->piece_rows,
            (long long)job->run.chunk_mb, along_rows(r) ? ", deeper along axis 0" : "",
            (long long)job->run.memory_mb, r->whole ? "block kept in memory" : "streamed");
    if (direct)
        fprintf(f, "reads: nonblocking MPI-IO, %lld in flight while computing\n",
                job->run.overlap ? (long long)job->run.prefetch : 0LL);
    else
        fprintf(f, "reads: through the source (%s)\n", why);
    if (job->kernel == &dp_kernel_reduce && dp_reduce_axis(job->kcfg) >= 0 && !r->own)
        fprintf(f,
                "outputs: every rank keeps all of them, %.1f MiB of exact accumulators, "
                "combined over ranks\n",
                (double)r->red->partial_size(r->red_state) / (1 << 20));
    else if (r->own)
        fprintf(f,
                "outputs: each rank keeps those of its block (axis %d is not split), %.1f MiB "
                "of exact accumulators\n",
                dp_reduce_axis(job->kcfg), (double)r->red->partial_size(r->red_state) / (1 << 20));
    fprintf(f, "estimated memory per rank: %.1f MiB\n", (double)r->mem / (1 << 20));
    if (job->output.path)
        fprintf(f, "output: %s (%s)\n", job->output.path, job->output.dataset);
    fprintf(f, "%6s  %-24s %-24s %s\n", "rank", "start", "count", "elements");
    const int shown = r->opts->verbose || r->nranks <= 64 ? r->nranks : 64;
    for (int q = 0; q < shown; q++) {
        int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS];
        dp_plan_block(&r->plan, q, s, c);
        char ss[64] = "", cs[64] = "";
        for (int d = 0, a = 0, b = 0; d < r->plan.global.ndim; d++) {
            a += snprintf(ss + a, sizeof ss - (size_t)a, d ? ",%lld" : "%lld", (long long)s[d]);
            b += snprintf(cs + b, sizeof cs - (size_t)b, d ? ",%lld" : "%lld", (long long)c[d]);
        }
        fprintf(f, "%6d  %-24s %-24s %lld\n", q, ss, cs, (long long)(c[0] * c[1] * c[2]));
    }
    if (shown < r->nranks)
        fprintf(f, "   ... %d more ranks (-v lists all)\n", r->nranks - shown);
}

static dp_status_t allocate(run_t *r)
{
    if (!r->whole)
        return DP_OK;
    const int64_t n = r->count[0] * r->count[1] * r->count[2];
    dp_status_t st = DP_OK;
    const int fault = dp_fault_hit(DP_FAULT_ALLOC);
    r->buf = fault ? NULL : malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!r->buf)
        st = dp_err_set(DP_ERR_NOMEM, "cannot allocate %.2f MiB for the data block%s",
                        (double)n * 8 / (1 << 20), fault ? ": injected fault (DPROC_FAULT)" : "");
    return dp_comm_agree(st, r->comm);
}

/* Values computed between two tests of the reads and writes in flight. */
enum { POKE_VALUES = 1 << 20 };

/* Runs the kernels on piece p at data: the map (when map is set), the reduction, and the
 * write of a map's output (when write is set); in slices of whole rows, letting the reads and
 * writes in flight progress between them. */
static void compute_piece(run_t *r, int64_t p, double *data, int map, int write)
{
    const dp_kernel_t *k = r->job->kernel;
    int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
    dp_stream_box(&r->stream, p, s, c, &off);
    const int64_t row = c[1] * c[2];
    if (c[0] == 0 || row == 0)
        return;
    const double t0 = MPI_Wtime();
    const dp_dtype_t out = k->out_dtype ? k->out_dtype(r->job->kcfg) : DP_DT_FLOAT64;
    /* along axis 0 of rows of several values, a slice would cut every output's run */
    const int64_t step = along_rows(r) && row > 1 ? c[0]
                         : row >= POKE_VALUES     ? 1
                                                  : POKE_VALUES / row;
    for (int64_t i = 0; i < c[0]; i += step) {
        dp_block_t in = {.global = r->plan.global, .data = data + i * row};
        memcpy(in.start, s, sizeof in.start);
        memcpy(in.count, c, sizeof in.count);
        in.start[0] = s[0] + i;
        in.count[0] = c[0] - i < step ? c[0] - i : step;
        if (map && k->kind == DP_KERNEL_MAP) {
            k->process(r->state, &in, &in, NULL);
            dp_round_to_dtype(out, in.data, dp_block_size(&in)); /* as it will be stored */
        }
        if (r->red)
            r->red->process(r->red_state, &in, &in, r->partial);
        dp_stream_poke(&r->stream);
        if (r->writer_open)
            dp_writer_poke(&r->writer);
    }
    dp_work_add(((map && k->kind == DP_KERNEL_MAP) + !!r->red) * c[0] * row);
    dp_trace_time(&r->t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
    if (write && r->writer_open)
        dp_writer_put(&r->writer, off, data, c[0] * row);
}

/* One pass over the data: from the input (the first pass, and every pass of a block that is
 * not kept), or over the block in memory. */
static dp_status_t pass(run_t *r, int n)
{
    const int first = n == 0;
    char phase[32];
    snprintf(phase, sizeof phase, r->job->kernel->kind == DP_KERNEL_STENCIL ? "read" : "pass %d",
             n + 1);
    dp_progress_begin(phase, "pieces", 0, r->stream.npieces,
                      (double)r->piece_rows * (double)(r->count[1] * r->count[2]) *
                          (double)sizeof(double));
    if (!first && r->whole) {
        for (int64_t p = 0; p < r->npieces; p++) {
            int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
            dp_stream_box(&r->stream, p, s, c, &off);
            compute_piece(r, p, r->buf + off, 0, 0);
            dp_progress_update(p + 1 < r->stream.npieces ? p + 1 : r->stream.npieces);
        }
        dp_progress_end();
        return DP_OK;
    }
    for (int64_t p = 0; p < r->npieces; p++) {
        double *data;
        if (dp_stream_next(&r->stream, p, &data) == DP_OK && data)
            compute_piece(r, p, data, 1, first);
        dp_progress_update(p + 1 < r->stream.npieces ? p + 1 : r->stream.npieces);
    }
    dp_progress_end();
    return dp_stream_end(&r->stream);
}

static void combine_cb(const void *ctx, void *acc, const void *in)
{
    const run_t *r = ctx;
    r->red->combine(r->red_state, acc, in);
}

/* The one pass along an axis whose outputs the ranks own: each finishes those of its block
 * (computing, from t0), and all of them are gathered, in place of combining partials.
 * Collective. */
static dp_status_t gather_own(run_t *r, double t0)
{
    r->red->next_pass(r->red_state, r->partial);
    dp_trace_time(&r->t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
    const double t1 = MPI_Wtime();
    int64_t n, nan = 0;
    const dp_reduce_value_t *mine = dp_reduce_values(r->red_state, &n);
    for (int64_t o = 0; o < n; o++)
        nan += mine[o].nan;
    DP_CALL(dp_comm_check(MPI_Allreduce(MPI_IN_PLACE, &nan, 1, MPI_INT64_T, MPI_SUM, r->cart),
                          "adding the NaN values of the ranks' outputs"));
    void *all = NULL;
    DP_CALL(dp_axis_gather(&r->plan, dp_source_seen_axis(&r->src, dp_reduce_axis(r->job->kcfg)),
                           mine, sizeof *mine, &all, r->cart));
    dp_reduce_take_values(r->red_state, all, nan);
    dp_trace_time(&r->t[DP_PHASE_COMMUNICATE], DP_TR_REDUCE, t1);
    return DP_OK;
}

/* Every pass: a map writes its output in the first; a reduction folds the rank's data into a
 * partial, combines the partials of all ranks and lets the kernel decide whether it needs
 * another pass over the same data. */
static dp_status_t passes(run_t *r)
{
    for (int n = 0;; n++) {
        size_t size = 0;
        if (r->red) {
            size = r->red->partial_size(r->red_state);
            free(r->partial);
            r->partial = dp_xmalloc(size);
            r->red->partial_init(r->red_state, r->partial);
        }
        DP_CALL(pass(r, n));
        if (n == 0 && r->writer_open) {
            r->writer_open = 0;
            DP_CALL(dp_writer_close(&r->writer));
            dp_digest_merge(&r->sink.digest, &r->writer.digest);
        }
        if (!r->red)
            return DP_OK;
        double t1 = MPI_Wtime();
        if (r->own)
            return gather_own(r, t1);
        DP_CALL(dp_comm_combine(r->partial, size, combine_cb, r, r->cart));
        dp_trace_time(&r->t[DP_PHASE_COMMUNICATE], DP_TR_REDUCE, t1);
        if (!r->red->next_pass || !r->red->next_pass(r->red_state, r->partial))
            return DP_OK;
    }
}

/* Opens the streamed input, and the streamed output of a map kernel. */
static dp_status_t open_streams(run_t *r)
{
    const dp_job_t *job = r->job;
    const double t0 = MPI_Wtime();
    const int prefetch = job->run.overlap ? (int)job->run.prefetch : 0;
    DP_CALL(dp_stream_open(&r->stream, &r->src, r->start, r->count, r->piece_rows, prefetch, r->buf,
                           r->comm));
    r->stream_open = 1;
    if (!r->stream.direct && r->stream.why[0] && job->input.source != DP_SRC_GENERATE &&
        !r->src.note[0])
        snprintf(r->src.note, sizeof r->src.note, "%s", r->stream.why);
    r->t[DP_PHASE_READ] += MPI_Wtime() - t0;
    if (job->kernel->kind != DP_KERNEL_MAP)
        return DP_OK;
    const double t1 = MPI_Wtime();
    const dp_kernel_t *k = job->kernel;
    const dp_dtype_t dtype = k->out_dtype ? k->out_dtype(job->kcfg) : DP_DT_FLOAT64;
    int64_t offset = 0;
    DP_CALL(dp_sink_array_direct(&r->sink, job->output.dataset, &r->plan.global, dtype, &offset));
    DP_CALL(dp_writer_open(&r->writer, r->sink.tmp, offset, &r->plan.global, dtype, r->start,
                           r->count, r->piece_rows, job->run.overlap, r->comm));
    r->writer_open = 1;
    r->t[DP_PHASE_WRITE] += MPI_Wtime() - t1;
    return DP_OK;
}

static dp_status_t write_output(run_t *r)
{
    const dp_job_t *job = r->job;
    double t0 = MPI_Wtime();
    if (job->kernel->kind == DP_KERNEL_STENCIL) {
        DP_CALL(dp_sink_array(&r->sink, job->output.dataset, &r->plan.global));
        for (int64_t p = 0; p < r->npieces; p++) {
            int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
            dp_stream_box(&r->stream, p, s, c, &off);
            DP_CALL(dp_sink_write(&r->sink, s, c, r->buf + off));
        }
    }
    if (r->red)
        DP_CALL(dp_sink_results(
            &r->sink, job->kernel->kind == DP_KERNEL_REDUCE ? job->output.dataset : "/results",
            &r->results));
    const dp_status_t st = dp_sink_commit(&r->sink, &r->info);
    dp_trace_time(&r->t[DP_PHASE_WRITE], DP_TR_WRITE, t0);
    DP_CALL(st);
    r->sink_open = 0;
    return DP_OK;
}

/* Without an output file, the digest the output dataset would have carried (its dproc_digest,
 * checked by dproc verify), so that runs can still be compared bit for bit, e.g. a simulated
 * run with a real one. Collective. */
static void digest_field(run_t *r)
{
    const dp_shape_t *g = &r->plan.global;
    const int64_t shape[DP_MAX_DIMS] = {g->n[0], g->ndim > 1 ? g->n[1] : 1,
                                        g->ndim > 2 ? g->n[2] : 1};
    dp_digest_t mine = {{0, 0}}, all;
    for (int64_t p = 0; p < r->npieces; p++) {
        int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
        dp_stream_box(&r->stream, p, s, c, &off);
        dp_digest_box(&mine, r->buf + off, sizeof(double), shape, s, c);
    }
    MPI_Allreduce(mine.lane, all.lane, 2, MPI_UINT64_T, MPI_SUM, r->comm);
    dp_digest_text(&all, r->digest);
}

/* [output] preview: rank 0 draws the dataset from the finished output file. Collective. */
static dp_status_t preview(run_t *r)
{
    const dp_output_t *o = &r->job->output;
    const double t0 = MPI_Wtime();
    dp_status_t st = DP_OK;
    if (r->rank == 0) {
        const dp_heatmap_opts_t h = {
            .file = o->path,
            .dataset = o->preview_dataset ? o->preview_dataset : o->dataset,
            .slice_axis =
                dp_opts_given(&r->job->ini, "output", "preview_axis") ? (int)o->preview_axis : -1,
            .slice_index = (long long)o->preview_index,
            .out = o->preview,
        };
        char why[DP_ERR_MSG_MAX - 200];
        if (dp_heatmap_png(&h, why, sizeof why) != 0)
            st = dp_err_set(DP_ERR_IO, "preview '%s' (the output '%s' is complete): %s", o->preview,
                            o->path, why);
    }
    st = dp_comm_agree(st, r->comm);
    dp_trace_time(&r->t[DP_PHASE_WRITE], DP_TR_PREVIEW, t0);
    return st;
}

/* For --restart: checks the checkpoint and reads it instead of the job's input. */
static dp_status_t open_checkpoint(run_t *r)
{
    const dp_job_t *job = r->job;
    DP_CHECK(job->kernel->kind == DP_KERNEL_STENCIL, DP_ERR_USAGE,
             "--restart: kernel %s has no checkpoints to restart from", job->kernel->name);
    dp_iteration_t spec;
    job->kernel->iteration(r->state, &spec);
    if (!spec.checkpoint_path)
        return dp_job_usage_error(job, job->kernel->name, "checkpoint_path",
                                  "--restart needs the checkpoint to restart from");
    DP_CALL(dp_checkpoint_inspect(spec.checkpoint_path, &r->ckpt, r->comm));
    r->restart_job = *job;
    r->restart_job.input.source = DP_SRC_HDF5;
    r->restart_job.input.path = (char *)spec.checkpoint_path;
    r->restart_job.input.dataset = DP_CHECKPOINT_DATASET;
    return dp_source_open(&r->src, &r->restart_job, -1, r->comm);
}

/* For --restart, once the kernel is made: the checkpoint must be of this very computation. */
static dp_status_t check_checkpoint(run_t *r)
{
    const dp_job_t *job = r->job;
    dp_iteration_t spec;
    job->kernel->iteration(r->state, &spec);
    if (strcmp(spec.signature, r->ckpt.signature) != 0) {
        char why[DP_ERR_MSG_MAX];
        snprintf(why, sizeof why,
                 "the checkpoint '%s' is of another computation (%s) than this job (%s)",
                 spec.checkpoint_path, r->ckpt.signature, spec.signature);
        return dp_job_usage_error(job, job->kernel->name, "checkpoint_path", why);
    }
    if (r->ckpt.iteration > spec.iterations) {
        char why[DP_ERR_MSG_MAX];
        snprintf(why, sizeof why,
                 "the checkpoint '%s' is at iteration %lld, beyond the %lld this job asks for",
                 spec.checkpoint_path, (long long)r->ckpt.iteration, (long long)spec.iterations);
        return dp_job_usage_error(job, job->kernel->name, "iterations", why);
    }
    return DP_OK;
}

static dp_status_t iterate(run_t *r)
{
    dp_iterate_t it = {
        .job = r->job,
        .state = r->state,
        .comm = r->comm,
        .plan = &r->plan,
        .rank = r->rank,
        .first = r->opts->restart ? r->ckpt.iteration : 0,
        .overlap = r->job->run.overlap,
        .info = &r->info,
        .t = r->t,
        .results = &r->results,
    };
    memcpy(it.start, r->start, sizeof it.start);
    memcpy(it.count, r->count, sizeof it.count);
    return dp_iterate_run(&it, &r->buf);
}

/* A key-value job: its own flow (text in, a table out), reported as the others. */
static dp_status_t run_kv(run_t *r)
{
    dp_kv_run_t kv = {0};
    const dp_status_t st = dp_kv_run(r->job, &r->info, r->opts->dry_run, r->comm, &kv);
    for (int p = 0; p < DP_NPHASES; p++)
        r->t[p] += kv.t[p];
    snprintf(r->src.describe, sizeof r->src.describe, "%s", kv.describe);
    r->src.bytes_read = kv.bytes_read;
    r->results = kv.results;
    return st;
}

enum { DP_NAME_PATH_MAX = 512 };

/* path with its repeated slashes made one and a trailing one dropped (not the root's), as HDF5
 * resolves it. Local. */
static void h5_path(char *out, size_t size, const char *path)
{
    size_t j = 0;
    for (size_t i = 0; path[i] && j + 1 < size; i++)
        if (path[i] != '/' || j == 0 || out[j - 1] != '/')
            out[j++] = path[i];
    if (j > 1 && out[j - 1] == '/')
        j--;
    out[j] = '\0';
}

/* The array [output] preview_dataset names among those an axis reduction writes, in ndim and
 * n, or a usage error: without an axis a reduction writes scalars and lists, and with one, one
 * array per op. */
static dp_status_t reduce_preview_shape(const run_t *r, int *ndim, int64_t n[DP_FILE_MAX_DIMS])
{
    const dp_job_t *job = r->job;
    if (dp_reduce_axis(job->kcfg) < 0)
        return dp_job_usage_error(job, "output", "preview_dataset",
                                  "a reduction without [reduce] axis writes scalars and lists, no "
                                  "array of 2 or 3 dimensions to draw");
    /* both as HDF5 reads them: repeated slashes are one, a trailing one is dropped */
    char name[DP_NAME_PATH_MAX], group[DP_NAME_PATH_MAX], ops[128] = "";
    h5_path(name, sizeof name, job->output.preview_dataset);
    h5_path(group, sizeof group, job->output.dataset);
    const size_t glen = strcmp(group, "/") ? strlen(group) : 0;
    int found = 0;
    for (int k = 0; dp_reduce_array_name(job->kcfg, k); k++) {
        const char *op = dp_reduce_array_name(job->kcfg, k);
        found |= !strncmp(name, group, glen) && name[glen] == '/' && !strcmp(name + glen + 1, op);
        const size_t used = strlen(ops);
        snprintf(ops + used, sizeof ops - used, "%s%s", k ? ", " : "", op);
    }
    if (!found) {
        char why[256];
        snprintf(why, sizeof why, "'%.64s' is not an array this job writes: it writes %s in %.64s",
                 job->output.preview_dataset, ops, group);
        return dp_job_usage_error(job, "output", "preview_dataset", why);
    }
    if (dp_source_folded(&r->src)) { /* the file's extents but the axis (check_shape) */
        *ndim = r->results.array_ndim;
        memcpy(n, r->reduced_n, sizeof r->reduced_n);
        return DP_OK;
    }
    const dp_shape_t *g = &r->plan.global;
    *ndim = 0;
    for (int d = 0; d < g->ndim; d++)
        if (d != dp_reduce_axis(job->kcfg))
            n[(*ndim)++] = g->n[d];
    return DP_OK;
}

/* [output] preview of the array the kernel writes, once the data's shape is known (the job
 * file may not give it): the same checks as the job file's, and for a reduction along an axis
 * that the dataset it names is one of its arrays. */
static dp_status_t check_preview(const run_t *r)
{
    const dp_output_t *o = &r->job->output;
    const dp_kernel_t *k = r->job->kernel;
    int ndim = 0;
    int64_t n[DP_FILE_MAX_DIMS];
    if (!o->preview)
        return DP_OK;
    if (k == &dp_kernel_reduce) {
        DP_CALL(reduce_preview_shape(r, &ndim, n));
    } else if (!o->preview_dataset && (k->kind == DP_KERNEL_MAP || k->kind == DP_KERNEL_STENCIL)) {
        ndim = r->plan.global.ndim;
        memcpy(n, r->plan.global.n, sizeof r->plan.global.n);
    } else {
        return DP_OK;
    }
    char why[160];
    if (ndim == 0)
        return dp_job_usage_error(r->job, "output", "preview",
                                  "the output is a scalar: a heat map needs 2 or 3 dimensions");
    if (ndim < 2 || ndim > 3) {
        snprintf(why, sizeof why, "the output is %d-D: a heat map needs 2 or 3 dimensions", ndim);
        return dp_job_usage_error(r->job, "output", "preview", why);
    }
    for (int d = 0; d < ndim; d++)
        if (n[d] == 0) {
            snprintf(why, sizeof why,
                     "the output is empty (extent 0 along axis %d): there is "
                     "nothing to draw",
                     d);
            return dp_job_usage_error(r->job, "output", "preview", why);
        }
    if (ndim == 3 && o->preview_index >= n[o->preview_axis]) {
        snprintf(why, sizeof why, "%lld is beyond axis %lld's extent %lld",
                 (long long)o->preview_index, (long long)o->preview_axis,
                 (long long)n[o->preview_axis]);
        return dp_job_usage_error(r->job, "output", "preview_index", why);
    }
    if (ndim == 2 && (dp_opts_given(&r->job->ini, "output", "preview_axis") ||
                      dp_opts_given(&r->job->ini, "output", "preview_index"))) {
        const char *key = dp_opts_given(&r->job->ini, "output", "preview_axis") ? "preview_axis"
                                                                                : "preview_index";
        return dp_job_usage_error(r->job, "output", key,
                                  "used only for 3-D data (the output is 2-D)");
    }
    return DP_OK;
}

/* Opens the input (or the checkpoint), plans and allocates. */
static dp_status_t setup(run_t *r)
{
    const dp_job_t *job = r->job;
    double t0 = MPI_Wtime();
    if (r->opts->restart) {
        if (job->kernel->create) /* the kernel says where its checkpoint is */
            r->state = job->kernel->create(job->kcfg, &job->input.shape);
        DP_CALL(open_checkpoint(r));
        if (r->state && job->kernel->destroy)
            job->kernel->destroy(r->state);
        r->state = NULL;
    } else {
        const int keep = job->kernel == &dp_kernel_reduce ? dp_reduce_axis(job->kcfg) : -1;
        DP_CALL(dp_source_open(&r->src, job, keep, r->comm));
    }
    r->t[DP_PHASE_READ] += MPI_Wtime() - t0;
    DP_CALL(make_plan(r));
    if (r->opts->restart)
        DP_CALL(check_checkpoint(r));
    DP_CALL(check_preview(r));
    if (r->opts->dry_run) {
        if (r->rank == 0)
            print_plan(r, stdout);
        return DP_OK;
    }
    return allocate(r);
}

static dp_status_t run_job(run_t *r)
{
    const dp_job_t *job = r->job;
    if (job->kernel->kind == DP_KERNEL_KEYVALUE)
        return run_kv(r);
    const double t0 = MPI_Wtime();
    const dp_status_t st = setup(r);
    dp_trace_span(DP_TR_SETUP, t0, MPI_Wtime()); /* also when it failed: the trace shows it */
    if (st != DP_OK || r->opts->dry_run)
        return st;
    if (job->output.path) {
        double t1 = MPI_Wtime();
        /* MPI_COMM_WORLD's copy, not the Cartesian one: Open MPI 4.1's default MPI-IO layer
         * (ompio) corrupts collective writes on Cartesian communicators (open-mpi/ompi#12718) */
        DP_CALL(dp_sink_create(&r->sink, job->output.path, job->output.overwrite, r->comm));
        r->sink_open = 1;
        r->sink.checksum = job->output.checksum;
        dp_trace_time(&r->t[DP_PHASE_WRITE], DP_TR_WRITE, t1);
    }
    const double t2 = MPI_Wtime();
    DP_CALL(open_streams(r));
    dp_trace_span(DP_TR_SETUP, t2, MPI_Wtime());
    DP_CALL(passes(r));
    if (r->red) {
        const char *why = r->red->results(r->red_state, r->partial, &r->results);
        DP_CHECK(!why, DP_ERR_DATA, "%s: %s", r->src.describe, why);
    }
    if (job->kernel->kind == DP_KERNEL_STENCIL)
        DP_CALL(iterate(r));
    if (job->output.path)
        DP_CALL(write_output(r));
    else if (job->kernel->kind == DP_KERNEL_STENCIL)
        digest_field(r);
    if (job->output.preview)
        DP_CALL(preview(r));
    return DP_OK;
}

/* Resident memory of this process at its largest so far, in MiB. */
static double peak_rss_mb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024; /* KiB on Linux */
}

/* Folds the stream's and the writer's measures into the phases. */
static void stream_times(run_t *r)
{
    r->t[DP_PHASE_READ] += r->stream.wait;
    r->t[DP_PHASE_READ_WAIT] += r->stream.wait;
    r->t[DP_PHASE_READ_BUSY] += r->stream.busy;
    r->t[DP_PHASE_COMPUTE] += r->stream.convert_time;
    r->t[DP_PHASE_WRITE] += r->writer.wait;
    r->t[DP_PHASE_WRITE_WAIT] += r->writer.wait;
    r->t[DP_PHASE_WRITE_BUSY] += r->writer.busy;
}

static void report(run_t *r, dp_status_t st)
{
    const dp_job_t *job = r->job;
    double tmax[DP_NPHASES];
    MPI_Allreduce(r->t, tmax, DP_NPHASES, MPI_DOUBLE, MPI_MAX, r->comm);
    long long mine[2] = {r->src.bytes_read, dp_work_done() - r->work0}, total[2] = {0, 0};
    MPI_Reduce(mine, total, 2, MPI_LONG_LONG, MPI_SUM, 0, r->comm);
    double rss[2] = {peak_rss_mb(), r->rss_base}, rss_max[2];
    MPI_Reduce(rss, rss_max, 2, MPI_DOUBLE, MPI_MAX, 0, r->comm);
    double waits[2] = {r->t[DP_PHASE_READ_WAIT], r->t[DP_PHASE_READ_BUSY]}, wsum[2];
    MPI_Reduce(waits, wsum, 2, MPI_DOUBLE, MPI_SUM, 0, r->comm);
    if (r->rank != 0)
        return;
    dp_report_t rep = {
        .job = job,
        .info = &r->info,
        .input = r->src.describe,
        .shape = r->plan.global,
        .elements = r->plan.nranks ? dp_shape_elements(&r->plan.global) : 0,
        .bytes_read = total[0],
        .work = total[1],
        .mem_per_rank = r->mem,
        .results = &r->results,
        .digest = r->digest[0] ? r->digest : NULL,
        .note = r->src.note,
        .status = st,
        .error = st == DP_OK ? NULL : dp_err_msg(),
    };
    rep.streamed = (job->kernel->kind != DP_KERNEL_STENCIL &&
                    job->input.source != DP_SRC_GENERATE && r->stream_open) ||
                   job->kernel->kind == DP_KERNEL_KEYVALUE;
    rep.overlap = wsum[1] > 0 ? 1 - wsum[0] / wsum[1] : 0;
    rep.overlap = rep.overlap < 0 ? 0 : rep.overlap;
    rep.peak_rss_mb = rss_max[0];
    rep.base_rss_mb = rss_max[1];
    rep.shape.ndim = r->plan.nranks ? r->plan.global.ndim : 0;
    if (r->plan.nranks && dp_source_folded(&r->src)) {
        rep.file_ndim = r->src.file_ndim;
        rep.file_n = r->src.file_n;
    }
    memcpy(rep.dims, r->plan.dims, sizeof rep.dims);
    memcpy(rep.timing, tmax, sizeof tmax);
    if (st == DP_OK && !r->opts->quiet)
        dp_report_print(&rep, stdout);
    if (job->output.report) {
        dp_status_t w = dp_report_write_json(&rep, job->output.report);
        if (w != DP_OK)
            fprintf(stderr, "dproc: warning: %s\n", dp_err_msg());
    }
}

/* Writes [output] trace; a failure to is a warning, as for the report. Collective. */
static void write_trace(run_t *r, dp_status_t st)
{
    const dp_trace_about_t about = {
        .version = r->info.version,
        .job_path = r->job->file,
        .host = r->info.host,
        .start_time = r->info.start_time,
        .status = st == DP_OK            ? "ok"
                  : st == DP_ERR_STOPPED ? "stopped"
                                         : "failed",
        .error = st == DP_OK ? NULL : dp_err_msg(),
        .threads = r->info.threads,
    };
    char keep[DP_ERR_MSG_MAX]; /* the run's own failure, which the caller prints */
    snprintf(keep, sizeof keep, "%s", dp_err_msg());
    const dp_status_t w = dp_trace_finish(r->job->output.trace, &about);
    if (w == DP_OK)
        return;
    if (r->rank == 0)
        fprintf(stderr, "dproc: warning: %s\n", dp_err_msg());
    if (st != DP_OK)
        dp_err_replace(st, keep);
}

dp_status_t dp_driver_run(const dp_job_t *job, const dp_driver_opts_t *opts, MPI_Comm comm)
{
    if (job->run.threads > 0)
        omp_set_num_threads((int)job->run.threads);
    run_t r = {
        .job = job, .opts = opts, .comm = comm, .cart = MPI_COMM_NULL, .work0 = dp_work_done()};
    MPI_Comm_rank(comm, &r.rank);
    MPI_Comm_size(comm, &r.nranks);
    runinfo(&r);
    r.rss_base = peak_rss_mb();
    dp_progress_init(opts->dry_run ? DP_PROGRESS_NONE : (dp_progress_mode_t)opts->progress, r.rank);
    const int trace = job->output.trace && !opts->dry_run;
    if (trace)
        dp_trace_start(comm);
    double t0 = MPI_Wtime();
    dp_status_t st = run_job(&r);
    dp_progress_end();
    if (r.writer_open)
        dp_writer_close(&r.writer);
    if (st != DP_OK && r.sink_open)
        dp_sink_abort(&r.sink);
    stream_times(&r);
    if (r.stream_open)
        dp_stream_close(&r.stream);
    dp_source_close(&r.src);
    if (r.cart != MPI_COMM_NULL)
        MPI_Comm_free(&r.cart);
    r.t[DP_PHASE_TOTAL] = MPI_Wtime() - t0;
    if (!opts->dry_run)
        report(&r, st);
    if (trace)
        write_trace(&r, st);
    free(r.buf);
    free(r.partial);
    if (r.state && job->kernel->destroy)
        job->kernel->destroy(r.state);
    if (job->then && r.red_state && job->then->destroy) /* then_reduce's own state */
        job->then->destroy(r.red_state);
    dp_results_free(&r.results);
    dp_placement_free(&r.info.place);
    return st;
}
