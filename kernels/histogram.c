#include "histogram.h"

#include <stdlib.h>

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

/* The bin of v in [lo, hi] by its edges: the last bin whose lower edge is at most v. */
static int64_t bin_by_edges(const double *edges, int64_t bins, double v)
{
    int64_t a = 0, b = bins - 1; /* edges[a] <= v; the answer is in [a, b] */
    while (a < b) {
        const int64_t m = a + (b - a + 1) / 2;
        if (edges[m] <= v)
            a = m;
        else
            b = m - 1;
    }
    return a;
}

/* The bin of v in [lo, hi] is found as numpy.histogram finds it: scaled, then corrected by one
 * against the edges; by the edges alone when the range is so narrow that the scale overflows. */
void dp_hist_count(const dp_hist_t *h, const double *restrict x, int64_t n,
                   int64_t *restrict counts)
{
    if (!dp_hist_scaled(h)) {
        for (int64_t i = 0; i < n; i++) {
            const double v = x[i];
            if (v < h->lo)
                counts[h->bins]++;
            else if (v > h->hi)
                counts[h->bins + 1]++;
            else if (v == v)
                counts[bin_by_edges(h->edges, h->bins, v)]++;
        }
        return;
    }
    /* locals, so that the stores to counts do not force reloads of the spec */
    const double lo = h->lo, hi = h->hi, norm = h->norm;
    const double *restrict edges = h->edges;
    const int64_t last = h->bins - 1;
    int64_t below = 0, above = 0;
    for (int64_t i = 0; i < n; i++) {
        const double v = x[i];
        if (v < lo) {
            below++;
        } else if (v > hi) {
            above++;
        } else if (v == v) {
            int64_t b = (int64_t)((v - lo) * norm);
            b = b > last ? last : b;
            b -= v < edges[b];
            b += b != last && v >= edges[b + 1];
            counts[b]++;
        }
    }
    counts[last + 1] += below;
    counts[last + 2] += above;
}
