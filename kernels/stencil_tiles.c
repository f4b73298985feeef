#include "stencil.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Temporal blocking by overlapped tiles: each tile of the block, grown by steps * reach, is
 * iterated steps times in two scratch fields that fit in L2 (the grown part shrinking by the
 * reach each time, as deep halos do between ranks): the first sweep reads the block's field,
 * the last writes the tile's own points to the output field. Memory sees one read and one
 * write per point for steps iterations; the price is recomputing the tiles' borders. Every point is
 * computed by the same taps in the same order as a plain sweep: the same bits. */

/* A view of f's storage whose local index x is f's local index x + lo, with the extents n:
 * lets a sweep read from or write into the big field in the tile's coordinates. */
static dp_field_t view(const dp_field_t *f, const int64_t lo[DP_MAX_DIMS],
                       const int64_t n[DP_MAX_DIMS])
{
    dp_field_t v = *f;
    v.data = dp_field_at(f, lo[0], lo[1], lo[2]) - (dp_field_at(f, 0, 0, 0) - f->data);
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        v.start[d] = f->start[d] + lo[d];
        v.count[d] = n[d];
    }
    return v;
}

/* Iterates one tile: the first sweep reads the block's field, the middle ones stay in the
 * scratch buffers, the last writes the tile's own points into out. Returns the largest change
 * of the last iteration when want_change. */
static double one_tile(const dp_taps_t *t, dp_boundary_t b, double value, const dp_field_t *in,
                       dp_field_t *out, const dp_edges_t *edges, int64_t steps,
                       const int64_t reach[DP_MAX_DIMS], const dp_box_t *tile, double *scratch,
                       int want_change)
{
    const int nd = in->global.ndim;
    int64_t own[DP_MAX_DIMS];
    dp_edges_t te = {{{0, 0}, {0, 0}, {0, 0}}};
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        own[d] = tile->hi[d] - tile->lo[d];
        if (d < nd) {
            te.side[d][0] = edges->side[d][0] && tile->lo[d] == 0;
            te.side[d][1] = edges->side[d][1] && tile->hi[d] == in->count[d];
        }
    }
    const dp_field_t src = view(in, tile->lo, own);
    dp_field_t dst = view(out, tile->lo, own), f[2];
    for (int k = 0; k < 2; k++) {
        f[k] = src;
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            f[k].halo[d] = d < nd ? steps * reach[d] : 0;
            f[k].ext[d] = own[d] + 2 * f[k].halo[d];
        }
    }
    f[0].data = scratch;
    f[1].data = scratch + f[0].ext[0] * f[0].ext[1] * f[0].ext[2];
    int cur = 0; /* after the first sweep, f[cur] holds the latest iterate */
    for (int64_t s = 1; s <= steps; s++) {
        dp_box_t box = {{0, 0, 0}, {own[0], own[1], own[2]}};
        for (int d = 0; d < nd; d++) {
            const int64_t grow = (steps - s) * reach[d];
            box.lo[d] -= te.side[d][0] ? 0 : grow;
            box.hi[d] += te.side[d][1] ? 0 : grow;
        }
        if (s == 1) {
            dp_taps_sweep(t, &src, &f[0], &box);
            continue;
        }
        dp_field_fill_edges(&f[cur], &te, b, value);
        dp_taps_sweep(t, &f[cur], s == steps ? &dst : &f[1 - cur], &box);
        if (s < steps)
            cur = 1 - cur;
    }
    return want_change ? dp_field_max_change(&dst, &f[cur]) : 0;
}

double dp_taps_steps(const dp_taps_t *t, dp_boundary_t b, double value, const dp_field_t *in,
                     dp_field_t *out, const dp_edges_t *edges, int64_t steps,
                     const int64_t reach[DP_MAX_DIMS], const dp_box_t *tiles, int64_t ntiles,
                     double *scratch, int nscratch, int want_change)
{
    (void)nscratch; /* read by OpenMP only: a build without it runs one thread on scratch[0] */
    double change = 0;
    int nan = 0;
#pragma omp parallel num_threads(nscratch) reduction(max : change) reduction(| : nan)
    {
        double *mine = scratch + (size_t)omp_get_thread_num() * 2 * DP_TILE_POINTS;
#pragma omp for schedule(dynamic, 1)
        for (int64_t q = 0; q < ntiles; q++) {
            const double c =
                one_tile(t, b, value, in, out, edges, steps, reach, &tiles[q], mine, want_change);
            change = c > change ? c : change;
            nan |= c != c;
        }
    }
    return nan ? NAN : change;
}
