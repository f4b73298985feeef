/* One-pass statistics of float64 values: count, NaN count, min and max with the global index of
 * their first occurrence, and exact sums of x and x^2 (see xsum.h). Any split of the data into
 * pieces, threads or ranks gives the same bits once the partials are merged. */
#ifndef DP_STATS_H
#define DP_STATS_H

#include "histogram.h"
#include "stats_tile.h"
#include "kernel.h"
#include "xsum.h"
#include "xsum_ratio.h"

#include <stdint.h>

typedef struct {
    int64_t count;          /* values that are not NaN */
    int64_t nan;            /* NaN values */
    double min, max;        /* over non-NaN values; +Inf / -Inf when there are none */
    int64_t argmin, argmax; /* row-major global index of the first min / max; -1 when none */
    int64_t first_nan;      /* row-major global index of the first NaN; -1 when none */
    dp_xsum_t s1;           /* sum of x */
    dp_xsum_t s2;           /* sum of x^2 over |x| < 2^500 (exact: x*x plus its rounding error) */
    dp_xsum_t s2big;        /* sum of (x 2^-DP_STATS_BIG_SHIFT)^2 over |x| >= 2^500, exact: those
                               squares may exceed the largest double */
    dp_xsum_t s2small;      /* sum of (x 2^DP_STATS_SMALL_SHIFT)^2 over |x| < 2^-485 (and the
                               tiles whose every |x| is below 2^-460), exact: unscaled, those
                               squares have bits below the smallest double */
} dp_stats_t;

/* The sum of all squares is s2 + s2big 2^(2 DP_STATS_BIG_SHIFT) + s2small
 * 2^(-2 DP_STATS_SMALL_SHIFT): dp_stats_moments gives them as xsum_ratio.h takes them. */
enum { DP_STATS_BIG_SHIFT = 600 };

/* The sums of s as dp_xsum_var and dp_xsum_squares take them. Local. */
dp_moment_sums_t dp_stats_moments(const dp_stats_t *s);

/* Sets s to the statistics of no values. Local. */
void dp_stats_init(dp_stats_t *s);

/* a = statistics of the values of a and b together. Local. */
void dp_stats_merge(dp_stats_t *a, const dp_stats_t *b);

/* What dp_stats_add computes beside count, NaN count, min and max (always). */
typedef struct {
    int sums;              /* the sum of x */
    int squares;           /* the sum of x^2 (and of x) */
    const dp_hist_t *hist; /* also a histogram, counted into hist_counts; NULL: none */
} dp_stats_want_t;

/* Adds the values of a block (or piece) to s (and to hist_counts, dp_hist_words of them, when
 * w->hist is set), in one pass over memory. OpenMP over tiles of the block; the result does
 * not depend on the thread count. Local. */
void dp_stats_add(dp_stats_t *s, const dp_block_t *b, const dp_stats_want_t *w,
                  int64_t *hist_counts);

/* Adds n contiguous values (global indices base + i * stride) to s on the calling thread;
 * w->hist must be NULL. Local. */
void dp_stats_add_run(dp_stats_t *s, const double *x, int64_t n, int64_t base, int64_t stride,
                      const dp_stats_want_t *w);

/* The row-major global index of element l (0-based, row-major) of block b. Local. */
int64_t dp_block_global_index(const dp_block_t *b, int64_t l);

#endif
