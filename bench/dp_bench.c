/* dproc's in-memory benchmark: a STREAM-style bandwidth probe, the reduce kernel's throughput,
 * and element-wise maps (the map kernel, formulas of the expr kernel, a hand-written C loop) on
 * the same machine, in the same run. Prints one JSON object on stdout.
 *
 *   dp_bench [--mib N] [--reps R] [--threads T]
 *
 * The array (default 2048 MiB of float64, far beyond the last-level cache) is allocated and
 * first touched once, in parallel, then reused: allocation and data generation are outside the
 * timed loops. Each figure is the median of R timed repetitions after one warm-up. The read
 * probe and the reductions are timed in turn within each repetition, and
 * reduce_share_of_probe is the median of the repetitions' ratios of a reduction's speed to the
 * probe's, which a VM whose bandwidth moves from second to second disturbs least. The
 * reductions' SIMD passes are also timed on one tile already in L1 (tiles.c): their computing
 * alone, set against the time memory takes to deliver each thread a value. */
#include "job.h"
#include "kernel.h"
#include "median.h"
#include "probe.h"
#include "results.h"
#include "tiles.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The job of text, parsed as dproc parses it; a bad one ends the benchmark. */
static dp_job_t parse_job(const char *text)
{
    dp_job_t job;
    dp_diag_t diag = {0};
    if (dp_job_parse(&job, "bench.ini", text, strlen(text), NULL, 0, &diag) != 0) {
        dp_diag_print(&diag, stderr);
        exit(1);
    }
    return job;
}

/* Runs reduce with the given [reduce] section over x as one rank; returns seconds. */
static double time_reduce(const char *section, double *x, int64_t n, double *check)
{
    char text[512];
    snprintf(text, sizeof text,
             "[job]\nkernel = reduce\n[input]\nsource = generate\nshape = %lld\n[reduce]\n%s\n",
             (long long)n, section);
    dp_job_t job = parse_job(text);
    const dp_kernel_t *k = job.kernel;
    const dp_shape_t g = {.ndim = 1, .n = {n, 1, 1}};
    dp_block_t b = {.global = g, .count = {n, 1, 1}, .data = x};
    const double t0 = omp_get_wtime();
    void *st = k->create(job.kcfg, &g);
    int more = 1;
    while (more) {
        void *p = malloc(k->partial_size(st));
        k->partial_init(st, p);
        k->process(st, &b, &b, p);
        more = k->next_pass(st, p);
        free(p);
    }
    dp_results_t res = {0};
    k->results(st, NULL, &res); /* reduce keeps its combined partial */
    const double t = omp_get_wtime() - t0;
    *check = res.n && !res.v[0].is_int ? res.v[0].r[0] : 0.0;
    dp_results_free(&res);
    k->destroy(st);
    dp_job_free(&job);
    return t;
}

/* Runs the MAP kernel of the job text's [job] kernel over x into y as one rank, as the driver
 * does for one piece; returns seconds. */
static double time_map(const char *kernel, const char *section, const double *x, double *y,
                       int64_t n)
{
    char text[512];
    snprintf(text, sizeof text,
             "[job]\nkernel = %s\n[input]\nsource = generate\nshape = %lld\n[output]\n"
             "path = bench.h5\n[%s]\n%s\n",
             kernel, (long long)n, kernel, section);
    dp_job_t job = parse_job(text);
    const dp_kernel_t *k = job.kernel;
    const dp_shape_t g = {.ndim = 1, .n = {n, 1, 1}};
    dp_block_t in = {.global = g, .count = {n, 1, 1}, .data = (double *)x};
    dp_block_t out = {.global = g, .count = {n, 1, 1}, .data = y};
    void *st = k->create ? k->create(job.kcfg, &g) : NULL;
    const double t0 = omp_get_wtime();
    k->process(st, &in, &out, NULL);
    const double t = omp_get_wtime() - t0;
    if (k->destroy)
        k->destroy(st);
    dp_job_free(&job);
    return t;
}

/* The hand-written loop that kernel expr's sqrt(x*x + 1) competes with. */
static void c_sqrt_loop(const double *x, double *y, int64_t n)
{
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = sqrt(x[i] * x[i] + 1.0);
}

enum { MAX_REPS = 63 };

/* The value of option argv[i] as an integer in [lo, hi]; ends the benchmark with its usage if
 * it is missing or out of range. */
