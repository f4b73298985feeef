#include "driver.h"

#include "checkpoint.h"
#include "comm.h"
#include "dp_version.h"
#include "iterate.h"
#include "opts.h"
#include "plan.h"
#include "report.h"
#include "results.h"
#include "sink.h"
#include "source.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    int64_t piece_rows, npieces, mem;
    double *buf; /* the whole block (map and multi-pass kernels) or one piece */
    int whole;   /* buf holds the whole block */
    void *state; /* the kernel's */
    void *partial;
    dp_sink_t sink;
    int sink_open;
    dp_results_t results;
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
    MPI_Bcast(r->info.start_time, sizeof r->info.start_time, MPI_CHAR, 0, r->comm);
    MPI_Bcast(r->info.host, sizeof r->info.host, MPI_CHAR, 0, r->comm);
}

static int64_t row_elems(const run_t *r)
{
    return r->count[1] * r->count[2];
}

/* The box of piece p of this rank's block; count 0 when the rank has no such piece. */
static void piece_box(const run_t *r, int64_t p, int64_t start[DP_MAX_DIMS],
                      int64_t count[DP_MAX_DIMS], int64_t *offset)
{
    const int64_t r0 = p * r->piece_rows;
    int64_t rows = r->count[0] - r0;
    if (rows > r->piece_rows)
        rows = r->piece_rows;
    if (rows < 0 || row_elems(r) == 0)
        rows = 0;
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        start[d] = r->start[d];
        count[d] = rows > 0 ? r->count[d] : 0;
    }
    start[0] = r->start[0] + r0;
    count[0] = rows;
    *offset = r0 * row_elems(r);
}

/* A job setting that only the data show to be wrong, said in the job-file form. */
static dp_status_t usage_at(const dp_job_t *job, const char *section, const char *key,
                            const char *why)
{
    dp_diag_t d = {0};
    dp_diag_add(&d, dp_opts_where(&job->ini, section, key), section, key, "%s", why);
    dp_status_t st = dp_err_set(DP_ERR_USAGE, "%s", d.msg[0]);
    dp_diag_free(&d);
    return st;
}

