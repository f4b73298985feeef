/* The bandwidth probe. CMake compiles this file with -march=native: the reduce kernel runs the
 * widest SIMD variant the processor has (kernels/stats_tile.c), so the probe must too, or it
 * measures the baseline's instruction throughput instead of memory (on an AVX2 machine the
 * x86-64-v2 build of a one-accumulator sum read 25-30% less than this loop). */
#include "probe.h"

#include <string.h>

#if defined(__AVX512F__)
#define PROBE_VBYTES 64
#elif defined(__AVX__)
#define PROBE_VBYTES 32
#else
#define PROBE_VBYTES 16
#endif

#pragma GCC diagnostic ignored "-Wpsabi"
typedef double pv __attribute__((vector_size(PROBE_VBYTES)));
enum { PL = PROBE_VBYTES / 8, STEP = 4 * PL };

double dp_probe_read(const double *x, int64_t n)
{
    const int64_t steps = n / STEP;
    double s = 0.0;
#pragma omp parallel reduction(+ : s)
    {
        pv a = {0}, b = {0}, c = {0}, d = {0};
#pragma omp for schedule(static)
        for (int64_t k = 0; k < steps; k++) {
            pv u, v, w, z;
            memcpy(&u, x + k * STEP, sizeof u);
            memcpy(&v, x + k * STEP + PL, sizeof v);
            memcpy(&w, x + k * STEP + 2 * PL, sizeof w);
            memcpy(&z, x + k * STEP + 3 * PL, sizeof z);
            a += u;
            b += v;
            c += w;
            d += z;
        }
        const pv t = (a + b) + (c + d);
        for (int l = 0; l < PL; l++)
            s += t[l];
    }
    for (int64_t i = steps * STEP; i < n; i++)
        s += x[i];
    return s;
}

void dp_probe_triad(double *a, const double *b, const double *c, int64_t n)
{
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++)
        a[i] = b[i] + 3.0 * c[i];
}
