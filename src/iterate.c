#include "iterate.h"

#include "checkpoint.h"
#include "comm.h"
#include "halo.h"
#include "progress.h"
#include "signals.h"
#include "snapshot.h"
#include "trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pieces of the interior computed between two pokes at the halo messages, so that MPI moves
 * them along while the threads compute (Open MPI progresses messages only inside MPI calls). */
enum { INTERIOR_SLABS = 8 };

typedef struct {
    const dp_iterate_t *it;
    const dp_kernel_t *k;
    dp_iteration_t spec;
    int nd;
    dp_field_t f[2]; /* f[cur] holds the latest iterate */
    int cur;
    dp_halo_t halo;
    int halo_made;
    dp_snapshots_t snaps;
    int64_t vote_every, since_vote; /* groups between votes on stopping, and since the last */
    double last_vote;               /* MPI_Wtime() of the last vote */
} loop_t;

/* Ranks vote on stopping (SIGUSR1, SIGTERM) about this often: a blocking MPI_Allreduce every
 * group cost as much as a 256x256 sweep at 1024 simulated ranks (docs/scaling.md). */
static const double VOTE_SECONDS = 0.05;

/* The ghost width along axis d: halo_depth times the stencil's reach. */
static int64_t halo_width(const dp_iteration_t *spec, int d)
{
    return spec->halo_depth * spec->radius[d];
}

const char *dp_iterate_check(const dp_job_t *job, const void *state, const dp_plan_t *plan,
                             const char **key)
{
    static char why[320];
    dp_iteration_t spec;
    job->kernel->iteration(state, &spec);
    for (int d = 0; d < plan->global.ndim; d++) {
        const int64_t h = halo_width(&spec, d), thin = dp_halo_thinnest(plan, d, spec.periodic);
        if (h == 0 || thin < 0 || thin >= h)
            continue;
        *key = spec.halo_depth > 1 ? "halo_depth" : NULL;
        snprintf(why, sizeof why,
                 "a halo of %lld points along axis %d (halo_depth %lld x reach %lld) is wider "
                 "than the thinnest block there (%lld of %lld points over %d ranks)%s: halos "
                 "come from the next rank only; use fewer ranks%s or another [run] "
                 "decomposition",
                 (long long)h, d, (long long)spec.halo_depth, (long long)spec.radius[d],
                 (long long)thin, (long long)plan->global.n[d], plan->dims[d],
                 plan->dims[d] == 1 ? ", wrapped around" : "",
                 spec.halo_depth > 1 ? ", a smaller halo_depth" : "");
        return why;
    }
    return NULL;
}

static int64_t field_points(const dp_iteration_t *spec, int nd, const int64_t count[DP_MAX_DIMS])
{
    int64_t n = 1;
    for (int d = 0; d < DP_MAX_DIMS; d++)
        n *= count[d] + (d < nd ? 2 * halo_width(spec, d) : 0);
    return n;
}

int64_t dp_iterate_memory(const dp_job_t *job, const void *state, const dp_plan_t *plan)
{
    dp_iteration_t spec;
    job->kernel->iteration(state, &spec);
    int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS];
    dp_plan_block(plan, 0, start, count); /* block 0 is the largest */
    return 2 * field_points(&spec, plan->global.ndim, count) * (int64_t)sizeof(double);
}

/* Zeroes n doubles with the threads that will compute on them (static chunks, as the sweeps
 * share rows): the first touch places the pages, and a serial memset here made the sweeps of
 * 2 threads run at half speed on the development VM. */
static void first_touch(double *p, int64_t n)
{
    const int64_t chunk = 1 << 16;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < (n + chunk - 1) / chunk; c++)
        memset(p + c * chunk, 0, (size_t)(n - c * chunk < chunk ? n - c * chunk : chunk) * 8);
}

/* Allocates the storage of field b (n points) on every rank, agreed, zeroed by first touch:
 * the ghost points hold zeros until filled, so no uninitialised value is ever read. */
