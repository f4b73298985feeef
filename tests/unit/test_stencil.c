#include "dp_test.h"
#include "kernel.h"
#include "stencil.h"
#include "stencil_row.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A field of the given block extents and ghost widths, its storage filled with a pattern of
 * distinct values (a hash of the storage index, in [-1, 1)). */
static dp_field_t field_new(int ndim, const int64_t count[3], const int64_t halo[3])
{
    dp_field_t f = {.global = {.ndim = ndim}};
    int64_t n = 1;
    for (int d = 0; d < 3; d++) {
        f.global.n[d] = count[d];
        f.count[d] = count[d];
        f.halo[d] = d < ndim ? halo[d] : 0;
        f.ext[d] = f.count[d] + 2 * f.halo[d];
        n *= f.ext[d];
    }
    f.data = malloc((size_t)n * sizeof(double));
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int64_t q = 0; q < n; q++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        f.data[q] = (double)(x >> 11) / 4503599627370496.0 - 1.0;
    }
    return f;
}

static int64_t storage(const dp_field_t *f)
{
    return f->ext[0] * f->ext[1] * f->ext[2];
}

static void test_taps_parse(void)
{
    dp_taps_t t;
    CU_ASSERT_PTR_NULL(dp_taps_parse("  -1,0:0.25 1,0:0.5\t0,-4:-2e-3  ", &t));
    CU_ASSERT_EQUAL(t.n, 3);
    CU_ASSERT_EQUAL(t.ndim, 2);
    CU_ASSERT_EQUAL(t.off[0][0], -1);
    CU_ASSERT_EQUAL(t.off[2][1], -4);
    CU_ASSERT_EQUAL(t.w[1], 0.5);
    CU_ASSERT_EQUAL(t.w[2], -2e-3);
    CU_ASSERT_PTR_NULL(dp_taps_parse("3:1", &t));
    CU_ASSERT_EQUAL(t.ndim, 1);
    static const char *const bad[] = {
        "",          "   ",    "1,0",   "1,0:",    "1,0:x", "1,0:1 2:1", "5:1", "-5:1",
        "1,1,1,1:1", "1,,0:1", "1;0:1", "1:1e400", "1:nan", "1:0.5x",    "a:1",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *why = dp_taps_parse(bad[k], &t);
        CU_ASSERT_PTR_NOT_NULL(why);
        if (!why)
            fprintf(stderr, "taps '%s' accepted\n", bad[k]);
    }
}

/* Sum of the weights and the number of taps of every preset against closed forms. */
static void test_presets(void)
{
    dp_taps_t t;
    for (int nd = 1; nd <= 3; nd++) {
        dp_taps_preset(DP_PRESET_JACOBI, nd, 0, 1, &t);
        CU_ASSERT_EQUAL(t.n, 2 * nd);
        for (int q = 0; q < t.n; q++)
            CU_ASSERT_EQUAL(t.w[q], 1.0 / (2 * nd));
        dp_taps_preset(DP_PRESET_HEAT, nd, 0.125, 1, &t);
        CU_ASSERT_EQUAL(t.n, 2 * nd + 1);
        CU_ASSERT_EQUAL(t.w[0], 1 - 2 * nd * 0.125);
        CU_ASSERT_EQUAL(t.off[0][0], 0);
        dp_taps_preset(DP_PRESET_LAPLACIAN, nd, 0, 1, &t);
        double sum = 0;
        for (int q = 0; q < t.n; q++)
            sum += t.w[q];
        CU_ASSERT_EQUAL(sum, 0);
        dp_taps_preset(DP_PRESET_BLUR3, nd, 0, 1, &t);
        CU_ASSERT_EQUAL(t.n, nd == 1 ? 3 : nd == 2 ? 9 : 27);
        sum = 0;
        for (int q = 0; q < t.n; q++)
            sum += t.w[q];
        CU_ASSERT_EQUAL(sum, 1); /* powers of two: exact */
        for (int r = 1; r <= DP_STENCIL_MAX_RADIUS; r++) {
            dp_taps_preset(DP_PRESET_STAR, nd, 0, r, &t);
            CU_ASSERT_EQUAL(t.n, 2 * nd * r);
            for (int q = 0; q < t.n; q += 2) { /* -j then +j, opposite weights */
                int axis = q / (2 * r), j = q % (2 * r) / 2 + 1;
                CU_ASSERT_EQUAL(t.off[q][axis], -j);
                CU_ASSERT_EQUAL(t.off[q + 1][axis], j);
                CU_ASSERT_EQUAL(t.w[q + 1], 1.0 / (2.0 * j * r));
                CU_ASSERT_EQUAL(t.w[q], -t.w[q + 1]);
            }
            dp_taps_preset(DP_PRESET_BOX, nd, 0, r, &t);
            int n = 1;
            for (int d = 0; d < nd; d++)
                n *= 2 * r + 1;
            CU_ASSERT_EQUAL(t.n, n);
            CU_ASSERT_EQUAL(t.off[0][nd - 1], -r);
            CU_ASSERT_EQUAL(t.off[t.n - 1][0], r);
            sum = 0;
            for (int q = 0; q < t.n; q++)
                sum += t.w[q];
            CU_ASSERT_DOUBLE_EQUAL(sum, 1, t.n * 2.3e-16); /* n roundings */
        }
    }
}

