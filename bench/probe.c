/* The bandwidth probe. CMake compiles this file with -march=native: the reduce kernel runs the
 * widest SIMD variant the processor has (kernels/stats_tile.c), so the probe must too, or it
 * measures the baseline's instruction throughput instead of memory (on an AVX2 machine the
 * x86-64-v2 build of a one-accumulator sum read 25-30% less than this loop). */
#include "probe.h"

#include <stdint.h>

#if defined(__AVX512F__)
#define PROBE_VBYTES 64
#elif defined(__AVX__)
#define PROBE_VBYTES 32
#else
#define PROBE_VBYTES 16
#endif

#pragma GCC diagnostic ignored "-Wpsabi"
typedef double pv __attribute__((vector_size(PROBE_VBYTES)));
typedef double pv_alias __attribute__((vector_size(PROBE_VBYTES), may_alias));
enum { PL = PROBE_VBYTES / 8, STEP = 4 * PL };

double dp_probe_read(const double *x, int64_t n)
{
    /* from the first vector boundary on: on Zen 5, vectors that straddle cache lines (malloc
     * gives 16-byte alignment) read 25% less at 2 threads, and a probe must not be slowed by
     * where the caller's array happens to start */
    int64_t head = (int64_t)((PROBE_VBYTES - (uintptr_t)x % PROBE_VBYTES) % PROBE_VBYTES / 8);
    head = head < n ? head : n;
    double s = 0.0;
    for (int64_t i = 0; i < head; i++)
        s += x[i];
    const double *y = __builtin_assume_aligned(x + head, PROBE_VBYTES);
    const int64_t steps = (n - head) / STEP;
#pragma omp parallel reduction(+ : s)
    {
        pv a = {0}, b = {0}, c = {0}, d = {0};
#pragma omp for schedule(static)
        for (int64_t k = 0; k < steps; k++) {
            const pv_alias *p = (const pv_alias *)(y + k * STEP);
            a += p[0];
            b += p[1];
            c += p[2];
            d += p[3];
        }
        const pv t = (a + b) + (c + d);
        for (int l = 0; l < PL; l++)
            s += t[l];
    }
    for (int64_t i = head + steps * STEP; i < n; i++)
        s += x[i];
    return s;
}

void dp_probe_triad(double *a, const double *b, const double *c, int64_t n)
{
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++)
        a[i] = b[i] + 3.0 * c[i];
}
