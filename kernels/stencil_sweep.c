#include "stencil.h"
#include "stencil_row.h"
#include "work.h"

#include <math.h>
#include <omp.h>

/* The row loop for this processor, chosen once. */
static dp_stencil_row_fn *row_fn(void)
{
    static dp_stencil_row_fn *fn;
    if (!fn) {
        dp_stencil_row_fn *f = dp_stencil_row_base;
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
            f = dp_stencil_row_avx512;
        else if (__builtin_cpu_supports("avx2"))
            f = dp_stencil_row_avx2;
#endif
        fn = f;
    }
    return fn;
}

/* Outputs larger than this are written with streaming stores: they will not be read again
 * before they have left the caches anyway. */
#define STREAM_BYTES ((int64_t)64 << 20)

/* Rows are cut into segments of this many points, the units of work shared among threads
 * (so that a 1-D array is shared too). */
enum { SEG = 2048 };

/* Offsets of the taps as distances in the field's storage. */
static void tap_strides(const dp_taps_t *t, const dp_field_t *f, int64_t *toff)
{
    for (int q = 0; q < t->n; q++) {
        int64_t o[DP_MAX_DIMS] = {0, 0, 0};
        for (int d = 0; d < t->ndim; d++)
            o[d] = t->off[q][d];
        toff[q] = (o[0] * f->ext[1] + o[1]) * f->ext[2] + o[2];
    }
}

void dp_taps_sweep(const dp_taps_t *t, const dp_field_t *in, dp_field_t *out, const dp_box_t *box)
{
    /* rows along the last axis (contiguous), the other axes as outer loops */
    const int inner = in->global.ndim - 1;
    int64_t n[DP_MAX_DIMS] = {1, 1, 1};
    for (int d = 0; d <= inner; d++) {
        n[d] = box->hi[d] - box->lo[d];
        if (n[d] <= 0)
            return;
    }
    dp_work_add(n[0] * n[1] * n[2]);
    const int64_t len = n[inner], nseg = (len + SEG - 1) / SEG;
    const int64_t outer1 = inner >= 2 ? n[1] : 1;
    const int64_t ntasks = (inner >= 1 ? n[0] : 1) * outer1 * nseg;
    int64_t toff[DP_STENCIL_MAX_TAPS];
    tap_strides(t, in, toff);
    const int ntaps = t->n;
    const double *w = t->w;
    dp_stencil_row_fn *apply_row = row_fn();
    const int stream =
        out->ext[0] * out->ext[1] * out->ext[2] * (int64_t)sizeof(double) > STREAM_BYTES;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int64_t task = 0; task < ntasks; task++) {
        const int64_t seg = task % nseg, row = task / nseg;
        int64_t x[DP_MAX_DIMS] = {0, 0, 0};
        if (inner >= 1)
            x[0] = box->lo[0] + row / outer1;
        if (inner >= 2)
            x[1] = box->lo[1] + row % outer1;
        x[inner] = box->lo[inner] + seg * SEG;
        const int64_t m = len - seg * SEG < SEG ? len - seg * SEG : SEG;
        apply_row(dp_field_at(in, x[0], x[1], x[2]), dp_field_at(out, x[0], x[1], x[2]), m, toff, w,
                  ntaps, stream);
    }
}

void dp_taps_sweep_ref(const dp_taps_t *t, const dp_field_t *in, dp_field_t *out,
                       const dp_box_t *box)
{
    for (int64_t i = box->lo[0]; i < box->hi[0]; i++)
        for (int64_t j = box->lo[1]; j < box->hi[1]; j++)
            for (int64_t k = box->lo[2]; k < box->hi[2]; k++) {
                int64_t x[DP_MAX_DIMS];
                double acc = 0;
                for (int q = 0; q < t->n; q++) {
                    x[0] = i, x[1] = j, x[2] = k;
                    for (int d = 0; d < t->ndim; d++)
                        x[d] += t->off[q][d];
                    const double v = t->w[q] * *dp_field_at(in, x[0], x[1], x[2]);
                    acc = q == 0 ? v : acc + v;
                }
                *dp_field_at(out, i, j, k) = acc;
            }
}

/* Fills one side of one axis: the ghost layers beyond it, across the whole stored extent of
 * the other axes (so that corners take the value of the axes filled before). */
static void fill_side(dp_field_t *f, int d, int high, dp_boundary_t b, double value)
{
    int64_t lo[DP_MAX_DIMS] = {0, 0, 0};
    int64_t hi[DP_MAX_DIMS] = {f->ext[0], f->ext[1], f->ext[2]};
    lo[d] = high ? f->halo[d] + f->count[d] : 0;
    hi[d] = high ? f->ext[d] : f->halo[d];
    const int64_t edge = high ? f->halo[d] + f->count[d] - 1 : f->halo[d];
    const int64_t e1 = f->ext[1], e2 = f->ext[2];
#pragma omp parallel for collapse(2) schedule(static) if (!omp_in_parallel())
    for (int64_t a = lo[0]; a < hi[0]; a++)
        for (int64_t c = lo[1]; c < hi[1]; c++) {
            double *row = f->data + (a * e1 + c) * e2;
            if (b == DP_BOUNDARY_DIRICHLET) {
                for (int64_t k = lo[2]; k < hi[2]; k++)
                    row[k] = value;
            } else {
                const int64_t src[DP_MAX_DIMS] = {d == 0 ? edge : a, d == 1 ? edge : c, edge};
                const double *from = f->data + (src[0] * e1 + src[1]) * e2;
                for (int64_t k = lo[2]; k < hi[2]; k++)
                    row[k] = from[d == 2 ? edge : k];
            }
        }
}

void dp_field_fill_edges(dp_field_t *f, const dp_edges_t *edges, dp_boundary_t b, double value)
{
    for (int d = 0; d < f->global.ndim; d++)
        for (int high = 0; high < 2; high++)
            if (edges->side[d][high] && f->halo[d] > 0 && f->count[d] > 0)
                fill_side(f, d, high, b, value);
}
