/* The median of a benchmark's timed repetitions. */
#ifndef DP_BENCH_MEDIAN_H
#define DP_BENCH_MEDIAN_H

#include <stdlib.h>

static inline int dp_bench_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of t[0..n) (n >= 1), which it sorts. Local. */
static inline double dp_bench_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, dp_bench_cmp);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

#endif
