#include "reduce_axis.h"

#include <omp.h>
#include <stdlib.h>

int64_t dp_axis_outputs(const dp_shape_t *global, int axis, dp_shape_t *reduced)
{
    *reduced = (dp_shape_t){.ndim = 0, .n = {1, 1, 1}};
    int64_t m = 1;
    for (int d = 0; d < global->ndim; d++) {
        if (d == axis)
            continue;
        reduced->n[reduced->ndim++] = global->n[d];
        if (__builtin_mul_overflow(m, global->n[d], &m)) /* an empty axis with huge others */
            m = INT64_MAX;
    }
    if (reduced->ndim == 0) { /* a 1-D array reduced along its only axis: one value */
        reduced->ndim = 1;
        reduced->n[0] = 1;
    }
    return m;
}

/* Where a line of a piece starts: in the piece, in the global array (row-major index) and its
 * output. o[0], o[1] are the two other axes, slow then fast. */
typedef struct {
    int64_t first, gfirst, out;
} line_at_t;

static line_at_t line_at(const dp_block_t *in, int axis, const int o[2], int64_t line)
{
    const int64_t *c = in->count, *s = in->start, *g = in->global.n;
    int64_t at[DP_MAX_DIMS];
    at[o[0]] = line / c[o[1]];
    at[o[1]] = line % c[o[1]];
    at[axis] = 0;
    return (line_at_t){
        .first = (at[0] * c[1] + at[1]) * c[2] + at[2],
        .gfirst = ((s[0] + at[0]) * g[1] + s[1] + at[1]) * g[2] + s[2] + at[2],
        .out = (s[o[0]] + at[o[0]]) * g[o[1]] + s[o[1]] + at[o[1]],
    };
}

/* Lines gathered together when they lie side by side (a strided axis): each row of the piece
 * gives GROUP neighbouring values, 256 bytes, instead of one value per visit, in runs of
 * GROUP_RUN values per line (the buffers: 128 KiB per thread, in L2), each BUF_STRIDE values
 * after the last: not a multiple of 4 KiB, which would put the GROUP values a row gives in one
 * set of the L1 cache. */
enum { GROUP = 32, GROUP_RUN = 512, BUF_STRIDE = GROUP_RUN + 8 };

void dp_axis_add(dp_stats_t *outs, const dp_block_t *in, int axis, const dp_stats_want_t *w)
{
    const int64_t *c = in->count, *g = in->global.n;
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
    /* as wide as GROUP, or narrower so that every thread has a group */
    const int64_t per_thread = lines / omp_get_max_threads();
    const int64_t width = per_thread < 1 ? 1 : per_thread < GROUP ? per_thread : GROUP;
    const int64_t groups = lstride == 1 ? 0 : (lines + width - 1) / width;
#pragma omp parallel
    {
        /* a strided axis: GROUP lines gathered at a time when they lie side by side */
        double *buf = lstride == 1 ? NULL : malloc(GROUP * BUF_STRIDE * sizeof *buf);
        if (lstride != 1 && !buf)
            abort();
#pragma omp for schedule(static)
        for (int64_t q = 0; q < groups; q++) {
            const int64_t l0 = q * width, m = lines - l0 < width ? lines - l0 : width;
            const line_at_t a = line_at(in, axis, o, l0), z = line_at(in, axis, o, l0 + m - 1);
            const int side_by_side = z.first - a.first == m - 1 && z.gfirst - a.gfirst == m - 1 &&
                                     z.out - a.out == m - 1;
            for (int64_t j = 0; j < len; j += GROUP_RUN) {
                const int64_t n = len - j < GROUP_RUN ? len - j : GROUP_RUN;
                for (int64_t l = 0; l < m; l++) {
                    const line_at_t b = side_by_side ? a : line_at(in, axis, o, l0 + l);
                    const int64_t dl = side_by_side ? l : 0;
                    const double *run = in->data + b.first + dl + j * lstride;
                    if (!side_by_side || l == 0) { /* gather this line, or the whole group */
                        const int64_t cols = side_by_side ? m : 1;
                        for (int64_t i = 0; i < n; i++)
                            for (int64_t v = 0; v < cols; v++)
                                buf[(l + v) * BUF_STRIDE + i] = run[i * lstride + v];
                    }
                    dp_stats_add_run(&outs[b.out + dl], buf + l * BUF_STRIDE, n,
                                     b.gfirst + dl + j * gstride, gstride, w);
                }
            }
        }
        /* a contiguous axis (the last): each line is a run of its own */
#pragma omp for schedule(static)
        for (int64_t line = 0; line < (lstride == 1 ? lines : 0); line++) {
            const line_at_t b = line_at(in, axis, o, line);
            for (int64_t j = 0; j < len; j += DP_TILE) {
                const int64_t n = len - j < DP_TILE ? len - j : DP_TILE;
                dp_stats_add_run(&outs[b.out], in->data + b.first + j, n, b.gfirst + j, 1, w);
            }
        }
        free(buf);
    }
}
