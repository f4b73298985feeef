#include "stats.h"

#include "stats_tile.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <omp.h>
#include <string.h>

/* The data are processed in tiles that stay in L1 (stats_tile.c holds the SIMD passes): pass A
 * cleans NaN and finds count, min, max and max |x|; pass B sums the tile exactly (values far
 * below the tile's largest have their low bits added one at a time). A tile with values too
 * large for pass B goes one value at a time into the exact accumulator. Either way the sums are
 * exact, so the order of additions (threads, ranks, pieces) cannot change them. */

/* Tiles whose largest |x| reaches 2^500 (or is Inf) take the exact scalar path: their squares
 * could overflow the extractors. */
#define FAST_LIMIT 0x1p500
/* The largest guess scan_fold takes (below FAST_LIMIT / 2). */
#define GUESS_LIMIT 0x1p498
/* Squares of values below DP_SQUARES_EXACT go to s2small, from the values scaled by
 * 2^DP_STATS_SMALL_SHIFT (stats_tile.h). The folds do that one value at a time; a tile whose
 * largest |x| is below TINY_LIMIT is folded as a whole from a scaled copy instead. */
#define TINY_LIMIT 0x1p-460

/* The SIMD passes for the best instruction set this processor has (stats_tile.c is compiled
 * once per set). */
static const dp_tile_ops_t *tile_ops(void)
{
    static const dp_tile_ops_t *chosen; /* threads may race to set it, all to the same value */
    const dp_tile_ops_t *ops = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (!ops) {
        ops = &dp_tile_base;
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
            ops = &dp_tile_avx512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            ops = &dp_tile_avx2;
#endif
        __atomic_store_n(&chosen, ops, __ATOMIC_RELAXED);
    }
    return ops;
}

int64_t dp_block_global_index(const dp_block_t *b, int64_t l)
{
    const int64_t c12 = b->count[1] * b->count[2];
    const int64_t i0 = l / c12, r = l % c12, i1 = r / b->count[2], i2 = r % b->count[2];
    return ((b->start[0] + i0) * b->global.n[1] + b->start[1] + i1) * b->global.n[2] + b->start[2] +
           i2;
}

void dp_stats_init(dp_stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    s->argmin = s->argmax = s->first_nan = -1;
    dp_xsum_init(&s->s1);
    dp_xsum_init(&s->s2);
    dp_xsum_init(&s->s2big);
    dp_xsum_init(&s->s2small);
}

dp_moment_sums_t dp_stats_moments(const dp_stats_t *s)
{
    return (dp_moment_sums_t){.s1 = &s->s1,
                              .s2 = &s->s2,
                              .s2_high = &s->s2big,
                              .s2_low = &s->s2small,
                              .high_exp = 2 * DP_STATS_BIG_SHIFT};
}

static int before(double v, int64_t i, double w, int64_t j, int less)
{
    if (j < 0)
        return i >= 0;
    if (i < 0)
        return 0;
    if (v != w)
        return less ? v < w : v > w;
    return i < j;
}

void dp_stats_merge(dp_stats_t *a, const dp_stats_t *b)
{
    a->count += b->count;
    a->nan += b->nan;
    if (before(b->min, b->argmin, a->min, a->argmin, 1)) {
        a->min = b->min;
        a->argmin = b->argmin;
    }
    if (before(b->max, b->argmax, a->max, a->argmax, 0)) {
        a->max = b->max;
        a->argmax = b->argmax;
    }
    if (b->first_nan >= 0 && (a->first_nan < 0 || b->first_nan < a->first_nan))
        a->first_nan = b->first_nan;
    dp_xsum_merge(&a->s1, &b->s1);
    dp_xsum_merge(&a->s2, &b->s2);
    dp_xsum_merge(&a->s2big, &b->s2big);
    dp_xsum_merge(&a->s2small, &b->s2small);
}

/* The exact scalar path for one value, the only one that values of |x| >= FAST_LIMIT take: their
 * squares go to s2big, scaled (exactly, by a power of two) so that they cannot overflow; those
 * of values below DP_SQUARES_EXACT to s2small, scaled so that they lose no bit. */
static void add_exact(dp_stats_t *s, double v, int squares)
{
    dp_xsum_add(&s->s1, v);
    if (!squares)
        return;
    dp_xsum_t *to = &s->s2;
    if (fabs(v) >= FAST_LIMIT && isfinite(v)) {
        v = ldexp(v, -DP_STATS_BIG_SHIFT);
        to = &s->s2big;
    } else if (fabs(v) < DP_SQUARES_EXACT) {
        v = ldexp(v, DP_STATS_SMALL_SHIFT);
        to = &s->s2small;
    }
    const double p = v * v;
    dp_xsum_add(to, p);
    if (isfinite(p))
        dp_xsum_add(to, fma(v, v, -p));
}

/* Where the values of a tile sit in the global array: element off + i of block b, or, when b
 * is NULL, global index base + i * stride. */
typedef struct {
    const dp_block_t *b;
    int64_t off, base, stride;
} place_t;

