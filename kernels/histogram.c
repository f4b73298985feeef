#include "histogram.h"

#include <stdlib.h>
#include <string.h>

void dp_hist_make(dp_hist_t *h, int64_t bins, double lo, double hi)
{
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    h->bins = bins;
    h->lo = lo;
    h->hi = hi;
    h->norm = (double)bins / (hi - lo);
    h->edges = malloc((size_t)(bins + 1) * sizeof *h->edges);
    if (!h->edges)
        abort();
    /* numpy.linspace(lo, hi, bins + 1): i * step + lo, the last edge exactly hi */
    const double step = (hi - lo) / (double)bins;
    for (int64_t i = 0; i <= bins; i++)
        h->edges[i] =
            step == 0.0 ? (double)i / (double)bins * (hi - lo) + lo : (double)i * step + lo;
    h->edges[bins] = hi;
}

void dp_hist_free(dp_hist_t *h)
{
    free(h->edges);
    h->edges = NULL;
}

/* The bin of v in [lo, hi] as numpy.histogram finds it: scale, then correct by the edges. */
static inline int64_t bin_of(const dp_hist_t *h, double v)
{
    int64_t i = (int64_t)((v - h->lo) * h->norm);
    if (i >= h->bins)
        i = h->bins - 1;
    if (v < h->edges[i])
        i--;
    else if (i != h->bins - 1 && v >= h->edges[i + 1])
        i++;
    return i;
}

void dp_hist_add(const dp_hist_t *h, const double *x, int64_t n, int64_t *counts)
{
    const int64_t words = dp_hist_words(h);
#pragma omp parallel
    {
        int64_t *local = calloc((size_t)words, sizeof *local);
        if (!local)
            abort();
        int64_t *below = local + h->bins, *above = below + 1;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            const double v = x[i];
            if (v < h->lo)
                (*below)++;
            else if (v > h->hi)
                (*above)++;
            else if (v == v)
                local[bin_of(h, v)]++;
        }
#pragma omp critical(dp_hist_merge)
        for (int64_t b = 0; b < words; b++)
            counts[b] += local[b];
        free(local);
    }
}