static dp_status_t make_plan(run_t *r)
{
    const dp_job_t *job = r->job;
    dp_status_t st = dp_plan_make(&r->plan, &r->src.shape, r->nranks, job->run.decomposition);
    if (st == DP_ERR_USAGE) {
        char why[DP_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", dp_err_msg());
        st = usage_at(job, "run", "decomposition", why);
    }
    if (st == DP_OK && job->kernel->check_data) {
        const char *key = NULL;
        const char *why = job->kernel->check_data(job->kcfg, &r->src.shape, &key);
        if (why)
            st = usage_at(job, job->kernel->name, key, why);
    }
    if (st == DP_OK && job->kernel->create && !r->state)
        r->state = job->kernel->create(job->kcfg, &r->src.shape);
    if (st == DP_OK && job->kernel->kind == DP_KERNEL_STENCIL) {
        const char *key = NULL;
        const char *why = dp_iterate_check(job, r->state, &r->plan, &key);
        if (why)
            st = usage_at(job, job->kernel->name, key, why);
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
    const int64_t esize = dp_dtype_size(r->src.dtype);
    const int64_t chunk = job->run.chunk_mb << 20;
    r->piece_rows = dp_plan_piece_rows(r->count, chunk, esize);
    r->npieces = dp_plan_max_pieces(&r->plan, chunk, esize);
    /* memory of the largest block: the data buffer, a conversion buffer, a partial */
    int64_t largest[DP_MAX_DIMS], dummy[DP_MAX_DIMS];
    dp_plan_block(&r->plan, 0, dummy, largest);
    const int64_t rows = dp_plan_piece_rows(largest, chunk, esize);
    const int64_t piece = (rows < largest[0] ? rows : largest[0]) * largest[1] * largest[2];
    const int map = job->kernel->kind != DP_KERNEL_REDUCE;
    r->whole = map || (job->kernel->multi_pass && job->kernel->multi_pass(job->kcfg));
    r->mem = (r->whole ? dp_plan_max_block(&r->plan) : piece) * 8;
    if (job->kernel->kind == DP_KERNEL_STENCIL) /* two fields with ghosts replace the block */
        r->mem = dp_iterate_memory(job, r->state, &r->plan);
    if (r->src.dtype != DP_DT_FLOAT64 && job->input.source != DP_SRC_GENERATE)
        r->mem += piece * esize;
    return DP_OK;
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
    fprintf(f, "reads: up to %lld piece%s per rank of at most %lld MiB (chunk_mb)\n",
            (long long)r->npieces, r->npieces == 1 ? "" : "s", (long long)job->run.chunk_mb);
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
    const int64_t rows = r->whole || r->piece_rows > r->count[0] ? r->count[0] : r->piece_rows;
    const int64_t n = rows * row_elems(r);
    dp_status_t st = DP_OK;
    r->buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!r->buf)
        st = dp_err_set(DP_ERR_NOMEM, "cannot allocate %.1f MiB for the data block",
                        (double)n * 8 / (1 << 20));
    return dp_comm_agree(st, r->comm);
}

/* Runs the kernel on piece p, which is in memory at data. */
static void process_piece(run_t *r, int64_t p, double *data)
{
    const dp_kernel_t *k = r->job->kernel;
    int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
    piece_box(r, p, s, c, &off);
    if (c[0] == 0)
        return;
    dp_block_t in = {.global = r->plan.global, .data = data};
    memcpy(in.start, s, sizeof in.start);
    memcpy(in.count, c, sizeof in.count);
    dp_block_t out = in;
    if (k->process)
        k->process(r->state, &in, &out, r->partial);
}

/* The first pass: read every piece and process it as it arrives. */
static dp_status_t read_and_process(run_t *r)
{
    for (int64_t p = 0; p < r->npieces; p++) {
        int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
        piece_box(r, p, s, c, &off);
        double *data = r->whole ? r->buf + off : r->buf;
        double t0 = MPI_Wtime();
        DP_CALL(dp_source_read(&r->src, s, c, data));
        double t1 = MPI_Wtime();
        r->t[DP_PHASE_READ] += t1 - t0;
        process_piece(r, p, data);
        r->t[DP_PHASE_COMPUTE] += MPI_Wtime() - t1;
    }
    return DP_OK;
}

static void combine_cb(const void *ctx, void *acc, const void *in)
{
    const run_t *r = ctx;
    r->job->kernel->combine(r->state, acc, in);
}

/* Every pass of a reduction: fold the rank's data into a partial, combine the partials of all
 * ranks, and let the kernel decide whether it needs another pass over the same data. */
static dp_status_t reduce_passes(run_t *r)
{
    const dp_kernel_t *k = r->job->kernel;
    for (int pass = 0;; pass++) {
        const size_t size = k->partial_size(r->state);
        free(r->partial);
        r->partial = dp_xmalloc(size);
        k->partial_init(r->state, r->partial);
        if (pass == 0) {
            DP_CALL(read_and_process(r));
        } else {
            double t0 = MPI_Wtime();
            for (int64_t p = 0; p < r->npieces; p++) {
                int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
                piece_box(r, p, s, c, &off);
                process_piece(r, p, r->buf + off);
            }
            r->t[DP_PHASE_COMPUTE] += MPI_Wtime() - t0;
        }
        double t1 = MPI_Wtime();
        DP_CALL(dp_comm_combine(r->partial, size, combine_cb, r, r->cart));
        r->t[DP_PHASE_COMMUNICATE] += MPI_Wtime() - t1;
        if (!k->next_pass || !k->next_pass(r->state, r->partial))
            return DP_OK;
    }
}

static dp_status_t write_output(run_t *r)
{
    const dp_job_t *job = r->job;
    double t0 = MPI_Wtime();
    if (job->kernel->kind != DP_KERNEL_REDUCE) {
        DP_CALL(dp_sink_array(&r->sink, job->output.dataset, &r->plan.global));
        for (int64_t p = 0; p < r->npieces; p++) {
            int64_t s[DP_MAX_DIMS], c[DP_MAX_DIMS], off;
            piece_box(r, p, s, c, &off);
            DP_CALL(dp_sink_write(&r->sink, s, c, r->buf + off));
        }
    } else {
        DP_CALL(dp_sink_results(&r->sink, job->output.dataset, &r->results));
    }
    DP_CALL(dp_sink_commit(&r->sink, &r->info));
    r->sink_open = 0;
    r->t[DP_PHASE_WRITE] += MPI_Wtime() - t0;
    return DP_OK;
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
        return usage_at(job, job->kernel->name, "checkpoint_path",
                        "--restart needs the checkpoint to restart from");
    DP_CALL(dp_checkpoint_inspect(spec.checkpoint_path, &r->ckpt, r->comm));
    r->restart_job = *job;
    r->restart_job.input.source = DP_SRC_HDF5;
    r->restart_job.input.path = (char *)spec.checkpoint_path;
    r->restart_job.input.dataset = DP_CHECKPOINT_DATASET;
    return dp_source_open(&r->src, &r->restart_job, r->comm);
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
        return usage_at(job, job->kernel->name, "checkpoint_path", why);
    }
    if (r->ckpt.iteration > spec.iterations) {
        char why[DP_ERR_MSG_MAX];
        snprintf(why, sizeof why,
                 "the checkpoint '%s' is at iteration %lld, beyond the %lld this job asks for",
                 spec.checkpoint_path, (long long)r->ckpt.iteration, (long long)spec.iterations);
        return usage_at(job, job->kernel->name, "iterations", why);
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

static dp_status_t run_job(run_t *r)
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
        DP_CALL(dp_source_open(&r->src, job, r->comm));
    }
    r->t[DP_PHASE_READ] += MPI_Wtime() - t0;
    DP_CALL(make_plan(r));
    if (r->opts->restart)
        DP_CALL(check_checkpoint(r));
    if (r->opts->dry_run) {
        if (r->rank == 0)
            print_plan(r, stdout);
        return DP_OK;
    }
    DP_CALL(allocate(r));
    if (job->output.path) {
        double t1 = MPI_Wtime();
        /* MPI_COMM_WORLD's copy, not the Cartesian one: Open MPI 4.1's default MPI-IO layer
         * (ompio) corrupts collective writes on Cartesian communicators (open-mpi/ompi#12718) */
        DP_CALL(dp_sink_create(&r->sink, job->output.path, job->output.overwrite, r->comm));
        r->sink_open = 1;
        r->t[DP_PHASE_WRITE] += MPI_Wtime() - t1;
    }
    if (job->kernel->kind == DP_KERNEL_REDUCE) {
        DP_CALL(reduce_passes(r));
        const char *why = job->kernel->results(r->state, &r->results);
        DP_CHECK(!why, DP_ERR_DATA, "%s", why);
    } else {
        DP_CALL(read_and_process(r));
    }
    if (job->kernel->kind == DP_KERNEL_STENCIL)
        DP_CALL(iterate(r));
    if (job->output.path)
        DP_CALL(write_output(r));
    return DP_OK;
}