static int64_t index_of(const place_t *p, int64_t i)
{
    return p->b ? dp_block_global_index(p->b, p->off + i) : p->base + i * p->stride;
}

/* A thread's histogram counts: DP_BIN_COPIES interleaved arrays of `stride` words (the bins,
 * below, above, then NaN, which the statistics count anyway), or one array when they would take
 * more than BIN_COPIES_MAX_WORDS. */
typedef struct {
    int64_t *c;
    int64_t stride;
    int copies;
    int in_range; /* the last tile's values were all in [lo, hi] */
} bins_t;

enum { BIN_COPIES_MAX_WORDS = 1024 /* 32 KiB of copies at most */ };

static bins_t bins_alloc(const dp_hist_t *h)
{
    bins_t b = {.stride = dp_hist_words(h) + 1};
    b.copies = b.stride <= BIN_COPIES_MAX_WORDS ? DP_BIN_COPIES : 1;
    b.c = calloc((size_t)(b.stride * b.copies), sizeof *b.c);
    if (!b.c)
        abort();
    return b;
}

/* Histogram counts of one tile, bins found with SIMD; the values up to next_n of next are
 * prefetched meanwhile. Returns the count of NaN values and sets *mn and *mx, or returns -1 if
 * the bins were found another way (which does not find those). */
static int64_t count_bins(const dp_tile_ops_t *ops, const dp_hist_t *h, const double *x, int64_t n,
                          bins_t *b, const double *next, int64_t next_n, double *mn, double *mx)
{
    if ((h->hi - h->lo) / (double)h->bins == 0.0 || h->bins >= INT32_MAX - 3 ||
        !dp_hist_scaled(h)) {
        /* edges not i * step + lo, too many bins for int32, or a range too narrow to scale */
        dp_hist_count(h, x, n, b->c);
        return -1;
    }
    int32_t idx[DP_TILE];
    const dp_bin_counts_t counts = {.c = b->c, .stride = b->copies > 1 ? b->stride : 0};
    int64_t nan = b->in_range ? ops->hist_count(x, n, h, idx, counts, 1, mn, mx, next, next_n) : -1;
    if (nan < 0) /* not known to be, or not, in the range */
        nan = ops->hist_count(x, n, h, idx, counts, 0, mn, mx, next, next_n);
    b->in_range = nan == 0 && *mn >= h->lo && *mx <= h->hi;
    return nan;
}

/* Adds the sums of a tile whose every |x| is below TINY_LIMIT (padded values, NaN replaced by 0,
 * in clean, which this scales): x to s1, (x 2^DP_STATS_SMALL_SHIFT)^2 to s2small. */
static void fold_tiny(const dp_tile_ops_t *ops, dp_stats_t *s, double *clean, int64_t padded,
                      double amax, const double *next, int64_t next_n)
{
    ops->fold(clean, padded, amax, 0, &s->s1, NULL, NULL, next, next_n);
    for (int64_t i = 0; i < padded; i++)
        clean[i] = ldexp(clean[i], DP_STATS_SMALL_SHIFT); /* exact: no overflow, no rounding */
    dp_xsum_t scaled_sum;
    dp_xsum_init(&scaled_sum);
    /* the squares of the scaled values are exact as they are: into s2small unscaled */
    ops->fold(clean, padded, ldexp(amax, DP_STATS_SMALL_SHIFT), 1, &scaled_sum, &s->s2small, NULL,
              NULL, 0);
}

/* Passes A and B as two: count, min, max and max |x| with NaN replaced by 0 in a copy, then
 * the sums of the copy. For tiles with no good guess of their largest |x|. */
static int64_t scan_then_fold(const dp_tile_ops_t *ops, dp_stats_t *s, const double *x, int64_t n,
                              const dp_stats_want_t *w, double *mn, double *mx, const double *next,
                              int64_t next_n)
{
    double clean[DP_TILE + DP_TILE_PAD] __attribute__((aligned(64)));
    double amax;
    const int64_t count = ops->scan(x, n, clean, mn, mx, &amax);
    const int64_t padded = (n + DP_TILE_PAD - 1) / DP_TILE_PAD * DP_TILE_PAD;
    if (amax == 0.0 || !(w->sums || w->squares))
        return count;
    if (w->squares && amax < TINY_LIMIT) {
        fold_tiny(ops, s, clean, padded, amax, next, next_n);
        return count;
    }
    if (amax < FAST_LIMIT) {
        ops->fold(clean, padded, amax, w->squares, &s->s1, &s->s2, &s->s2small, next, next_n);
        return count;
    }
    for (int64_t i = 0; i < n; i++)
        add_exact(s, clean[i], w->squares);
    return count;
}

/* Statistics of x[0..n) (n <= DP_TILE); meanwhile the tile after the next one is prefetched, up
 * to end (the next one was, by the tile before this one). guess is the largest |x| of the
 * thread's last tile (0: none): when this tile's values stay below it (as ones of a similar size
 * do), passes A and B are one pass over x. Either way the sums are exact, so the guess cannot
 * change a bit of them. */
