/* Histograms with numpy's conventions: `bins` equal bins over [lo, hi], edges as
 * numpy.linspace makes them, every bin half-open but the last, which is closed; values outside
 * the range are counted below and above, NaN values are skipped. */
#ifndef DP_HISTOGRAM_H
#define DP_HISTOGRAM_H

#include <stdint.h>

typedef struct {
    int64_t bins;
    double lo, hi;
    double norm;   /* bins / (hi - lo) */
    double *edges; /* bins + 1 edges */
} dp_hist_t;

/* Words of a histogram's counts: bins counts, then below, then above (bins + 2 int64 in all).
 * Local. */
static inline int64_t dp_hist_words(const dp_hist_t *h)
{
    return h->bins + 2;
}

/* Whether a value's bin can be found by scaling, (v - lo) * norm: not when the range is so
 * narrow (below bins / DBL_MAX, subnormal) that norm overflows. Local. */
static inline int dp_hist_scaled(const dp_hist_t *h)
{
    return h->norm <= 0x1.fffffffffffffp+1023;
}

/* Sets up bins over [lo, hi] (lo == hi widens to [lo - 0.5, hi + 0.5] as numpy does).
 * Local. */
void dp_hist_make(dp_hist_t *h, int64_t bins, double lo, double hi);

/* Frees the edges. Local. */
void dp_hist_free(dp_hist_t *h);

/* Adds n values to counts (dp_hist_words of them) on the calling thread. Local. */
void dp_hist_count(const dp_hist_t *h, const double *x, int64_t n, int64_t *counts);

#endif