/* The vectorised sweep equals the point-by-point reference to the bit, for boxes that reach
 * into the ghost layer, rows longer than one segment, 1 and 2 threads. */
static void test_sweep_matches_reference(void)
{
    static const struct {
        int nd;
        int64_t count[3];
        dp_preset_t preset;
        int radius;
    } cases[] = {
        {1, {1500, 1, 1}, DP_PRESET_STAR, 4}, {2, {13, 1100, 1}, DP_PRESET_BOX, 2},
        {2, {17, 9, 1}, DP_PRESET_HEAT, 1},   {3, {7, 6, 530}, DP_PRESET_BLUR3, 1},
        {3, {5, 9, 11}, DP_PRESET_STAR, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dp_taps_t t;
        dp_taps_preset(cases[c].preset, cases[c].nd, 0.1, cases[c].radius, &t);
        const int64_t h = 2 * cases[c].radius, halo[3] = {h, h, h};
        dp_field_t in = field_new(cases[c].nd, cases[c].count, halo);
        dp_field_t a = field_new(cases[c].nd, cases[c].count, halo);
        dp_field_t b = field_new(cases[c].nd, cases[c].count, halo);
        memcpy(b.data, a.data, (size_t)storage(&a) * sizeof(double));
        dp_box_t box = {{0, 0, 0}, {1, 1, 1}};
        for (int d = 0; d < cases[c].nd; d++) { /* reach one radius into the ghosts */
            box.lo[d] = -cases[c].radius;
            box.hi[d] = cases[c].count[d] + cases[c].radius;
        }
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            dp_taps_sweep(&t, &in, &a, &box);
            dp_taps_sweep_ref(&t, &in, &b, &box);
            CU_ASSERT_EQUAL(memcmp(a.data, b.data, (size_t)storage(&a) * sizeof(double)), 0);
        }
        free(in.data);
        free(a.data);
        free(b.data);
    }
}

/* Every instruction-set variant of the row loop gives the reference's bits (each variant the
 * processor can run; one it cannot is named on stderr as not run). */