static dp_status_t alloc_field(loop_t *L, int b, int64_t n)
{
    dp_status_t st = DP_OK;
    L->f[b].data = malloc((size_t)n * sizeof(double));
    if (!L->f[b].data)
        st = dp_err_set(DP_ERR_NOMEM, "cannot allocate %.1f MiB for a field of the stencil",
                        (double)n * 8 / (1 << 20));
    DP_CALL(dp_comm_agree(st, L->it->comm));
    first_touch(L->f[b].data, n);
    return DP_OK;
}

/* Copies the own points of f from a contiguous row-major block (into_field) or to it. */
static void block_rows(dp_field_t *f, double *block, int into_field)
{
    const int64_t len = f->count[f->global.ndim - 1], rows = dp_field_rows(f);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        double *row = dp_field_row(f, r), *flat = block + r * len;
        memcpy(into_field ? row : flat, into_field ? flat : row, (size_t)len * sizeof(double));
    }
}

static dp_status_t make_fields(loop_t *L, double **block)
{
    const dp_iterate_t *it = L->it;
    for (int b = 0; b < 2; b++) {
        dp_field_t *f = &L->f[b];
        f->global = it->plan->global;
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            f->start[d] = it->start[d];
            f->count[d] = it->count[d];
            f->halo[d] = d < L->nd ? halo_width(&L->spec, d) : 0;
            f->ext[d] = f->count[d] + 2 * f->halo[d];
        }
    }
    const int64_t n = field_points(&L->spec, L->nd, it->count);
    DP_CALL(alloc_field(L, 0, n));
    block_rows(&L->f[0], *block, 1);
    free(*block); /* before the second field: two copies of the block at most */
    *block = NULL;
    return alloc_field(L, 1, n);
}

/* The points to update in sub-step s (1-based) of a group of steps sub-steps between two
 * exchanges: the block grown by (steps - s) reaches into the ghost layer on every side that
 * has a neighbour, so that the next sub-step finds valid input there. */
static dp_box_t target(const loop_t *L, int64_t s, int64_t steps)
{
    dp_box_t b = {{0, 0, 0}, {1, 1, 1}};
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        b.hi[d] = L->it->count[d];
        if (d >= L->nd)
            continue;
        const int64_t grow = (steps - s) * L->spec.radius[d];
        b.lo[d] -= L->halo.edges.side[d][0] ? 0 : grow;
        b.hi[d] += L->halo.edges.side[d][1] ? 0 : grow;
    }
    return b;
}

static void sweep(loop_t *L, const dp_box_t *b)
{
    for (int d = 0; d < DP_MAX_DIMS; d++)
        if (b->hi[d] <= b->lo[d])
            return;
    L->k->sweep(L->it->state, &L->f[L->cur], &L->f[1 - L->cur], b);
}

/* Waits for the posted exchange; books the wait and the exchange's duration (from posting at
 * t_posted to completion, seen at done_at when a poke saw it, else now). */
static dp_status_t finish_exchange(loop_t *L, double t_posted, double done_at)
{
    double *t = L->it->t;
    double t0 = MPI_Wtime();
    DP_CALL(dp_halo_end(&L->halo));
    double t1 = MPI_Wtime();
    t[DP_PHASE_COMMUNICATE] += t1 - t0;
    if (L->halo.n > 0) { /* a rank alone on a non-periodic grid exchanges nothing */
        t[DP_PHASE_HALO_WAIT] += t1 - t0;
        t[DP_PHASE_HALO] += (done_at ? done_at : t1) - t_posted;
        dp_trace_span(DP_TR_HALO_WAIT, t0, t1);
        dp_trace_span(DP_TR_HALO, t_posted, done_at ? done_at : t1);
    }
    return DP_OK;
}

/* The first sub-step after posting an exchange: the interior (points whose taps reach no
 * ghost from another rank; the ghosts beyond the array's edges were filled before the exchange
 * began) in slabs, poking the messages between slabs; then the wait, the edges again (their
 * corners next to a neighbour's ghosts), and the rim (the target less the interior, as one slab
 * per side and axis). */
