/* The row loop of the stencil sweep for one instruction set: CMake builds this file once per
 * DP_TILE_ISA (avx512, avx2, base) with -ffp-contract=off, so that no build fuses a multiply
 * and an add the others do not: every variant gives the same bits. */
#include "stencil_row.h"

#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)

/* Eight doubles as one value: the compiler maps it onto one AVX-512 register, two AVX2 or four
 * SSE registers. Written with vector types because left to itself GCC vectorises the loop over
 * the taps (with gathers) instead of the loop over the points. */
typedef double vec_t __attribute__((vector_size(64)));
enum { VLEN = 8 };

/* Two vectors of points per block: their accumulators stay in registers while every tap adds
 * to them, so each output point is stored once. */
void CAT(dp_stencil_row, DP_TILE_ISA)(const double *src, double *restrict o, int64_t m,
                                      const int64_t *toff, const double *w, int ntaps)
{
    int64_t k = 0;
    for (; k + 2 * VLEN <= m; k += 2 * VLEN) {
        const double *s0 = src + k + toff[0];
        const vec_t w0 = {w[0], w[0], w[0], w[0], w[0], w[0], w[0], w[0]};
        vec_t a, b, x, y;
        memcpy(&x, s0, sizeof x); /* unaligned loads */
        memcpy(&y, s0 + VLEN, sizeof y);
        a = w0 * x;
        b = w0 * y;
        for (int q = 1; q < ntaps; q++) {
            const double *s = src + k + toff[q];
            const vec_t wq = {w[q], w[q], w[q], w[q], w[q], w[q], w[q], w[q]};
            memcpy(&x, s, sizeof x);
            memcpy(&y, s + VLEN, sizeof y);
            a = a + wq * x;
            b = b + wq * y;
        }
        memcpy(o + k, &a, sizeof a);
        memcpy(o + k + VLEN, &b, sizeof b);
    }
    for (; k < m; k++) {
        double acc = w[0] * src[k + toff[0]];
        for (int q = 1; q < ntaps; q++)
            acc = acc + w[q] * src[k + toff[q]];
        o[k] = acc;
    }
}