static void report(run_t *r, dp_status_t st)
{
    const dp_job_t *job = r->job;
    double tmax[DP_NPHASES];
    MPI_Allreduce(r->t, tmax, DP_NPHASES, MPI_DOUBLE, MPI_MAX, r->comm);
    long long mine = r->src.bytes_read, total = 0;
    MPI_Reduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, 0, r->comm);
    if (r->rank != 0)
        return;
    dp_report_t rep = {
        .job = job,
        .info = &r->info,
        .input = r->src.describe,
        .shape = r->plan.global,
        .elements = r->plan.nranks ? dp_shape_elements(&r->plan.global) : 0,
        .bytes_read = total,
        .mem_per_rank = r->mem,
        .results = &r->results,
        .note = r->src.note,
        .status = st,
        .error = st == DP_OK ? NULL : dp_err_msg(),
    };
    rep.shape.ndim = r->plan.nranks ? r->plan.global.ndim : 0;
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

dp_status_t dp_driver_run(const dp_job_t *job, const dp_driver_opts_t *opts, MPI_Comm comm)
{
    if (job->run.threads > 0)
        omp_set_num_threads((int)job->run.threads);
    run_t r = {.job = job, .opts = opts, .comm = comm, .cart = MPI_COMM_NULL};
    MPI_Comm_rank(comm, &r.rank);
    MPI_Comm_size(comm, &r.nranks);
    runinfo(&r);
    double t0 = MPI_Wtime();
    dp_status_t st = run_job(&r);
    if (st != DP_OK && r.sink_open)
        dp_sink_abort(&r.sink);
    dp_source_close(&r.src);
    if (r.cart != MPI_COMM_NULL)
        MPI_Comm_free(&r.cart);
    r.t[DP_PHASE_TOTAL] = MPI_Wtime() - t0;
    if (!opts->dry_run)
        report(&r, st);
    free(r.buf);
    free(r.partial);
    if (r.state && job->kernel->destroy)
        job->kernel->destroy(r.state);
    dp_results_free(&r.results);
    return st;
}