static dp_status_t overlapped_step(loop_t *L, const dp_box_t *all, double t_posted)
{
    double *t = L->it->t;
    dp_box_t in = *all;
    int empty = 0;
    for (int d = 0; d < L->nd; d++) { /* the edges were filled before the exchange began */
        if (!L->halo.edges.side[d][0])
            in.lo[d] = L->spec.radius[d];
        if (!L->halo.edges.side[d][1])
            in.hi[d] = L->it->count[d] - L->spec.radius[d];
        empty |= in.hi[d] <= in.lo[d];
    }
    double done_at = 0;
    if (!empty) {
        const int64_t n0 = in.hi[0] - in.lo[0];
        const int64_t slabs = n0 < INTERIOR_SLABS ? n0 : INTERIOR_SLABS;
        for (int64_t q = 0; q < slabs; q++) {
            dp_box_t slab = in;
            slab.lo[0] = in.lo[0] + n0 * q / slabs;
            slab.hi[0] = in.lo[0] + n0 * (q + 1) / slabs;
            double t0 = MPI_Wtime();
            sweep(L, &slab);
            double t1 = dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
            if (!done_at && dp_halo_progress(&L->halo))
                done_at = MPI_Wtime();
            t[DP_PHASE_COMMUNICATE] += MPI_Wtime() - t1;
        }
    }
    DP_CALL(finish_exchange(L, t_posted, done_at));
    double t1 = MPI_Wtime();
    L->k->fill(L->it->state, &L->f[L->cur], &L->halo.edges);
    if (empty) {
        sweep(L, all);
    } else {
        dp_box_t rest = *all;
        for (int d = 0; d < L->nd; d++) {
            dp_box_t lo = rest, hi = rest;
            lo.hi[d] = in.lo[d];
            hi.lo[d] = in.hi[d];
            sweep(L, &lo);
            sweep(L, &hi);
            rest.lo[d] = in.lo[d];
            rest.hi[d] = in.hi[d];
        }
    }
    dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t1);
    return DP_OK;
}

static dp_status_t snapshot(loop_t *L, int64_t done)
{
    double t0 = MPI_Wtime();
    dp_status_t st = dp_snapshots_append(&L->snaps, &L->f[L->cur], done);
    dp_trace_time(&L->it->t[DP_PHASE_WRITE], DP_TR_WRITE, t0);
    return st;
}

/* What follows iteration done: the convergence check (or the final residual), a snapshot, a
 * checkpoint. change is the local largest change of that iteration when known (tiles), else
 * NAN to measure it from the two fields. */
static dp_status_t after_step(loop_t *L, int64_t done, double change, int known, int *converged,
                              double *residual)
{
    const dp_iterate_t *it = L->it;
    double *t = it->t;
    const int last = done == L->spec.iterations;
    const int check = L->spec.tolerance > 0 && done % L->spec.check_every == 0;
    if (check || last) {
        double t0 = MPI_Wtime();
        double local = known ? change : dp_field_max_change(&L->f[L->cur], &L->f[1 - L->cur]);
        double t1 = dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
        /* NaN as the largest change: a diverged field is said so, never "converged" */
        if (isnan(local))
            local = INFINITY;
        DP_CALL(dp_comm_check(MPI_Allreduce(&local, residual, 1, MPI_DOUBLE, MPI_MAX, it->comm),
                              "agreeing on the residual"));
        dp_trace_time(&t[DP_PHASE_COMMUNICATE], DP_TR_REDUCE, t1);
        if (check && *residual < L->spec.tolerance) {
            *converged = 1;
            return DP_OK;
        }
    }
    if (L->spec.snapshot_every > 0 && done % L->spec.snapshot_every == 0)
        DP_CALL(snapshot(L, done));
    if (L->spec.checkpoint_every > 0 && done % L->spec.checkpoint_every == 0 && !last) {
        double t0 = MPI_Wtime();
        const dp_status_t st = dp_checkpoint_write(L->spec.checkpoint_path, &L->f[L->cur], done,
                                                   L->spec.signature, it->info, it->comm);
        dp_trace_time(&t[DP_PHASE_CHECKPOINT], DP_TR_CHECKPOINT, t0); /* also when it failed */
        DP_CALL(st);
    }
    return DP_OK;
}

