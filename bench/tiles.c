#include "tiles.h"

#include "histogram.h"
#include "median.h"
#include "stats_tile.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *name;
    const dp_tile_ops_t *ops;
} variant_t;

/* The variants this processor runs, best first (the one reduce picks, see stats.c's tile_ops). */
static int variants(variant_t *v)
{
    int n = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
        v[n++] = (variant_t){"avx512", &dp_tile_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        v[n++] = (variant_t){"avx2", &dp_tile_avx2};
#endif
    v[n++] = (variant_t){"base", &dp_tile_base};
    return n;
}

enum { PASSES = 3, CALLS = 500, MAX_REPS = 63 };

static const char *const pass_name[PASSES] = {"sum", "sum,min,max,mean,var", "hist"};

/* Runs pass p of ops CALLS times over x; returns nanoseconds per value. As reduce runs them on
 * a tile whose values stay below the last one's largest: the sums with passes A and B in one
 * (scan_fold), the histogram alone with its loop for values all in the range. */
static double time_pass(const dp_tile_ops_t *ops, int p, const double *x, const dp_hist_t *h,
                        dp_bin_counts_t counts, int32_t *idx, dp_xsum_t *s1, dp_xsum_t *s2,
                        dp_xsum_t *s2small)
{
    double mn, mx;
    int64_t refused = 0;
    const double t0 = omp_get_wtime();
    for (int c = 0; c < CALLS; c++)
        refused += p < 2
                       ? ops->scan_fold(x, DP_TILE, 1.0, p, s1, s2, s2small, &mn, &mx, NULL, 0) < 0
                       : ops->hist_count(x, DP_TILE, h, idx, counts, 1, &mn, &mx, NULL, 0) < 0;
    const double t = omp_get_wtime() - t0;
    if (refused) { /* values out of [0, 1): then this would time the wrong loop */
        fprintf(stderr, "dp_bench: the tile passes refused the benchmark's values\n");
        exit(1);
    }
    return t * 1e9 / ((double)CALLS * DP_TILE);
}

void dp_bench_tiles(const double *x, int reps, double memory_ns)
{
    variant_t v[3];
    const int nv = variants(v);
    dp_hist_t h;
    dp_hist_make(&h, 256, 0.0, 1.0);
    const int64_t stride = dp_hist_words(&h) + 1;
    int64_t *c = calloc((size_t)(DP_BIN_COPIES * stride), sizeof *c);
    if (!c)
        abort();
    const dp_bin_counts_t counts = {.c = c, .stride = stride};
    static int32_t idx[DP_TILE];
    dp_xsum_t s1, s2, s2small;
    dp_xsum_init(&s1);
    dp_xsum_init(&s2);
    dp_xsum_init(&s2small);
    double t[3][PASSES][MAX_REPS + 1];
    reps = reps < MAX_REPS ? reps : MAX_REPS;
    for (int r = 0; r <= reps; r++) /* the first round warms up */
        for (int k = 0; k < nv; k++)
            for (int p = 0; p < PASSES; p++)
                t[k][p][r] = time_pass(v[k].ops, p, x, &h, counts, idx, &s1, &s2, &s2small);
    double best[PASSES] = {0};
    printf("  \"tile_ns_per_value\": {");
    for (int k = 0; k < nv; k++) {
        printf("%s\n    \"%s\": {", k ? "," : "", v[k].name);
        for (int p = 0; p < PASSES; p++) {
            const double ns = dp_bench_median(t[k][p] + 1, reps);
            if (k == 0)
                best[p] = ns;
            printf("%s\"%s\": %.4f", p ? ", " : "", pass_name[p], ns);
        }
        printf("}");
    }
    printf("\n  },\n  \"memory_ns_per_value_per_thread\": %.4f,\n", memory_ns);
    printf("  \"tile_share_of_memory_time\": {");
    for (int p = 0; p < PASSES; p++)
        printf("%s\n    \"%s\": %.3f", p ? "," : "", pass_name[p], best[p] / memory_ns);
    printf("\n  },\n");
    free(c);
    dp_hist_free(&h);
}