static void test_row_variants(void)
{
    enum { M = 203 };
    const int64_t count[3] = {M + 8, 1, 1}, halo[3] = {4, 0, 0};
    dp_field_t in = field_new(1, count, halo);
    dp_taps_t t;
    CU_ASSERT_PTR_NULL(dp_taps_parse("-4:0.1 3:-1e-3 0:0.7 -1:0.3 1:1e5 -4:-0.1 2:3", &t));
    int64_t toff[DP_STENCIL_MAX_TAPS];
    for (int q = 0; q < t.n; q++)
        toff[q] = t.off[q][0];
    double want[M], got[M];
    for (int k = 0; k < M; k++) {
        double acc = 0;
        for (int q = 0; q < t.n; q++) {
            const double v = t.w[q] * *dp_field_at(&in, k + toff[q], 0, 0);
            acc = q == 0 ? v : acc + v;
        }
        want[k] = acc;
    }
    dp_stencil_row_fn *const fns[] = {
        dp_stencil_row_base,
#if defined(__x86_64__)
        dp_stencil_row_avx2,
        dp_stencil_row_avx512,
#endif
    };
    for (size_t v = 0; v < sizeof fns / sizeof fns[0]; v++) {
#if defined(__x86_64__)
        const char *isa = v == 1 ? "avx2" : v == 2 ? "avx512f" : NULL;
        const int runs = v == 1   ? __builtin_cpu_supports("avx2")
                         : v == 2 ? __builtin_cpu_supports("avx512f")
                                  : 1;
        if (!runs) { /* said loudly; dproc would not use it */
            fprintf(stderr, "NOT RUN: the %s row loop (this processor lacks %s)\n", isa, isa);
            continue;
        }
#endif
        for (int stream = 0; stream < 2; stream++)
            for (int shift = 0; shift < 3; shift++) { /* outputs of every alignment */
                double buf[M + 3];
                memset(buf, 0, sizeof buf);
                fns[v](dp_field_at(&in, 0, 0, 0), buf + shift, M, toff, t.w, t.n, stream);
                memcpy(got, buf + shift, sizeof got);
                CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);
            }
    }
    free(in.data);
}

/* Closed forms: the laplacian of i^2 + 2 j^2 is 6 and the jacobi average of a linear field is
 * the field itself, exactly, at every point of the block. */
static void test_sweep_closed_forms(void)
{
    const int64_t count[3] = {9, 12, 1}, halo[3] = {1, 1, 0};
    dp_field_t in = field_new(2, count, halo), out = field_new(2, count, halo);
    const dp_box_t box = {{0, 0, 0}, {9, 12, 1}};
    dp_taps_t lap, jac;
    dp_taps_preset(DP_PRESET_LAPLACIAN, 2, 0, 1, &lap);
    dp_taps_preset(DP_PRESET_JACOBI, 2, 0, 1, &jac);
    for (int64_t i = -1; i <= 9; i++)
        for (int64_t j = -1; j <= 12; j++)
            *dp_field_at(&in, i, j, 0) = (double)(i * i + 2 * j * j);
    dp_taps_sweep(&lap, &in, &out, &box);
    int bad = 0;
    for (int64_t i = 0; i < 9; i++)
        for (int64_t j = 0; j < 12; j++)
            bad += *dp_field_at(&out, i, j, 0) != 6.0;
    CU_ASSERT_EQUAL(bad, 0);
    for (int64_t i = -1; i <= 9; i++)
        for (int64_t j = -1; j <= 12; j++)
            *dp_field_at(&in, i, j, 0) = (double)(3 * i - 5 * j + 7);
    dp_taps_sweep(&jac, &in, &out, &box);
    for (int64_t i = 0; i < 9; i++)
        for (int64_t j = 0; j < 12; j++)
            bad += *dp_field_at(&out, i, j, 0) != (double)(3 * i - 5 * j + 7);
    CU_ASSERT_EQUAL(bad, 0);
    free(in.data);
    free(out.data);
}

/* Temporal blocking equals sweep-by-sweep iteration to the bit: a block cut into many tiles,
 * some sides edges of the array (filled by the boundary rule) and some with ghosts from a
 * "neighbour" (the random values the field starts with), 1-D to 3-D, both boundary rules. The
 * reference is the deep-halo scheme: sub-step s updates the block grown by (steps - s) reaches
 * on the non-edge sides. */