/* One group of steps sub-steps, sweep by sweep: one exchange, then steps sweeps over the
 * shrinking boxes of target(). */
static dp_status_t group_sweeps(loop_t *L, int64_t steps, int64_t *done, int *converged,
                                double *residual)
{
    const dp_iterate_t *it = L->it;
    double *t = it->t;
    for (int64_t s = 1; s <= steps; s++) {
        const dp_box_t b = target(L, s, steps);
        if (s == 1) {
            if (it->overlap)
                L->k->fill(it->state, &L->f[L->cur], &L->halo.edges);
            double t0 = MPI_Wtime();
            DP_CALL(dp_halo_begin(&L->halo, L->f[L->cur].data));
            t[DP_PHASE_COMMUNICATE] += MPI_Wtime() - t0;
            if (it->overlap) {
                DP_CALL(overlapped_step(L, &b, t0));
            } else {
                DP_CALL(finish_exchange(L, t0, 0));
                double t2 = MPI_Wtime();
                L->k->fill(it->state, &L->f[L->cur], &L->halo.edges);
                sweep(L, &b);
                dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t2);
            }
        } else {
            double t0 = MPI_Wtime();
            L->k->fill(it->state, &L->f[L->cur], &L->halo.edges);
            sweep(L, &b);
            dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
        }
        L->cur = 1 - L->cur;
        ++*done;
        DP_CALL(after_step(L, *done, 0, 0, converged, residual));
        if (*converged)
            return DP_OK;
    }
    return DP_OK;
}

/* Whether a tile's input (the tile grown by grow) reaches into ghosts that come from other
 * ranks. */
static int needs_halo(const loop_t *L, const dp_box_t *b, const int64_t grow[DP_MAX_DIMS])
{
    for (int d = 0; d < L->nd; d++) {
        if (!L->halo.edges.side[d][0] && b->lo[d] - grow[d] < 0)
            return 1;
        if (!L->halo.edges.side[d][1] && b->hi[d] + grow[d] > L->it->count[d])
            return 1;
    }
    return 0;
}

/* One group of steps sub-steps by temporal blocking: one exchange, then every cache tile of the
 * block iterated steps times at once (the kernel's steps()); with overlap the edges are filled
 * first and the tiles that need no ghosts from other ranks are done while the exchange is in
 * flight; then the edges are filled (again) and the other tiles follow. Returns 0
 * without doing anything when the block cannot be tiled. */
