#include "reduce_axis.h"

#include <stdlib.h>

int64_t dp_axis_outputs(const dp_shape_t *global, int axis, dp_shape_t *reduced)
{
    *reduced = (dp_shape_t){.ndim = 0, .n = {1, 1, 1}};
    int64_t m = 1;
    for (int d = 0; d < global->ndim; d++) {
        if (d == axis)
            continue;
        reduced->n[reduced->ndim++] = global->n[d];
        m *= global->n[d];
    }
    if (reduced->ndim == 0) { /* a 1-D array reduced along its only axis: one value */
        reduced->ndim = 1;
        reduced->n[0] = 1;
    }
    return m;
}

void dp_axis_add(dp_stats_t *outs, const dp_block_t *in, int axis, const dp_stats_want_t *w)
{
    const int64_t *c = in->count, *s = in->start, *g = in->global.n;
    const int64_t len = c[axis];
    int64_t lstride = 1, gstride = 1; /* between values of a line: in the piece, in the array */
    for (int d = axis + 1; d < DP_MAX_DIMS; d++) {
        lstride *= c[d];
        gstride *= g[d];
    }
    /* the other two axes, slow then fast, and their extents in the reduced array */
    int o[2], k = 0;
    for (int d = 0; d < DP_MAX_DIMS; d++)
        if (d != axis)
            o[k++] = d;
    const int64_t lines = c[o[0]] * c[o[1]];
#pragma omp parallel
    {
        double *buf = lstride == 1 ? NULL : malloc(DP_TILE * sizeof *buf);
        if (lstride != 1 && !buf)
            abort();
#pragma omp for schedule(static)
        for (int64_t line = 0; line < lines; line++) {
            int64_t at[DP_MAX_DIMS];
            at[o[0]] = line / c[o[1]];
            at[o[1]] = line % c[o[1]];
            at[axis] = 0;
            const int64_t first = (at[0] * c[1] + at[1]) * c[2] + at[2];
            const int64_t gfirst = ((s[0] + at[0]) * g[1] + s[1] + at[1]) * g[2] + s[2] + at[2];
            const int64_t out = (s[o[0]] + at[o[0]]) * g[o[1]] + s[o[1]] + at[o[1]];
            const double *x = in->data + first;
            for (int64_t j = 0; j < len; j += DP_TILE) {
                const int64_t n = len - j < DP_TILE ? len - j : DP_TILE;
                const double *run = x + j * lstride;
                if (buf) {
                    for (int64_t i = 0; i < n; i++)
                        buf[i] = run[i * lstride];
                    run = buf;
                }
                dp_stats_add_run(&outs[out], run, n, gfirst + j * gstride, gstride, w);
            }
        }
        free(buf);
    }
}