static void test_tiles_match_sweeps(void)
{
    static const struct {
        int nd;
        int64_t count[3];
        dp_preset_t preset;
        int radius, steps;
        dp_boundary_t b;
    } cases[] = {
        {1, {200000, 1, 1}, DP_PRESET_STAR, 3, 3, DP_BOUNDARY_NEUMANN},
        {2, {300, 260, 1}, DP_PRESET_STAR, 2, 3, DP_BOUNDARY_NEUMANN},
        {2, {310, 250, 1}, DP_PRESET_BOX, 1, 4, DP_BOUNDARY_DIRICHLET},
        {3, {45, 50, 60}, DP_PRESET_HEAT, 1, 2, DP_BOUNDARY_NEUMANN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int nd = cases[c].nd, steps = cases[c].steps, r = cases[c].radius;
        dp_taps_t t;
        dp_taps_preset(cases[c].preset, nd, 0.1, r, &t);
        const int64_t h = (int64_t)steps * r, halo[3] = {h, h, h};
        const dp_edges_t e = {{{1, 0}, {0, 1}, {1, 1}}};
        int64_t reach[3] = {0, 0, 0}, grow[3] = {0, 0, 0};
        for (int d = 0; d < nd; d++)
            reach[d] = r, grow[d] = h;
        dp_field_t ref[2] = {field_new(nd, cases[c].count, halo),
                             field_new(nd, cases[c].count, halo)};
        dp_field_t in = field_new(nd, cases[c].count, halo),
                   out = field_new(nd, cases[c].count, halo);
        memcpy(in.data, ref[0].data, (size_t)storage(&in) * sizeof(double));
        dp_field_fill_edges(&in, &e, cases[c].b, 0.5);
        int cur = 0;
        double want_change = 0;
        for (int s = 1; s <= steps; s++) {
            dp_box_t box = {{0, 0, 0}, {1, 1, 1}};
            for (int d = 0; d < 3; d++) {
                box.hi[d] = cases[c].count[d];
                if (d < nd) {
                    box.lo[d] -= e.side[d][0] ? 0 : (int64_t)(steps - s) * r;
                    box.hi[d] += e.side[d][1] ? 0 : (int64_t)(steps - s) * r;
                }
            }
            dp_field_fill_edges(&ref[cur], &e, cases[c].b, 0.5);
            dp_taps_sweep_ref(&t, &ref[cur], &ref[1 - cur], &box);
            cur = 1 - cur;
        }
        want_change = dp_field_max_change(&ref[cur], &ref[1 - cur]);
        dp_box_t *tiles = NULL;
        const int64_t n = dp_field_tiles(&in, grow, &tiles);
        CU_ASSERT(n > 1); /* the case must exercise several tiles */
        double *scratch = malloc(2 * 2 * DP_TILE_POINTS * sizeof(double));
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            const double got = dp_taps_steps(&t, cases[c].b, 0.5, &in, &out, &e, steps, reach,
                                             tiles, n, scratch, 2, 1);
            CU_ASSERT_EQUAL(got, want_change);
            int bad = 0;
            for (int64_t r0 = 0; r0 < dp_field_rows(&out); r0++)
                bad += memcmp(dp_field_row(&out, r0), dp_field_row(&ref[cur], r0),
                              (size_t)cases[c].count[nd - 1] * sizeof(double)) != 0;
            CU_ASSERT_EQUAL(bad, 0);
        }
        free(scratch);
        free(tiles);
        free(in.data);
        free(out.data);
        free(ref[0].data);
        free(ref[1].data);
    }
}

/* Tiles cover the block exactly once and respect the budget with their growth. */
static void test_tiles_cover_block(void)
{
    const int64_t count[3] = {1000, 777, 1}, halo[3] = {6, 6, 0}, grow[3] = {6, 6, 0};
    dp_field_t f = field_new(2, count, halo);
    dp_box_t *tiles = NULL;
    const int64_t n = dp_field_tiles(&f, grow, &tiles);
    CU_ASSERT(n > 1);
    char *seen = calloc(1000 * 777, 1);
    int over = 0;
    for (int64_t q = 0; q < n; q++) {
        over += (tiles[q].hi[0] - tiles[q].lo[0] + 12) * (tiles[q].hi[1] - tiles[q].lo[1] + 12) >
                DP_TILE_POINTS;
        for (int64_t i = tiles[q].lo[0]; i < tiles[q].hi[0]; i++)
            for (int64_t j = tiles[q].lo[1]; j < tiles[q].hi[1]; j++)
                seen[i * 777 + j]++;
    }
    CU_ASSERT_EQUAL(over, 0);
    int wrong = 0;
    for (int64_t p = 0; p < 1000 * 777; p++)
        wrong += seen[p] != 1;
    CU_ASSERT_EQUAL(wrong, 0);
    free(seen);
    free(tiles);
    free(f.data);
}

