/* The row loop of the stencil sweep for one instruction set: CMake builds this file once per
 * DP_TILE_ISA (avx512, avx2, base) with -ffp-contract=off, so that no build fuses a multiply
 * and an add the others do not: every variant gives the same bits. */
#include "stencil_row.h"

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

/* Stores a vector at an aligned address, past the caches when stream is set. */
static inline void put(double *p, vec_t v, int stream)
{
#if defined(__x86_64__) && defined(__AVX512F__)
    if (stream) {
        _mm512_stream_pd(p, (__m512d)v);
        return;
    }
#elif defined(__x86_64__) && defined(__AVX__)
    if (stream) {
        _mm256_stream_pd(p, (__m256d)v);
        return;
    }
#elif defined(__x86_64__)
    if (stream) {
        _mm_stream_pd(p, (__m128d)v);
        return;
    }
#else
    (void)stream;
#endif
    memcpy(p, &v, sizeof v);
}

/* One point, the same operations in the same order as a lane of the vector loop. */
static inline double point(const double *src, int64_t k, const int64_t *toff, const double *w,
                           int ntaps)
{
    double acc = w[0] * src[k + toff[0]];
    for (int q = 1; q < ntaps; q++)
        acc = acc + w[q] * src[k + toff[q]];
    return acc;
}

/* Four vectors of points per block: their accumulators stay in registers while every tap adds
 * to them, so each output point is stored once, and four independent chains of additions hide
 * the latency of each (one chain would wait on every add). Then single vectors; the points
 * before the first aligned vector and after the last are done one by one. */
void CAT(dp_stencil_row, DP_TILE_ISA)(const double *src, double *restrict o, int64_t m,
                                      const int64_t *toff, const double *w, int ntaps, int stream)
{
    enum { NV = 4 };
    int64_t k = 0;
    const int64_t misaligned = (int64_t)((uintptr_t)o / sizeof(double) % VLEN);
    const int64_t peel = misaligned ? VLEN - misaligned : 0;
    for (; k < peel && k < m; k++)
        o[k] = point(src, k, toff, w, ntaps);
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
        for (int v = 0; v < NV; v++)
            put(o + k + v * VLEN, acc[v], stream);
    }
    for (; k + VLEN <= m; k += VLEN) { /* the rest, a vector at a time */
        vec_t acc, x;
        memcpy(&x, src + k + toff[0], sizeof x);
        acc = splat(w[0]) * x;
        for (int q = 1; q < ntaps; q++) {
            memcpy(&x, src + k + toff[q], sizeof x);
            acc = acc + splat(w[q]) * x;
        }
        put(o + k, acc, stream);
    }
    for (; k < m; k++)
        o[k] = point(src, k, toff, w, ntaps);
#if defined(__x86_64__)
    if (stream) /* streaming stores are weakly ordered: make them visible before returning */
        _mm_sfence();
#endif
}