static long long option(int argc, char **argv, int i, long long lo, long long hi)
{
    char *end = NULL;
    const long long v = i + 1 < argc ? strtoll(argv[i + 1], &end, 10) : 0;
    if (i + 1 >= argc || end == argv[i + 1] || *end || v < lo || v > hi) {
        fprintf(stderr, "dp_bench: %s takes an integer in [%lld, %lld]\n", argv[i], lo, hi);
        fprintf(stderr, "usage: dp_bench [--mib N] [--reps R] [--threads T]\n");
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int64_t mib = 2048;
    int reps = 5, threads = omp_get_max_threads();
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--mib")) {
            mib = option(argc, argv, i, 1, 1 << 24);
        } else if (!strcmp(argv[i], "--reps")) {
            reps = (int)option(argc, argv, i, 1, MAX_REPS);
        } else if (!strcmp(argv[i], "--threads")) {
            threads = (int)option(argc, argv, i, 1, 4096);
        } else {
            fprintf(stderr, "usage: dp_bench [--mib N] [--reps R] [--threads T]\n");
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    omp_set_num_threads(threads);
    const int64_t n = mib * (1 << 20) / 8;
    double *x = malloc((size_t)n * sizeof *x);
    if (!x)
        return 1;
        /* first touch in parallel, as the timed loops will read it; values uniform in [0,1) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        x[i] = dp_generate_random_at(7, (uint64_t)i);

    const double bytes = (double)n * 8;
    double t[MAX_REPS + 1], sink = 0.0;
    struct {
        const char *name;
        const char *section;
    } cases[] = {
        {"sum", "ops = sum"},
        {"sum,min,max,mean,var", "ops = sum,min,max,mean,var"},
        {"hist", "ops = hist\nbins = 256\nrange = 0,1"},
    };
    printf("{\n  \"threads\": %d,\n  \"array_mib\": %lld,\n  \"reps\": %d,\n", threads,
           (long long)mib, reps);
    {
        const int64_t m = n / 3 / 8 * 8; /* the three arrays aligned alike */
        double *ta = x, *tb = x + m, *tc = x + 2 * m;
        for (int r = 0; r <= reps; r++) {
            const double t0 = omp_get_wtime();
            dp_probe_triad(ta, tb, tc, m);
            t[r] = omp_get_wtime() - t0;
        }
        const double triad = 3.0 * (double)m * 8 / dp_bench_median(t + 1, reps) / 1e9;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++)
            x[i] = dp_generate_random_at(7, (uint64_t)i);
        /* the probe and each reduction in turn, once per repetition, so that all of them see
         * the machine in the same state (a VM's bandwidth can move within seconds); each
         * reduction's share of the probe is also taken repetition by repetition */
        enum { NCASES = sizeof cases / sizeof cases[0] };
        double tp[MAX_REPS + 1], tr[NCASES][MAX_REPS + 1], ratio[NCASES][MAX_REPS];
        for (int r = 0; r <= reps; r++) {
            const double t0 = omp_get_wtime();
            sink += dp_probe_read(x, n);
            tp[r] = omp_get_wtime() - t0;
            for (int c = 0; c < NCASES; c++) {
                double check = 0.0;
                tr[c][r] = time_reduce(cases[c].section, x, n, &check);
                sink += check;
                if (r)
                    ratio[c][r - 1] = tp[r] / tr[c][r];
            }
        }
        const double probe_gbs = bytes / dp_bench_median(tp + 1, reps) / 1e9;
        printf("  \"probe_read_gbs\": %.3f,\n", probe_gbs);
        printf("  \"probe_triad_gbs\": %.3f,\n", triad);
        const char *key[] = {"reduce_gbs", "reduce_share_of_probe"};
        for (int k = 0; k < 2; k++) {
            printf("  \"%s\": {", key[k]);
            for (int c = 0; c < NCASES; c++)
                printf("%s\n    \"%s\": %.3f", c ? "," : "", cases[c].name,
                       k ? dp_bench_median(ratio[c], reps)
                         : bytes / dp_bench_median(tr[c] + 1, reps) / 1e9);
            printf("\n  },\n");
        }
        dp_bench_tiles(x, reps, threads * 8.0 / probe_gbs);
    }

    /* maps read x and write y: 16 bytes per element */
    double *y = malloc((size_t)n * sizeof *y);
    if (!y)
        return 1;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = 0.0;
    struct {
        const char *name, *kernel, *section;
    } maps[] = {
        {"axpy (map)", "map", "op = axpy\na = 2.5\nb = 1"},
        {"a*x + b (expr)", "expr", "y = a*x + b\na = 2.5\nb = 1"},
        {"sqrt(x*x + 1) (C loop)", NULL, NULL},
        {"sqrt(x*x + 1) (expr)", "expr", "y = sqrt(x*x + 1)"},
    };
    printf("  \"map_gbs\": {");
    for (size_t c = 0; c < sizeof maps / sizeof maps[0]; c++) {
        for (int r = 0; r <= reps; r++) {
            if (maps[c].kernel) {
                t[r] = time_map(maps[c].kernel, maps[c].section, x, y, n);
            } else {
                const double t0 = omp_get_wtime();
                c_sqrt_loop(x, y, n);
                t[r] = omp_get_wtime() - t0;
            }
        }
        sink += y[n / 2];
        printf("%s\n    \"%s\": %.3f", c ? "," : "", maps[c].name,
               2 * bytes / dp_bench_median(t + 1, reps) / 1e9);
    }
    printf("\n  },\n  \"checksum\": %.6g\n}\n", sink);
    free(y);
    free(x);
    return 0;
}