static int64_t clamp(int64_t x, int64_t n)
{
    return x < 0 ? 0 : x >= n ? n - 1 : x;
}

/* Ghost filling against the np.pad definitions: edge is the nearest block point (clamped
 * index), constant is the value; sides that are not edges of the array keep what they had. */
static void test_fill_edges(void)
{
    const int64_t count[3] = {4, 3, 5}, halo[3] = {2, 3, 1};
    for (int mode = 0; mode < 2; mode++) {
        dp_field_t f = field_new(3, count, halo), orig = field_new(3, count, halo);
        dp_edges_t e = {{{1, 1}, {1, 0}, {0, 1}}};
        dp_field_fill_edges(&f, &e, mode ? DP_BOUNDARY_NEUMANN : DP_BOUNDARY_DIRICHLET, 2.5);
        int bad = 0;
        for (int64_t i = -2; i < 6; i++)
            for (int64_t j = -3; j < 6; j++)
                for (int64_t k = -1; k < 6; k++) {
                    const int64_t x[3] = {i, j, k};
                    int beyond_edge = 0, beyond_other = 0;
                    for (int d = 0; d < 3; d++) {
                        const int low = x[d] < 0, high = x[d] >= count[d];
                        if ((low && e.side[d][0]) || (high && e.side[d][1]))
                            beyond_edge = 1;
                        else if (low || high)
                            beyond_other = 1;
                    }
                    double want = *dp_field_at(&orig, i, j, k);
                    if (beyond_edge && !beyond_other)
                        want =
                            mode ? *dp_field_at(&orig, clamp(i, 4), clamp(j, 3), clamp(k, 5)) : 2.5;
                    if (beyond_edge && beyond_other)
                        continue; /* beyond a neighbour too: depends on its ghosts */
                    bad += *dp_field_at(&f, i, j, k) != want;
                }
        CU_ASSERT_EQUAL(bad, 0);
        free(f.data);
        free(orig.data);
    }
}

static void test_max_change(void)
{
    const int64_t count[3] = {3, 4, 1}, halo[3] = {1, 1, 0};
    dp_field_t a = field_new(2, count, halo), b = field_new(2, count, halo);
    memcpy(b.data, a.data, (size_t)storage(&a) * sizeof(double));
    b.data[0] += 100; /* a ghost point: not counted */
    CU_ASSERT_EQUAL(dp_field_max_change(&a, &b), 0);
    *dp_field_at(&b, 2, 3, 0) += 0.75;
    *dp_field_at(&b, 1, 1, 0) -= 0.5;
    CU_ASSERT_DOUBLE_EQUAL(dp_field_max_change(&a, &b), 0.75, 1e-15);
    *dp_field_at(&b, 0, 0, 0) = NAN;
    CU_ASSERT(isnan(dp_field_max_change(&a, &b)));
    free(a.data);
    free(b.data);
}

int main(void)
{
    static const dp_test_case_t cases[] = {
        {"taps are parsed and bad taps refused", test_taps_parse},
        {"presets have their documented taps", test_presets},
        {"the sweep equals the reference loop to the bit", test_sweep_matches_reference},
        {"every SIMD variant of the row loop gives the same bits", test_row_variants},
        {"sweeps meet closed forms", test_sweep_closed_forms},
        {"temporal blocking equals sweep-by-sweep iteration", test_tiles_match_sweeps},
        {"tiles cover the block once, within the budget", test_tiles_cover_block},
        {"edges are filled as np.pad constant and edge", test_fill_edges},
        {"max change over own points", test_max_change},
        {NULL, NULL},
    };
    return dp_test_main("stencil", cases);
}
