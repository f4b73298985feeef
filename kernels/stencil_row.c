/* The row loop of the stencil sweep for one instruction set: CMake builds this file once per
 * DP_TILE_ISA (avx512, avx2, base) with -ffp-contract=off, so that no build fuses a multiply
 * and an add the others do not: every variant gives the same bits. */
#include "stencil_row.h"

#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)

/* A vector of the natural width of the instruction set the file is built for (8 doubles for
 * AVX-512, 4 for AVX2, 2 otherwise): GCC lowers wider generic vectors badly. Written with vector
 * types because left to itself GCC vectorises the loop over the taps (with gathers) instead of
 * the loop over the points. */
#if defined(__AVX512F__)
#define VLEN 8
#elif defined(__AVX2__)
#define VLEN 4
#else
#define VLEN 2
#endif
typedef double vec_t __attribute__((vector_size(VLEN * sizeof(double))));

/* w in every lane (no arithmetic: -0.0 stays -0.0) */
static inline vec_t splat(double w)
{
    vec_t v;
    for (int l = 0; l < VLEN; l++)
        v[l] = w;
    return v;
}

/* Four vectors of points per block: their accumulators stay in registers while every tap adds
 * to them, so each output point is stored once, and four independent chains of additions hide
 * the latency of each (one chain would wait on every add). */
void CAT(dp_stencil_row, DP_TILE_ISA)(const double *src, double *restrict o, int64_t m,
                                      const int64_t *toff, const double *w, int ntaps)
{
    enum { NV = 4 };
    int64_t k = 0;
    for (; k + NV * VLEN <= m; k += NV * VLEN) {
        vec_t acc[NV], x;
        const double *s0 = src + k + toff[0];
        const vec_t w0 = splat(w[0]);
        for (int v = 0; v < NV; v++) {
            memcpy(&x, s0 + v * VLEN, sizeof x); /* unaligned loads */
            acc[v] = w0 * x;
        }
        for (int q = 1; q < ntaps; q++) {
            const double *s = src + k + toff[q];
            const vec_t wq = splat(w[q]);
            for (int v = 0; v < NV; v++) {
                memcpy(&x, s + v * VLEN, sizeof x);
                acc[v] = acc[v] + wq * x;
            }
        }
        memcpy(o + k, acc, sizeof acc);
    }
    for (; k < m; k++) {
        double acc = w[0] * src[k + toff[0]];
        for (int q = 1; q < ntaps; q++)
            acc = acc + w[q] * src[k + toff[q]];
        o[k] = acc;
    }
}