static void tile(dp_stats_t *s, const double *x, int64_t n, place_t at, const double *end,
                 const dp_stats_want_t *w, bins_t *bins, double *guess)
{
    const dp_tile_ops_t *ops = tile_ops();
    /* two tiles ahead: with the prefetches non-temporal (stats_tile.c), a bare loop of folds over
     * 1 GiB at 2 threads on the Zen 5 VM, alternating both distances in one process, read a
     * median 0.95 of the probe against 0.87 one tile ahead for the sum (ahead in 8 runs of 9),
     * 0.81 against 0.79 with squares (7 of 9); dp_bench's runs could not tell them apart */
    const int64_t left = end - (x + n);
    const int64_t next_n =
        left > DP_TILE ? (left - DP_TILE < DP_TILE ? left - DP_TILE : DP_TILE) : 0;
    const double *next = next_n ? x + n + DP_TILE : x + n;
    const int folds = w->sums || w->squares;
    double mn, mx;
    int64_t count = -1;
    int binned = 0;
    /* a guess below TINY_LIMIT: the squares need scan_then_fold's scaled copy */
    if (folds && *guess > 0.0 && !(w->squares && *guess < TINY_LIMIT) && n % DP_TILE_PAD == 0) {
        const int64_t nan = ops->scan_fold(x, n, *guess, w->squares, &s->s1, &s->s2, &s->s2small,
                                           &mn, &mx, next, next_n);
        count = nan < 0 ? -1 : n - nan;
    } else if (!folds && w->hist) { /* a histogram alone: it finds count, min and max too */
        const int64_t nan = count_bins(ops, w->hist, x, n, bins, next, next_n, &mn, &mx);
        binned = 1;
        count = nan < 0 ? -1 : n - nan;
    }
    if (count < 0)
        count = scan_then_fold(ops, s, x, n, w, &mn, &mx, next, next_n);
    if (count == n) {
        const double amax = fmax(fabs(mn), fabs(mx));
        *guess = amax < GUESS_LIMIT ? amax : 0.0;
    } else { /* NaN here: likely in the next tile too, which scan_fold would refuse */
        *guess = 0.0;
    }
    s->count += count;
    s->nan += n - count;
    if (count < n && s->first_nan < 0) {
        int64_t i = 0;
        while (x[i] == x[i])
            i++;
        s->first_nan = index_of(&at, i);
    }
    if (count > 0 && (mn < s->min || s->argmin < 0)) {
        int64_t i = 0;
        while (!(x[i] == mn))
            i++;
        s->min = x[i]; /* not mn: of -0 and +0, the one that comes first */
        s->argmin = index_of(&at, i);
    }
    if (count > 0 && (mx > s->max || s->argmax < 0)) {
        int64_t i = 0;
        while (!(x[i] == mx))
            i++;
        s->max = x[i];
        s->argmax = index_of(&at, i);
    }
    if (w->hist && !binned) { /* while the tile is in L1; the fold prefetched */
        double hmn, hmx;
        count_bins(ops, w->hist, x, n, bins, x + n, 0, &hmn, &hmx);
    }
}

void dp_stats_add(dp_stats_t *s, const dp_block_t *b, const dp_stats_want_t *w,
                  int64_t *hist_counts)
{
    const int64_t n = dp_block_size(b);
    const int64_t ntiles = (n + DP_TILE - 1) / DP_TILE;
    const int64_t words = w->hist ? dp_hist_words(w->hist) : 0;
#pragma omp parallel
    {
        dp_stats_t local;
        dp_stats_init(&local);
        double guess = 0.0;
        bins_t bins = {0};
        if (words)
            bins = bins_alloc(w->hist);
        /* the end of this thread's share, for prefetching: static schedule, equal chunks */
        const int nt = omp_get_num_threads(), me = omp_get_thread_num();
        const int64_t per = ntiles / nt, extra = ntiles % nt;
        const int64_t last_tile = me * per + (me < extra ? me : extra) + per + (me < extra);
        const int64_t limit = last_tile * DP_TILE < n ? last_tile * DP_TILE : n;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < ntiles; t++) {
            const int64_t off = t * DP_TILE;
            const place_t at = {.b = b, .off = off};
            tile(&local, b->data + off, n - off < DP_TILE ? n - off : DP_TILE, at, b->data + limit,
                 w, &bins, &guess);
        }
#pragma omp critical(dp_stats_merge)
        {
            dp_stats_merge(s, &local);
            for (int k = 0; k < bins.copies; k++)
                for (int64_t i = 0; i < words; i++)
                    hist_counts[i] += bins.c[k * bins.stride + i];
        }
        free(bins.c);
    }
}

void dp_stats_add_run(dp_stats_t *s, const double *x, int64_t n, int64_t base, int64_t stride,
                      const dp_stats_want_t *w)
{
    double guess = 0.0;
    for (int64_t off = 0; off < n; off += DP_TILE) {
        const place_t at = {.b = NULL, .base = base + off * stride, .stride = stride};
        tile(s, x + off, n - off < DP_TILE ? n - off : DP_TILE, at, x + n, w, NULL, &guess);
    }
}