static dp_status_t group_tiles(loop_t *L, int64_t steps, int64_t *done, int *converged,
                               double *residual, int *did)
{
    const dp_iterate_t *it = L->it;
    double *t = it->t;
    int64_t grow[DP_MAX_DIMS] = {0, 0, 0};
    for (int d = 0; d < L->nd; d++)
        grow[d] = steps * L->spec.radius[d];
    dp_box_t *tiles = NULL;
    const int64_t n = dp_field_tiles(&L->f[L->cur], grow, &tiles);
    *did = n > 0;
    if (!*did) {
        free(tiles);
        return DP_OK;
    }
    int64_t inner = 0; /* tiles[0..inner) need no ghosts from other ranks */
    for (int64_t q = 0; q < n; q++)
        if (!needs_halo(L, &tiles[q], grow)) {
            const dp_box_t x = tiles[inner];
            tiles[inner++] = tiles[q];
            tiles[q] = x;
        }
    const int want = *done + steps == L->spec.iterations ||
                     (L->spec.tolerance > 0 && (*done + steps) % L->spec.check_every == 0);
    double change = 0;
    dp_field_t *in = &L->f[L->cur], *out = &L->f[1 - L->cur];
    if (it->overlap)
        L->k->fill(it->state, in, &L->halo.edges);
    double t0 = MPI_Wtime();
    dp_status_t st = dp_halo_begin(&L->halo, in->data);
    t[DP_PHASE_COMMUNICATE] += MPI_Wtime() - t0;
    double done_at = 0;
    const int64_t first = it->overlap ? inner : 0;
    const int64_t batches = first < INTERIOR_SLABS ? first : INTERIOR_SLABS;
    for (int64_t q = 0; q < batches && st == DP_OK; q++) {
        const int64_t a = first * q / batches, b = first * (q + 1) / batches;
        double t1 = MPI_Wtime();
        const double c =
            L->k->steps(it->state, in, out, &L->halo.edges, steps, tiles + a, b - a, want);
        change = c > change || isnan(c) ? c : change;
        double t2 = dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t1);
        if (!done_at && dp_halo_progress(&L->halo))
            done_at = MPI_Wtime();
        t[DP_PHASE_COMMUNICATE] += MPI_Wtime() - t2;
    }
    if (st == DP_OK)
        st = finish_exchange(L, t0, done_at);
    if (st == DP_OK) {
        double t1 = MPI_Wtime();
        L->k->fill(it->state, in, &L->halo.edges);
        const double c =
            L->k->steps(it->state, in, out, &L->halo.edges, steps, tiles + first, n - first, want);
        change = c > change || isnan(c) ? c : change;
        dp_trace_time(&t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t1);
    }
    free(tiles);
    DP_CALL(st);
    L->cur = 1 - L->cur;
    *done += steps;
    return after_step(L, *done, change, 1, converged, residual);
}

/* The iterations between two exchanges: at most halo_depth, and ending where a check, a
 * snapshot or a checkpoint is due, so that those see a whole field. */
static int64_t group_length(const loop_t *L, int64_t done)
{
    int64_t steps = L->spec.iterations - done;
    if (steps > L->spec.halo_depth)
        steps = L->spec.halo_depth;
    const int64_t every[3] = {L->spec.tolerance > 0 ? L->spec.check_every : 0,
                              L->spec.snapshot_every, L->spec.checkpoint_every};
    for (int q = 0; q < 3; q++)
        if (every[q] > 0 && every[q] - done % every[q] < steps)
            steps = every[q] - done % every[q];
    return steps;
}

static dp_status_t group(loop_t *L, int64_t steps, int64_t *done, int *converged, double *residual)
{
    if (steps > 1 && L->spec.tiles && L->k->steps) {
        int did = 0;
        DP_CALL(group_tiles(L, steps, done, converged, residual, &did));
        if (did)
            return DP_OK;
    }
    return group_sweeps(L, steps, done, converged, residual);
}

/* After a group of iterations, where the field is whole: every VOTE_SECONDS or so (a number
 * of groups agreed from the slowest rank's pace), the ranks vote; when any rank received
 * SIGUSR1 or SIGTERM, writes a checkpoint (where the kernel has one) and stops. Collective. */
