/* The innermost loop of a stencil sweep, one implementation per instruction set
 * (stencil_row.c compiled three times, like stats_tile.c); stencil_sweep.c picks one at run
 * time. All compute the same operations in the same order: the same bits. */
#ifndef DP_STENCIL_ROW_H
#define DP_STENCIL_ROW_H

#include <stdint.h>

/* o[k] = sum over taps q of w[q] * src[k + toff[q]], left to right from the first product,
 * for 0 <= k < m. With stream, the aligned vectors of o are written with non-temporal stores
 * (no read for ownership: 16 instead of 24 bytes of memory traffic per point), for outputs far
 * larger than the caches. */
typedef void dp_stencil_row_fn(const double *src, double *restrict o, int64_t m,
                               const int64_t *toff, const double *w, int ntaps, int stream);

#if defined(__x86_64__)
dp_stencil_row_fn dp_stencil_row_avx512; /* needs AVX-512F */
dp_stencil_row_fn dp_stencil_row_avx2;   /* needs AVX2 */
#endif
dp_stencil_row_fn dp_stencil_row_base; /* the build's baseline (x86-64-v2 on x86) */

#endif
