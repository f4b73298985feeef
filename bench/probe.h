/* The bandwidth probe of bench/dp_bench.c, compiled for the processor it runs on. */
#ifndef DP_PROBE_H
#define DP_PROBE_H

#include <stdint.h>

/* The sum of x[0..n) by the plainest loop that reads memory as fast as this processor can:
 * vectors of its native width, four accumulators, OpenMP threads over equal chunks. What a
 * memory-bound reduction can reach. Local (OpenMP). */
double dp_probe_read(const double *x, int64_t n);

/* STREAM triad a = b + 3 c over n values. Local (OpenMP). */
void dp_probe_triad(double *a, const double *b, const double *c, int64_t n);

#endif