static dp_status_t stop_if_signalled(loop_t *L, int64_t done)
{
    const dp_iterate_t *it = L->it;
    if (++L->since_vote < L->vote_every)
        return DP_OK;
    const double now = MPI_Wtime();
    const double mine[2] = {dp_signal_pending(), (now - L->last_vote) / (double)L->since_vote};
    double all[2];
    MPI_Allreduce(mine, all, 2, MPI_DOUBLE, MPI_MAX, it->comm);
    const double every = all[1] > 0 ? VOTE_SECONDS / all[1] : 1e6;
    L->vote_every = every < 1 ? 1 : every > 1e5 ? 100000 : (int64_t)every;
    L->since_vote = 0;
    L->last_vote = now;
    const int sig = (int)all[0];
    if (!sig)
        return DP_OK;
    if (!L->spec.checkpoint_path)
        return dp_err_set(DP_ERR_STOPPED,
                          "stopped by %s after iteration %lld of %lld; no checkpoint_path, so "
                          "nothing to continue from; no output written",
                          dp_signal_name(sig), (long long)done, (long long)L->spec.iterations);
    const double t0 = MPI_Wtime();
    DP_CALL(dp_checkpoint_write(L->spec.checkpoint_path, &L->f[L->cur], done, L->spec.signature,
                                it->info, it->comm));
    dp_trace_time(&it->t[DP_PHASE_CHECKPOINT], DP_TR_CHECKPOINT, t0);
    return dp_err_set(DP_ERR_STOPPED,
                      "stopped by %s after iteration %lld of %lld; checkpoint '%s' written: run "
                      "the same job with --restart to continue; no output written",
                      dp_signal_name(sig), (long long)done, (long long)L->spec.iterations,
                      L->spec.checkpoint_path);
}

/* Copies the own points of the latest field into a new contiguous block. */
static dp_status_t gather_block(loop_t *L, double **block)
{
    const dp_iterate_t *it = L->it;
    free(L->f[1 - L->cur].data);
    L->f[1 - L->cur].data = NULL;
    const int64_t len = it->count[L->nd - 1], rows = dp_field_rows(&L->f[L->cur]);
    const int64_t n = rows * len;
    dp_status_t st = DP_OK;
    *block = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!*block)
        st = dp_err_set(DP_ERR_NOMEM, "cannot allocate %.1f MiB for the result",
                        (double)n * 8 / (1 << 20));
    DP_CALL(dp_comm_agree(st, it->comm));
    block_rows(&L->f[L->cur], *block, 0);
    return DP_OK;
}

static dp_status_t iterate(loop_t *L, double **block)
{
    const dp_iterate_t *it = L->it;
    DP_CALL(make_fields(L, block));
    dp_status_t st = dp_halo_create(&L->halo, it->comm, it->plan, it->rank, &L->f[0],
                                    L->spec.corners || L->spec.halo_depth > 1, L->spec.periodic);
    L->halo_made = 1;
    DP_CALL(dp_comm_agree(st, it->comm));
    int64_t done = it->first;
    if (L->spec.snapshot_every > 0) {
        DP_CALL(dp_snapshots_open(&L->snaps, L->spec.snapshot_path, &it->plan->global, it->comm));
        DP_CALL(snapshot(L, done));
    }
    int converged = 0;
    double residual = NAN;
    dp_progress_begin("iterate", "iterations", done, L->spec.iterations, 0);
    while (done < L->spec.iterations && !converged) {
        DP_CALL(group(L, group_length(L, done), &done, &converged, &residual));
        dp_progress_update(done);
        if (done < L->spec.iterations && !converged)
            DP_CALL(stop_if_signalled(L, done));
    }
    dp_progress_end();
    dp_results_int(it->results, "iterations_done", done);
    if (it->first > 0)
        dp_results_int(it->results, "restarted_from", it->first);
    if (done > it->first)
        dp_results_real(it->results, "residual", residual);
    if (L->spec.snapshot_every > 0) {
        dp_results_int(it->results, "snapshots", L->snaps.n);
        DP_CALL(dp_snapshots_close(&L->snaps, it->info));
    }
    return gather_block(L, block);
}

dp_status_t dp_iterate_run(const dp_iterate_t *it, double **block)
{
    loop_t L = {.it = it,
                .k = it->job->kernel,
                .nd = it->plan->global.ndim,
                .vote_every = 1,
                .last_vote = MPI_Wtime()};
    L.k->iteration(it->state, &L.spec);
    dp_status_t st = iterate(&L, block);
    if (st != DP_OK)
        dp_snapshots_abort(&L.snaps);
    if (L.halo_made)
        dp_halo_free(&L.halo);
    free(L.f[0].data);
    free(L.f[1].data);
    return st;
}
