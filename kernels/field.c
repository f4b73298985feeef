#include "kernel.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

double dp_field_max_change(const dp_field_t *a, const dp_field_t *b)
{
    double m = 0;
    int nan = 0;
    const int64_t rows = dp_field_rows(a), len = a->count[a->global.ndim - 1];
#pragma omp parallel for reduction(max                                                             \
                                   : m) reduction(|                                                \
                                                  : nan) schedule(static) if (!omp_in_parallel())
    for (int64_t r = 0; r < rows; r++) {
        const double *x = dp_field_row(a, r), *y = dp_field_row(b, r);
        for (int64_t k = 0; k < len; k++) {
            const double c = fabs(x[k] - y[k]);
            m = c > m ? c : m;
            nan |= c != c;
        }
    }
    return nan ? NAN : m;
}

int64_t dp_field_tiles(const dp_field_t *f, const int64_t grow[DP_MAX_DIMS], dp_box_t **tiles)
{
    const int nd = f->global.ndim;
    int64_t ts[DP_MAX_DIMS] = {1, 1, 1}, nt[DP_MAX_DIMS] = {1, 1, 1};
    for (int d = 0; d < nd; d++)
        ts[d] = f->count[d];
    for (;;) {
        int64_t points = 1;
        for (int d = 0; d < nd; d++)
            points *= ts[d] + 2 * grow[d];
        if (points <= DP_TILE_POINTS)
            break;
        int cut = -1;
        for (int d = 0; d < nd; d++) {
            const int64_t len = d == nd - 1 ? ts[d] / 2 : ts[d];
            if (ts[d] > 1 && (cut < 0 || len > (cut == nd - 1 ? ts[cut] / 2 : ts[cut])))
                cut = d;
        }
        if (cut < 0)
            return 0;
        ts[cut] = (ts[cut] + 1) / 2;
    }
    int64_t n = 1;
    for (int d = 0; d < nd; d++) {
        nt[d] = f->count[d] > 0 ? (f->count[d] + ts[d] - 1) / ts[d] : 0;
        n *= nt[d];
    }
    *tiles = malloc((size_t)(n > 0 ? n : 1) * sizeof **tiles);
    if (!*tiles)
        return 0;
    for (int64_t q = 0; q < n; q++) {
        dp_box_t *b = &(*tiles)[q];
        int64_t rest = q;
        for (int d = DP_MAX_DIMS - 1; d >= 0; d--) {
            const int64_t c = rest % nt[d];
            rest /= nt[d];
            b->lo[d] = c * ts[d];
            b->hi[d] =
                d < nd ? (b->lo[d] + ts[d] < f->count[d] ? b->lo[d] + ts[d] : f->count[d]) : 1;
        }
    }
    return n;
}
