#include "dp_test.h"
#include "digest.h"
#include "err.h"
#include "job.h"
#include "histogram.h"
#include "stats_tile.h"
#include "xsum.h"
#include "stats.h"
#include "xsum_ratio.h"
#include "kernel.h"
#include "results.h"
#include "rounding.h"
#include "source.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const dp_kernel_t *reduce;

/* A reduce configuration made the way dproc makes it: from job-file text (of a 3-D input, so that
 * any axis passes the checks made at parse time; the tests give the kernel the real shape). */
static dp_job_t job_for(const char *reduce_section)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[job]\nkernel = reduce\n[input]\nsource = generate\nshape = 1,1,1\n[reduce]\n%s\n",
             reduce_section);
    dp_job_t job;
    dp_diag_t diag = {0};
    CU_ASSERT_EQUAL(dp_job_parse(&job, "t.ini", text, strlen(text), NULL, 0, &diag), DP_OK);
    dp_diag_print(&diag, stderr);
    dp_diag_free(&diag);
    return job;
}

/* Runs reduce over x, an array of shape g, as `ranks` ranks would: the rows (first axis) split
 * into even bands, each band processed in pieces of at most `rows` rows, the partials combined
 * in rank order, as many passes as the kernel asks for. Fills res; returns the passes made. */
static int run_layout(const char *section, const double *x, dp_shape_t g, int ranks, int64_t rows,
                      dp_results_t *res)
{
    dp_job_t job = job_for(section);
    const int64_t n0 = g.n[0], row = g.n[1] * g.n[2];
    void *st = reduce->create(job.kcfg, &g);
    int more = 1, passes = 0;
    while (more) {
        passes++;
        size_t size = reduce->partial_size(st);
        void *acc = malloc(size), *part = malloc(size);
        for (int r = 0; r < ranks; r++) {
            const int64_t lo = n0 * r / ranks, hi = n0 * (r + 1) / ranks;
            reduce->partial_init(st, part);
            for (int64_t p = lo; p < hi; p += rows) {
                const int64_t len = hi - p < rows ? hi - p : rows;
                dp_block_t b = {.global = g,
                                .start = {p, 0, 0},
                                .count = {len, g.n[1], g.n[2]},
                                .data = (double *)x + p * row};
                reduce->process(st, &b, &b, part);
            }
            if (r == 0)
                memcpy(acc, part, size);
            else
                reduce->combine(st, acc, part);
        }
        more = reduce->next_pass(st, acc);
        free(acc);
        free(part);
    }
    if (!res->index_n) { /* indices along the axes the kernel sees, unless the test set others */
        res->index_ndim = g.ndim;
        res->index_n = g.n;
    }
    CU_ASSERT_PTR_NULL(reduce->results(st, NULL, res)); /* reduce keeps its combined partial */
    res->index_n = NULL;
    reduce->destroy(st);
    dp_job_free(&job);
    return passes;
}

/* run_layout over x[0..n), a 1-D array, in pieces of at most `piece` values. */
static void run_reduce(const char *section, const double *x, int64_t n, int ranks, int64_t piece,
                       dp_results_t *res)
{
    run_layout(section, x, (dp_shape_t){.ndim = 1, .n = {n, 1, 1}}, ranks, piece, res);
}

static const dp_result_t *find(const dp_results_t *res, const char *name)
{
    for (size_t i = 0; i < res->n; i++)
        if (!strcmp(res->v[i].name, name))
            return &res->v[i];
    return NULL;
}

static double real_of(const dp_results_t *res, const char *name)
{
    const dp_result_t *r = find(res, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r->is_int ? (double)r->i[0] : r->r[0];
}

/* Shewchuk's exact summation with a correctly rounded result (as Python's math.fsum): an
 * independent reference for the exact accumulator. Finite inputs only. */
static double fsum_ref(const double *x, int64_t n)
{
    double part[128];
    int np = 0;
    for (int64_t k = 0; k < n; k++) {
        double v = x[k];
        int i = 0;
        for (int j = 0; j < np; j++) {
            double y = part[j];
            if (fabs(v) < fabs(y)) {
                double t = v;
                v = y;
                y = t;
            }
            const double hi = v + y, lo = y - (hi - v);
            if (lo != 0.0)
                part[i++] = lo;
            v = hi;
        }
        np = i;
        part[np++] = v;
    }
    double hi = 0.0, lo = 0.0;
    if (np > 0) {
        hi = part[--np];
        while (np > 0) {
            const double v = hi, y = part[--np];
            hi = v + y;
            lo = y - (hi - v);
            if (lo != 0.0)
                break;
        }
        if (np > 0 && ((lo < 0 && part[np - 1] < 0) || (lo > 0 && part[np - 1] > 0))) {
            const double y = lo * 2, v = hi + y;
            if (y == v - hi)
                hi = v;
        }
    }
    return hi;
}

static double rnd(void)
{
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void test_xsum_exact(void)
{
    srand(3);
    enum { N = 20000 };
    static double x[N];
    for (int trial = 0; trial < 6; trial++) {
        for (int i = 0; i < N; i++) {
            const int e = trial < 3 ? (int)(rnd() * 600) - 300 : (int)(rnd() * 60) - 30;
            x[i] = ldexp(rnd() - 0.5, e);
        }
        if (trial % 2) /* heavy cancellation: every value also appears negated, but one */
            for (int i = 0; i + 1 < N; i += 2)
                x[i + 1] = -x[i] * (i == 10 ? 0.75 : 1.0);
        dp_xsum_t a;
        dp_xsum_init(&a);
        for (int i = 0; i < N; i++)
            dp_xsum_add(&a, x[i]);
        CU_ASSERT_EQUAL(dp_xsum_round(&a), fsum_ref(x, N));
        double hi, lo;
        dp_xsum_round2(&a, &hi, &lo);
        CU_ASSERT_EQUAL(hi, dp_xsum_round(&a));
        CU_ASSERT(fabs(lo) <= 0.5 * (nextafter(fabs(hi), INFINITY) - fabs(hi)));
    }
}

static void test_xsum_cases(void)
{
    const double ill[] = {1e16, 1.0, -1e16};
    const double tiny[] = {0x1p-1074, 0x1p-1074, -0x1p-1073, 0x1p-1060};
    const double big[] = {1.7976931348623157e308, 1.7976931348623157e308, -1.7976931348623157e308};
    const double ties[] = {1.0, 0x1p-53};            /* exactly halfway: rounds to even, 1.0 */
    const double ties2[] = {1.0, 0x1p-53, 0x1p-105}; /* just above halfway: rounds up */
    struct {
        const double *x;
        int n;
        double want;
    } cases[] = {
        {ill, 3, 1.0},      {tiny, 4, 0x1p-1060}, {big, 3, 1.7976931348623157e308},
        {big, 2, INFINITY}, {ties, 2, 1.0},       {ties2, 3, 1.0 + 0x1p-52},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dp_xsum_t a;
        dp_xsum_init(&a);
        for (int i = 0; i < cases[c].n; i++)
            dp_xsum_add(&a, cases[c].x[i]);
        CU_ASSERT_EQUAL(dp_xsum_round(&a), cases[c].want);
    }
    dp_xsum_t a, b;
    dp_xsum_init(&a);
    dp_xsum_init(&b);
    dp_xsum_add(&a, INFINITY);
    CU_ASSERT_EQUAL(dp_xsum_round(&a), INFINITY);
    dp_xsum_add(&b, -INFINITY);
    dp_xsum_merge(&a, &b);
    CU_ASSERT(isnan(dp_xsum_round(&a)));
    dp_xsum_init(&a);
    CU_ASSERT_EQUAL(dp_xsum_round(&a), 0.0);
    for (int i = 0; i < 5000; i++) /* many carries */
        dp_xsum_add(&a, -0x1.fffffffffffffp+1000);
    CU_ASSERT_EQUAL(dp_xsum_round(&a), -5000.0 * 0x1.fffffffffffffp+1000);
}

/* S1 and S2 of x[0..n) as dp_stats gathers them: x, and x * x plus its exact rounding error. */
static void moment_sums(const double *x, int64_t n, dp_xsum_t *s1, dp_xsum_t *s2)
{
    dp_xsum_init(s1);
    dp_xsum_init(s2);
    for (int64_t i = 0; i < n; i++) {
        const double p = x[i] * x[i];
        dp_xsum_add(s1, x[i]);
        dp_xsum_add(s2, p);
        dp_xsum_add(s2, fma(x[i], x[i], -p));
    }
}

static double mean_of(const double *x, int64_t n)
{
    dp_xsum_t s1, s2;
    double hi, lo;
    moment_sums(x, n, &s1, &s2);
    dp_xsum_mean(&s1, n, &hi, &lo);
    return hi;
}

/* var of x[0..n) through dp_stats, whose sums of squares are exact. */
static double var_of(const double *x, int64_t n, int64_t ddof)
{
    const dp_stats_want_t w = {.sums = 1, .squares = 1};
    dp_stats_t s;
    dp_stats_init(&s);
    dp_stats_add_run(&s, x, n, 0, 1, &w);
    const dp_moment_sums_t sums = dp_stats_moments(&s);
    double hi, lo;
    dp_xsum_var(&sums, n, ddof, 0, &hi, &lo);
    return hi;
}

/* Mean and variance from the exact sums against closed forms: arithmetic progressions
 * c + d i far from zero (mean c + d (n - 1) / 2, var d^2 (n^2 - 1) / 12 or d^2 n (n + 1) / 12
 * with ddof 1, each one IEEE division of exact values), constants, rounding ties, subnormal
 * and overflowing results. */
static void test_xsum_moments_closed_form(void)
{
    static double x[100003];
    const struct {
        double c, d;
        int64_t n;
    } ap[] = {
        {0x1p60, 256.0, 1001}, {1e15, 250.0, 4}, {-3.5, 0.25, 100000}, {0x1p-1000, 0x1p-1010, 7}};
    for (size_t k = 0; k < sizeof ap / sizeof ap[0]; k++) {
        const double c = ap[k].c, d = ap[k].d, n = (double)ap[k].n;
        for (int64_t i = 0; i < ap[k].n; i++)
            x[i] = c + d * (double)i;
        CU_ASSERT_EQUAL(mean_of(x, ap[k].n), c + d * (n - 1.0) / 2.0);
        if (d >= 0x1p-500) { /* the squares of the last case underflow */
            CU_ASSERT_EQUAL(var_of(x, ap[k].n, 0), d * d * (n * n - 1.0) / 12.0);
            CU_ASSERT_EQUAL(var_of(x, ap[k].n, 1), d * d * (n * (n + 1.0)) / 12.0);
        }
    }
    /* the last two: squares in the subnormal range whose rounding made n S2 exceed S1^2 */
    const double constants[] = {0.1,
                                123.456,
                                -0x1p-1074,
                                1.7976931348623157e308 / 0x1p600,
                                1e-3,
                                1e-300,
                                3.4745223178274535e-160,
                                1.6898615651504692e-162};
    const int64_t sizes[] = {100003, 5, 2, 3};
    for (size_t k = 0; k < sizeof constants / sizeof constants[0]; k++) {
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            const int64_t n = sizes[j];
            for (int64_t i = 0; i < n; i++)
                x[i] = constants[k];
            CU_ASSERT_EQUAL(mean_of(x, n), constants[k]);
            CU_ASSERT_EQUAL(var_of(x, n, 0), 0.0);
            CU_ASSERT_EQUAL(var_of(x, n, 1), 0.0);
        }
    }
    const struct {
        double x[3];
        int k;
        int64_t n;
        double mean;
    } m[] = {
        {{1.0, 0x1p-53}, 2, 2, 0.5},                     /* halfway: to even */
        {{1.0, 0x1p-53, 0x1p-105}, 3, 2, 0.5 + 0x1p-53}, /* just above halfway */
        {{1.0 + 0x1p-52, 0x1p-53}, 2, 1, 1.0 + 0x1p-51}, /* halfway, up to even */
        {{-3.0, -4.0}, 2, 2, -3.5},
        {{1.7976931348623157e308, 1.7976931348623157e308}, 2, 2, 1.7976931348623157e308},
        {{0x1p-1074}, 1, 2, 0.0},                  /* half the smallest subnormal: to even, 0 */
        {{0x1p-1074, 0x1p-1073}, 2, 2, 0x1p-1073}, /* 1.5 of it: to even, 2 */
        {{1.0}, 1, 3, 1.0 / 3.0},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        dp_xsum_t s1, s2;
        double hi, lo;
        moment_sums(m[k].x, m[k].k, &s1, &s2);
        dp_xsum_mean(&s1, m[k].n, &hi, &lo);
        CU_ASSERT_EQUAL(hi, m[k].mean);
        if (k == 0)
            CU_ASSERT_EQUAL(lo, 0x1p-54);
    }
    /* 2^500 and -2^500: var 2^1000, and 2^1001 with ddof 1; 1.9 2^511 and its negation: the
     * sample variance, 3.61 2^1022 * 2, overflows */
    const double pm[2] = {0x1p500, -0x1p500}, over[2] = {1.9 * 0x1p511, -1.9 * 0x1p511};
    CU_ASSERT_EQUAL(var_of(pm, 2, 0), 0x1p1000);
    CU_ASSERT_EQUAL(var_of(pm, 2, 1), 0x1p1001);
    CU_ASSERT(isfinite(var_of(over, 2, 0)));
    CU_ASSERT_EQUAL(var_of(over, 2, 1), INFINITY);
}

/* Values whose squares exceed the largest double, through dp_stats (their squares are kept
 * scaled): 2^510 + i 2^458, i < 4, has var 1.25 2^916 and mean 2^510 + 1.5 2^458; a constant
 * 1e200 has var 0; +-2^1023 has var 2^2046 (+Inf) and std 2^1023. */
static void test_stats_large_squares(void)
{
    const dp_stats_want_t w = {.sums = 1, .squares = 1};
    const double c = 0x1p510, d = 0x1p458;
    double ap[4], cst[3] = {1e200, 1e200, 1e200}, pm[2] = {0x1p1023, -0x1p1023};
    for (int i = 0; i < 4; i++)
        ap[i] = c + d * i;
    const struct {
        const double *x;
        int64_t n;
        double var, scaled, mean; /* scaled: var 2^-1200 */
    } cases[] = {{ap, 4, 1.25 * 0x1p916, 1.25 * 0x1p-284, c + 1.5 * d},
                 {cst, 3, 0.0, 0.0, 1e200},
                 {pm, 2, INFINITY, 0x1p846, 0.0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dp_stats_t s;
        dp_stats_init(&s);
        dp_stats_add_run(&s, cases[k].x, cases[k].n, 0, 1, &w);
        CU_ASSERT_EQUAL(s.s2.pinf, 0);
        const dp_moment_sums_t sums = dp_stats_moments(&s);
        double hi, lo;
        dp_xsum_var(&sums, cases[k].n, 0, 0, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].var);
        dp_xsum_var(&sums, cases[k].n, 0, -1200, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].scaled);
        dp_xsum_mean(&s.s1, cases[k].n, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].mean);
    }
}

/* Values whose squares are below the smallest double, through dp_stats (their squares are
 * kept scaled by 2^1074, exactly): 2^-1000 + i 2^-1010, i < 7, has var 4 2^-2020 (14/3 2^-2020
 * with ddof 1) and S2 7383131 2^-2020; k 2^-1074, k = 1..5, has var 2 2^-2148 and S2
 * 55 2^-2148; a constant c = 3.4745e-160 has var 0 and S2 2 c^2, (c 2^537)^2 rounded once
 * at 2^1074. Each given as var 2^1074 and S2 2^1074. */
static void test_stats_tiny_squares(void)
{
    const dp_stats_want_t w = {.sums = 1, .squares = 1};
    double ap[7], sub[5], cst[2] = {3.4745223178274535e-160, 3.4745223178274535e-160};
    for (int i = 0; i < 7; i++)
        ap[i] = 0x1p-1000 + 0x1p-1010 * i;
    for (int k = 1; k <= 5; k++)
        sub[k - 1] = k * 0x1p-1074;
    const struct {
        const double *x;
        int64_t n;
        double var0, var1, squares, mean; /* var0, var1: ddof 0, 1 */
    } cases[] = {
        {ap, 7, 0x1p-944, 14.0 / 3.0 * 0x1p-946, 7383131.0 * 0x1p-946, 0x1p-1000 + 3.0 * 0x1p-1010},
        {sub, 5, 0x1p-1073, 2.5 * 0x1p-1074, 55.0 * 0x1p-1074, 3.0 * 0x1p-1074},
        {cst, 2, 0.0, 0.0,
         2.0 * (3.4745223178274535e-160 * 0x1p537) * (3.4745223178274535e-160 * 0x1p537),
         3.4745223178274535e-160}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dp_stats_t s;
        dp_stats_init(&s);
        dp_stats_add_run(&s, cases[k].x, cases[k].n, 0, 1, &w);
        const dp_moment_sums_t sums = dp_stats_moments(&s);
        double hi, lo;
        dp_xsum_var(&sums, cases[k].n, 0, 1074, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].var0);
        dp_xsum_var(&sums, cases[k].n, 1, 1074, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].var1);
        dp_xsum_squares(&sums, 1074, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].squares);
        dp_xsum_mean(&s.s1, cases[k].n, &hi, &lo);
        CU_ASSERT_EQUAL(hi, cases[k].mean);
    }
}

/* The sum of squares beyond the largest double, scaled: three squares of 2^1023 (as s2 holds
 * them) sum to 3 2^1023, +Inf unscaled and 3 2^-177 at 2^-1200. */
static void test_xsum_squares_scaled(void)
{
    dp_xsum_t s1, s2, none;
    dp_xsum_init(&s1);
    dp_xsum_init(&s2);
    dp_xsum_init(&none);
    for (int i = 0; i < 3; i++)
        dp_xsum_add(&s2, 0x1p1023);
    const dp_moment_sums_t sums = {&s1, &s2, &none, &none, 0};
    double hi, lo;
    dp_xsum_squares(&sums, 0, &hi, &lo);
    CU_ASSERT_EQUAL(hi, INFINITY);
    dp_xsum_squares(&sums, -1200, &hi, &lo);
    CU_ASSERT_EQUAL(hi, 3.0 * 0x1p-177);
    CU_ASSERT_EQUAL(lo, 0.0);
}

/* Variance of 2^52 + r_i (r_i random integers below 2^20, n = 2^14) against the variance of
 * the r_i, which a shift does not change, computed exactly in 128-bit integers:
 * (n sum r^2 - (sum r)^2) / n^2, one rounding (n^2 is a power of two). The squares are near
 * 2^104 and the variance near 2^36: a double-double formula loses the last bits here. */
static void test_xsum_moments_shifted(void)
{
    enum { N = 1 << 14 };
    static double x[N];
    srand(29);
    for (int trial = 0; trial < 4; trial++) {
        __int128 s = 0, s2 = 0;
        for (int i = 0; i < N; i++) {
            const int64_t r = (int64_t)(rnd() * (double)(1 << 20)) >> (trial * 5);
            s += r;
            s2 += (__int128)r * r;
            x[i] = 0x1p52 + (double)r;
        }
        const double want = (double)((__int128)N * s2 - s * s) / ((double)N * N);
        CU_ASSERT_EQUAL(var_of(x, N, 0), want);
        const int64_t q = (int64_t)(s / N), rem = (int64_t)(s % N); /* mean 2^52 + q + rem/N */
        const int64_t up = rem > N / 2 || (rem == N / 2 && (q & 1));
        CU_ASSERT_EQUAL(mean_of(x, N), 0x1p52 + (double)(q + up));
    }
}

static void test_reduce_bits_any_layout(void)
{
    srand(11);
    const int64_t n = 50001;
    double *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (rnd() - 0.3) * ldexp(1.0, (int)(rnd() * 40) - 20) + 1e6;
    x[77] = 1e300 * 1e-290; /* 1e10 */
    const char *ops = "ops = count,sum,min,max,mean,var,std,l2,argmin,argmax";
    double first[8];
    const char *names[8] = {"sum", "mean", "var", "std", "l2", "min", "max", "count"};
    for (int layout = 0; layout < 6; layout++) {
        const int ranks[6] = {1, 2, 3, 4, 7, 5}, threads[6] = {1, 2, 1, 3, 2, 1};
        const int64_t pieces[6] = {n, 1000, 4096, 17, 50001, 2048};
        omp_set_num_threads(threads[layout]);
        dp_results_t res = {0};
        run_reduce(ops, x, n, ranks[layout], pieces[layout], &res);
        for (int k = 0; k < 8; k++) {
            const double v = real_of(&res, names[k]);
            if (layout == 0)
                first[k] = v;
            else
                CU_ASSERT_EQUAL(memcmp(&v, &first[k], sizeof v), 0);
        }
        dp_results_free(&res);
    }
    omp_set_num_threads(2);
    /* against independent references */
    const double sum = fsum_ref(x, n), mean = sum / (double)n;
    double *d = malloc((size_t)n * sizeof *d);
    for (int64_t i = 0; i < n; i++)
        d[i] = (x[i] - mean) * (x[i] - mean);
    const double var = fsum_ref(d, n) / (double)n;
    CU_ASSERT_EQUAL(first[0], sum);
    CU_ASSERT_DOUBLE_EQUAL(first[1], mean, 1e-15 * fabs(mean));
    CU_ASSERT_DOUBLE_EQUAL(first[2], var, 1e-12 * var);
    CU_ASSERT_DOUBLE_EQUAL(first[3], sqrt(var), 1e-12 * sqrt(var));
    free(d);
    free(x);
}

static void test_reduce_against_reference(void)
{
    const int64_t n = 100003;
    double *x = malloc(n * sizeof *x);
    srand(7);
    for (int64_t i = 0; i < n; i++)
        x[i] = rnd() * 200.0 - 100.0;
    x[17] = NAN;
    x[5000] = NAN;
    x[n - 1] = NAN;
    x[999] = x[30000] = 150.0; /* the max twice: argmax is the first */
    x[40000] = x[40001] = -150.0;
    double *clean = malloc(n * sizeof *clean), mn = INFINITY, mx = -INFINITY, ss = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        clean[count++] = x[i];
        mn = fmin(mn, x[i]);
        mx = fmax(mx, x[i]);
    }
    const double sum = fsum_ref(clean, count);
    for (int64_t i = 0; i < count; i++)
        clean[i] = clean[i] * clean[i];
    ss = fsum_ref(clean, count);
    dp_results_t res = {0};
    run_reduce("ops = count,sum,min,max,mean,l2,argmin,argmax", x, n, 3, 7777, &res);
    CU_ASSERT_EQUAL(real_of(&res, "count"), (double)count);
    CU_ASSERT_EQUAL(real_of(&res, "nan"), 3.0);
    CU_ASSERT_EQUAL(real_of(&res, "min"), mn);
    CU_ASSERT_EQUAL(real_of(&res, "max"), mx);
    CU_ASSERT_EQUAL(real_of(&res, "sum"), sum);
    CU_ASSERT_DOUBLE_EQUAL(real_of(&res, "l2"), sqrt(ss), 1e-15 * sqrt(ss));
    CU_ASSERT_EQUAL(find(&res, "argmax")->i[0], 999);
    CU_ASSERT_EQUAL(find(&res, "argmin")->i[0], 40000);
    dp_results_free(&res);
    run_reduce("ops = sum,min,argmin\nnan = propagate", x, n, 2, 5000, &res);
    CU_ASSERT(isnan(real_of(&res, "sum")) && isnan(real_of(&res, "min")));
    CU_ASSERT_EQUAL(find(&res, "argmin")->i[0], 17);
    dp_results_free(&res);
    free(clean);
    free(x);
}

/* Takes each of x[0..n) out of s1, and its square (x*x plus fma's exact rounding error) out of
 * s2, twice: after x was folded exactly twice, both are then exactly zero. */
static void take_back(const double *x, int64_t n, dp_xsum_t *s1, dp_xsum_t *s2)
{
    for (int64_t i = 0; i < n; i++)
        for (int twice = 0; twice < 2; twice++) {
            const double p = x[i] * x[i];
            dp_xsum_add(s1, -x[i]);
            dp_xsum_add(s2, -p);
            dp_xsum_add(s2, -fma(x[i], x[i], -p));
        }
}

/* What a hist_count call added to DP_BIN_COPIES copies of stride words (now against before),
 * merged into words words of out. */
static void added_counts(const int64_t *now, const int64_t *before, int64_t stride, int64_t words,
                         int64_t *out)
{
    for (int64_t b = 0; b < words; b++) {
        out[b] = 0;
        for (int k = 0; k < DP_BIN_COPIES; k++)
            out[b] += now[k * stride + b] - before[k * stride + b];
    }
}

/* Every instruction-set variant of the tile passes this processor can run gives the same exact
 * sums as the scalar exact path, and the same histogram bins and counts as the scalar
 * reference. */
static void test_tile_variants(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    const int has_fma = __builtin_cpu_supports("fma");
    const struct {
        const char *name;
        int runs;
        const dp_tile_ops_t *ops;
    } v[] = {{"avx512", has_fma && __builtin_cpu_supports("avx512f"), &dp_tile_avx512},
             {"avx2", has_fma && __builtin_cpu_supports("avx2"), &dp_tile_avx2},
             {"base", 1, &dp_tile_base}};
#else
    const struct {
        const char *name;
        int runs;
        const dp_tile_ops_t *ops;
    } v[] = {{"base", 1, &dp_tile_base}};
#endif
    srand(9);
    double x[DP_TILE], clean[DP_TILE + DP_TILE_PAD];
    for (int i = 0; i < DP_TILE; i++)
        x[i] = (rnd() < 0.5 ? -1 : 1) * (1.0 + rnd()) * ldexp(1.0, (int)(rnd() * 16));
    x[5] = NAN;
    x[6] = 0.0;
    dp_xsum_t ref1, ref2;
    dp_xsum_init(&ref1);
    dp_xsum_init(&ref2);
    for (int i = 0; i < DP_TILE; i++) {
        if (isnan(x[i]))
            continue;
        const double p = x[i] * x[i];
        dp_xsum_add(&ref1, x[i]);
        dp_xsum_add(&ref2, p);
        dp_xsum_add(&ref2, fma(x[i], x[i], -p));
    }
    int tested = 0;
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        if (!v[k].runs) {
            printf(" [%s: not on this processor]", v[k].name);
            continue;
        }
        double mn, mx, amax;
        CU_ASSERT_EQUAL(v[k].ops->scan(x, DP_TILE, clean, &mn, &mx, &amax), DP_TILE - 1);
        CU_ASSERT(isnan(x[5]) && clean[5] == 0.0);
        dp_xsum_t s1, s2;
        dp_xsum_init(&s1);
        dp_xsum_init(&s2);
        v[k].ops->fold(clean, DP_TILE, amax, 1, &s1, &s2, NULL, NULL, 0);
        CU_ASSERT_EQUAL(dp_xsum_round(&s1), dp_xsum_round(&ref1));
        CU_ASSERT_EQUAL(dp_xsum_round(&s2), dp_xsum_round(&ref2));
        /* passes A and B in one: a tile with a NaN is refused, nothing added */
        double fmn, fmx;
        dp_xsum_init(&s1);
        dp_xsum_init(&s2);
        CU_ASSERT_EQUAL(
            v[k].ops->scan_fold(x, DP_TILE, amax, 1, &s1, &s2, NULL, &fmn, &fmx, NULL, 0), -1);
        CU_ASSERT(dp_xsum_round(&s1) == 0.0 && dp_xsum_round(&s2) == 0.0);
        /* its NaN-free copy: the same sums, and the copy's min and max */
        double cmn = INFINITY, cmx = -INFINITY;
        for (int i = 0; i < DP_TILE; i++) {
            cmn = fmin(cmn, clean[i]);
            cmx = fmax(cmx, clean[i]);
        }
        CU_ASSERT_EQUAL(
            v[k].ops->scan_fold(clean, DP_TILE, amax, 1, &s1, &s2, NULL, &fmn, &fmx, NULL, 0), 0);
        CU_ASSERT(fmn == cmn && fmx == cmx);
        CU_ASSERT_EQUAL(dp_xsum_round(&s1), dp_xsum_round(&ref1));
        CU_ASSERT_EQUAL(dp_xsum_round(&s2), dp_xsum_round(&ref2));
        /* a guess below the largest value, or an infinity: refused, nothing added */
        dp_xsum_init(&s1);
        dp_xsum_init(&s2);
        CU_ASSERT_EQUAL(
            v[k].ops->scan_fold(clean, DP_TILE, amax / 4, 1, &s1, &s2, NULL, &fmn, &fmx, NULL, 0),
            -1);
        const double keep = clean[9];
        clean[9] = -INFINITY;
        for (int squares = 0; squares < 2; squares++)
            CU_ASSERT_EQUAL(v[k].ops->scan_fold(clean, DP_TILE, amax, squares, &s1, &s2, NULL, &fmn,
                                                &fmx, NULL, 0),
                            -1);
        clean[9] = keep;
        /* a NaN in the second vector of a step, which the sum alone folds in a chain of its own */
        const double keep14 = clean[14];
        clean[14] = NAN;
        CU_ASSERT_EQUAL(
            v[k].ops->scan_fold(clean, DP_TILE, amax, 0, &s1, &s2, NULL, &fmn, &fmx, NULL, 0), -1);
        clean[14] = keep14;
        CU_ASSERT(dp_xsum_round(&s1) == 0.0 && dp_xsum_round(&s2) == 0.0);
        /* histogram bins and counts: SIMD against the scalar reference, values on and around
         * edges; the counts start from something, as a thread's do after its first tile */
        dp_hist_t h;
        dp_hist_make(&h, 37, -3000.0, 70000.0);
        double y[DP_TILE];
        for (int i = 0; i < DP_TILE; i++)
            y[i] = i % 5 == 0   ? h.edges[i % 38]
                   : i % 5 == 1 ? nextafter(h.edges[i % 38], -1e9)
                                : x[i];
        y[1] = NAN;
        y[2] = 1e9;
        y[3] = -1e9;
        y[4] = INFINITY; /* above and below, not NaN */
        y[9] = -INFINITY;
        int32_t idx[DP_TILE];
        enum { STRIDE = 1004 }; /* words of one copy: the most bins below, + 3 */
        int64_t cnt[DP_BIN_COPIES * STRIDE], before[DP_BIN_COPIES * STRIDE];
        for (int i = 0; i < DP_BIN_COPIES * STRIDE; i++)
            cnt[i] = i % 7;
        memcpy(before, cnt, sizeof cnt);
        const dp_bin_counts_t bc = {.c = cnt, .stride = STRIDE};
        double hmn, hmx;
        CU_ASSERT_EQUAL(v[k].ops->hist_count(y, DP_TILE, &h, idx, bc, 0, &hmn, &hmx, x, 99), 1);
        CU_ASSERT(hmn == -INFINITY && hmx == INFINITY);
        CU_ASSERT(idx[4] == h.bins + 1 && idx[9] == h.bins);
        int64_t want[40] = {0}, got[40] = {0};
        dp_hist_count(&h, y, DP_TILE, want);
        want[39] = 1; /* the NaN */
        added_counts(cnt, before, STRIDE, 40, got);
        CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);
        /* the loop for values all in the range: refuses this tile and takes its counts back,
         * bins and counts the same otherwise */
        memcpy(before, cnt, sizeof cnt);
        int32_t idx2[DP_TILE];
        CU_ASSERT_EQUAL(v[k].ops->hist_count(y, DP_TILE, &h, idx2, bc, 1, &hmn, &hmx, NULL, 0), -1);
        CU_ASSERT_EQUAL(memcmp(cnt, before, sizeof cnt), 0);
        double yin[DP_TILE];
        for (int i = 0; i < DP_TILE; i++)
            yin[i] = isnan(y[i]) || y[i] < h.lo || y[i] > h.hi ? h.hi : y[i];
        int64_t got2[40] = {0};
        CU_ASSERT_EQUAL(v[k].ops->hist_count(yin, DP_TILE, &h, idx, bc, 0, &hmn, &hmx, NULL, 0), 0);
        added_counts(cnt, before, STRIDE, 40, got);
        memcpy(before, cnt, sizeof cnt);
        CU_ASSERT_EQUAL(v[k].ops->hist_count(yin, DP_TILE, &h, idx2, bc, 1, &hmn, &hmx, NULL, 0),
                        0);
        added_counts(cnt, before, STRIDE, 40, got2);
        CU_ASSERT_EQUAL(memcmp(idx, idx2, sizeof idx), 0);
        CU_ASSERT_EQUAL(memcmp(got, got2, sizeof got), 0);
        memset(want, 0, sizeof want);
        dp_hist_count(&h, yin, DP_TILE, want);
        CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);
        /* a NaN alone in a tile otherwise in the range: counted, and refused by that loop */
        yin[77] = NAN;
        memcpy(before, cnt, sizeof cnt);
        CU_ASSERT_EQUAL(v[k].ops->hist_count(yin, DP_TILE, &h, idx2, bc, 1, &hmn, &hmx, NULL, 0),
                        -1);
        CU_ASSERT_EQUAL(memcmp(cnt, before, sizeof cnt), 0);
        CU_ASSERT_EQUAL(v[k].ops->hist_count(yin, DP_TILE, &h, idx, bc, 0, &hmn, &hmx, NULL, 0), 1);
        CU_ASSERT_EQUAL(idx[77], h.bins + 2);
        /* values far out of the range in the loop for values in it: their garbage bins stay
         * within the counts, and are taken back */
        yin[77] = -1e300;
        yin[78] = 1e300;
        yin[79] = h.lo - (h.hi - h.lo);
        memcpy(before, cnt, sizeof cnt);
        CU_ASSERT_EQUAL(v[k].ops->hist_count(yin, DP_TILE, &h, idx2, bc, 1, &hmn, &hmx, NULL, 0),
                        -1);
        CU_ASSERT_EQUAL(memcmp(cnt, before, sizeof cnt), 0);
        /* stride 0: the copies are one array */
        int64_t one_array[40] = {0};
        const dp_bin_counts_t b1 = {.c = one_array, .stride = 0};
        CU_ASSERT_EQUAL(v[k].ops->hist_count(y, DP_TILE, &h, idx, b1, 0, &hmn, &hmx, NULL, 0), 1);
        memset(want, 0, sizeof want);
        dp_hist_count(&h, y, DP_TILE, want);
        want[39] = 1;
        CU_ASSERT_EQUAL(memcmp(one_array, want, sizeof want), 0);
        dp_hist_free(&h);
        /* bin by bin against the scalar reference, for ranges near and far from 0 (the quick
         * path's margin grows with |lo| / width), values on the edges, 1 and 2 ulps either side
         * of them, and in between; and the counts against the reference's */
        const struct {
            int64_t bins;
            double lo, hi;
        } hs[] = {{256, 0.0, 1.0},
                  {100, 1e6 + 0.5, 1e6 + 100.5},
                  {1000, -1e-3, 7e-3},
                  {256, 0.0, 256.0},
                  {3, 1e15, 1e15 + 3.0},
                  {7, -1e300, 1e300},
                  {64, -0x1p-1000, 0x1p-1000}};
        for (size_t c = 0; c < sizeof hs / sizeof hs[0]; c++) {
            dp_hist_make(&h, hs[c].bins, hs[c].lo, hs[c].hi);
            for (int i = 0; i < DP_TILE; i++) {
                const double edge = h.edges[i % (h.bins + 1)];
                const int kind = i % 6;
                y[i] = kind == 0   ? edge
                       : kind == 1 ? nextafter(edge, -INFINITY)
                       : kind == 2 ? nextafter(edge, INFINITY)
                       : kind == 3 ? nextafter(nextafter(edge, INFINITY), INFINITY)
                       : kind == 4 ? nextafter(nextafter(edge, -INFINITY), -INFINITY)
                                   : h.lo + rnd() * (h.hi - h.lo);
            }
            int mismatches = 0;
            const int64_t words = h.bins + 3;
            /* a whole tile, and one whose last values take the loop's scalar remainder */
            for (int64_t n = DP_TILE; n >= DP_TILE - 3; n -= 3)
                for (int quick = 0; quick < 2; quick++) {
                    memcpy(before, cnt, sizeof cnt);
                    /* quick: the loop for values in the range, then as count_bins does */
                    int64_t times =
                        v[k].ops->hist_count(y, n, &h, idx, bc, quick, &hmn, &hmx, NULL, 0) >= 0;
                    if (quick &&
                        v[k].ops->hist_count(y, n, &h, idx, bc, 1, &hmn, &hmx, NULL, 0) >= 0)
                        times++;
                    else if (quick)
                        times +=
                            v[k].ops->hist_count(y, n, &h, idx, bc, 0, &hmn, &hmx, NULL, 0) >= 0;
                    double rmn = INFINITY, rmx = -INFINITY;
                    int64_t one[1003] = {0}, all[1003] = {0}, sum[1003] = {0};
                    for (int64_t i = 0; i < n; i++) {
                        memset(one, 0, sizeof one);
                        dp_hist_count(&h, &y[i], 1, one);
                        mismatches += idx[i] < 0 || idx[i] > h.bins + 1 || one[idx[i]] != 1;
                        rmn = fmin(rmn, y[i]);
                        rmx = fmax(rmx, y[i]);
                    }
                    mismatches += hmn != rmn || hmx != rmx;
                    /* counted once for each call that did not refuse the tile */
                    dp_hist_count(&h, y, n, all);
                    added_counts(cnt, before, STRIDE, words, sum);
                    mismatches += times < 1;
                    for (int64_t b = 0; b < words; b++)
                        mismatches += sum[b] != all[b] * times;
                }
            if (mismatches)
                printf(" [bins %lld: %d differ]", (long long)h.bins, mismatches);
            CU_ASSERT_EQUAL(mismatches, 0);
            dp_hist_free(&h);
        }
        /* values far below the largest are added exactly, not rounded away */
        clean[7] = 0x1p-80;
        clean[8] = -0x1p-300;
        dp_xsum_t t1, t2, r1;
        dp_xsum_init(&t1);
        dp_xsum_init(&t2);
        dp_xsum_init(&r1);
        v[k].ops->fold(clean, DP_TILE, amax, 0, &t1, &t2, NULL, NULL, 0);
        for (int i = 0; i < DP_TILE; i++)
            dp_xsum_add(&r1, clean[i]);
        CU_ASSERT_EQUAL(dp_xsum_round(&t1), dp_xsum_round(&r1));
        dp_xsum_t d = t1;
        dp_xsum_add(&d, -0x1p-80); /* the tiny values are in, to the last bit */
        dp_xsum_add(&d, 0x1p-300);
        dp_xsum_t e = r1;
        dp_xsum_add(&e, -0x1p-80);
        dp_xsum_add(&e, 0x1p-300);
        CU_ASSERT_EQUAL(dp_xsum_round(&d), dp_xsum_round(&e));
        /* every exponent from the largest's down to 2^-120 below it, with all 53 bits of
         * the significand used, zeros and subnormals: many values are too small for the
         * folds of the tile's largest, and of the next ones. The sums must be exact: taking
         * every value (and square) back out leaves exactly zero. */
        for (int squares = 0; squares < 2; squares++) {
            double z[DP_TILE];
            for (int i = 0; i < DP_TILE; i++) {
                const double m = 1.0 + rnd() + rnd() * 0x1p-31 + rnd() * 0x1p-62;
                z[i] = i % 11 == 0   ? 0.0
                       : i % 97 == 1 ? m * 0x1p-1060
                                     : (i % 2 ? m : -m) * ldexp(1.0, -((i * 7) % 121));
            }
            dp_xsum_t z1, z2;
            dp_xsum_init(&z1);
            dp_xsum_init(&z2);
            double zmax = 0.0;
            for (int i = 0; i < DP_TILE; i++)
                zmax = fabs(z[i]) > zmax ? fabs(z[i]) : zmax;
            v[k].ops->fold(z, DP_TILE, zmax, squares, &z1, &z2, NULL, NULL, 0);
            double zmn, zmx; /* and once more, in one pass with a guess 3x too large */
            CU_ASSERT_EQUAL(v[k].ops->scan_fold(z, DP_TILE, 3 * zmax, squares, &z1, &z2, NULL, &zmn,
                                                &zmx, NULL, 0),
                            0);
            take_back(z, DP_TILE, &z1, &z2);
            CU_ASSERT_EQUAL(dp_xsum_round(&z1), 0.0);
            if (squares)
                CU_ASSERT_EQUAL(dp_xsum_round(&z2), 0.0);
        }
        /* a tile of values near 2^-520, whose squares' rounding errors underflow: the same
         * errors as fma() gives, on every variant (Dekker's product would differ without FMA) */
        {
            double z[DP_TILE], zmax = 0.0, zmn, zmx;
            for (int i = 0; i < DP_TILE; i++) {
                z[i] = (1.0 + rnd() + rnd() * 0x1p-31) * ldexp(1.0, -520 - i % 7);
                zmax = fmax(zmax, z[i]);
            }
            dp_xsum_t z1, z2;
            dp_xsum_init(&z1);
            dp_xsum_init(&z2);
            v[k].ops->fold(z, DP_TILE, zmax, 1, &z1, &z2, NULL, NULL, 0);
            CU_ASSERT_EQUAL(
                v[k].ops->scan_fold(z, DP_TILE, zmax, 1, &z1, &z2, NULL, &zmn, &zmx, NULL, 0), 0);
            take_back(z, DP_TILE, &z1, &z2);
            CU_ASSERT_EQUAL(dp_xsum_round(&z2), 0.0);
        }
        /* tiles whose largest is near 2^-498, where the AVX-512 loop stops finding the values
         * too small for its folds by their squares (whose threshold would no longer be normal):
         * on both sides, values at that threshold (2^13 below the largest) and one ulp either
         * side of it, subnormals whose squares are 0, zeros of both signs: sums stay exact */
        for (int top = -501; top <= -494; top++) {
            double z[DP_TILE], zmax = 0.0, zmn, zmx;
            for (int i = 0; i < DP_TILE; i++) {
                const double edge = ldexp(1.0, top - 13), sign = i % 2 ? -1.0 : 1.0;
                z[i] = i % 6 == 0   ? (i % 12 ? -0.0 : 0.0)
                       : i % 6 == 1 ? sign * nextafter(edge, 0.0)
                       : i % 6 == 2 ? sign * edge
                       : i % 6 == 3 ? sign * nextafter(edge, 1.0)
                       : i % 6 == 4 ? sign * (double)(i % 301) * 0x1p-1074
                                    : sign * (1.0 + rnd()) * ldexp(1.0, top - i % 20);
                zmax = fmax(zmax, fabs(z[i]));
            }
            dp_xsum_t z1, z2;
            dp_xsum_init(&z1);
            dp_xsum_init(&z2);
            v[k].ops->fold(z, DP_TILE, zmax, 1, &z1, &z2, NULL, NULL, 0);
            CU_ASSERT_EQUAL(
                v[k].ops->scan_fold(z, DP_TILE, zmax, 1, &z1, &z2, NULL, &zmn, &zmx, NULL, 0), 0);
            take_back(z, DP_TILE, &z1, &z2);
            CU_ASSERT_EQUAL(dp_xsum_round(&z1), 0.0);
            CU_ASSERT_EQUAL(dp_xsum_round(&z2), 0.0);
        }
        /* a tile whose largest is a subnormal below 2^-1061: no value is too small for its
         * folds (their units are 2^-1074), zeros included */
        for (int squares = 0; squares < 2; squares++) {
            double z[DP_TILE], zmax = 0.0, zmn, zmx;
            for (int i = 0; i < DP_TILE; i++) {
                z[i] = i % 5 == 0 ? 0.0 : (i % 2 ? -1 : 1) * (double)(i % 301) * 0x1p-1074;
                zmax = fmax(zmax, fabs(z[i]));
            }
            dp_xsum_t z1, z2;
            dp_xsum_init(&z1);
            dp_xsum_init(&z2);
            v[k].ops->fold(z, DP_TILE, zmax, squares, &z1, &z2, NULL, NULL, 0);
            CU_ASSERT_EQUAL(
                v[k].ops->scan_fold(z, DP_TILE, zmax, squares, &z1, &z2, NULL, &zmn, &zmx, NULL, 0),
                0);
            for (int i = 0; i < DP_TILE; i++)
                for (int twice = 0; twice < 2; twice++)
                    dp_xsum_add(&z1, -z[i]);
            CU_ASSERT_EQUAL(dp_xsum_round(&z1), 0.0);
        }
        /* with s2small: the squares of values below 2^-485 go there, of the values scaled by
         * 2^537, the others to s2, whatever path a value takes (folded with values near
         * 2^-450, set aside, or a tile of values below 2^-472 one at a time); references: each
         * square as x*x plus its fma error, of the scaled value below 2^-485 */
        for (int tiny_top = 0; tiny_top < 2; tiny_top++) {
            double z[DP_TILE], zmax = 0.0, zmn, zmx;
            dp_xsum_t z1, z2, z2small, r2, r2small;
            dp_xsum_init(&r2);
            dp_xsum_init(&r2small);
            for (int i = 0; i < DP_TILE; i++) {
                const int ez = tiny_top ? -473 - i % 700 : i % 97 == 0 ? -450 : -470 - i % 600;
                z[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + rnd()) * ldexp(1.0, ez < -1074 ? -1074 : ez);
                zmax = fmax(zmax, fabs(z[i]));
                const int small = fabs(z[i]) < 0x1p-485;
                const double ys = small ? ldexp(z[i], DP_STATS_SMALL_SHIFT) : z[i], p = ys * ys;
                dp_xsum_add(small ? &r2small : &r2, p);
                dp_xsum_add(small ? &r2small : &r2, fma(ys, ys, -p));
            }
            CU_ASSERT(tiny_top ? zmax < 0x1p-472 : zmax > 0x1p-451);
            dp_xsum_init(&z1);
            dp_xsum_init(&z2);
            dp_xsum_init(&z2small);
            v[k].ops->fold(z, DP_TILE, zmax, 1, &z1, &z2, &z2small, NULL, 0);
            CU_ASSERT_EQUAL(dp_xsum_round(&z2), dp_xsum_round(&r2));
            CU_ASSERT_EQUAL(dp_xsum_round(&z2small), dp_xsum_round(&r2small));
            CU_ASSERT(dp_xsum_round(&r2small) > 0.0);
            CU_ASSERT_EQUAL(
                v[k].ops->scan_fold(z, DP_TILE, zmax, 1, &z1, &z2, &z2small, &zmn, &zmx, NULL, 0),
                tiny_top ? -1 : 0);
        }
        printf(" [%s]", v[k].name);
        tested++;
    }
    CU_ASSERT(tested >= 1);
}

/* A 4-D array as dproc hands it to reduce (leading axes merged: 2x3x4x5 seen as 6x4x5):
 * argmin/argmax are the file's four indices of the first extreme, found here by four nested
 * loops; an empty array gives one NaN per axis, a scalar none. */
static void test_reduce_folded_indices(void)
{
    const int64_t dims[4] = {2, 3, 4, 5};
    double x[120];
    srand(5);
    for (int i = 0; i < 120; i++)
        x[i] = (double)(rand() % 50);
    x[37] = x[101] = -1.0; /* the minimum twice: the first is reported */
    x[88] = 99.0;
    int64_t lo[4] = {0}, hi[4] = {0};
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t a = 0; a < 2; a++)
        for (int64_t b = 0; b < 3; b++)
            for (int64_t c = 0; c < 4; c++)
                for (int64_t d = 0; d < 5; d++) {
                    const double v = x[((a * 3 + b) * 4 + c) * 5 + d];
                    if (v < mn) {
                        mn = v;
                        memcpy(lo, (int64_t[4]){a, b, c, d}, sizeof lo);
                    }
                    if (v > mx) {
                        mx = v;
                        memcpy(hi, (int64_t[4]){a, b, c, d}, sizeof hi);
                    }
                }
    for (int ranks = 1; ranks <= 4; ranks++) {
        dp_results_t res = {.index_ndim = 4, .index_n = dims};
        run_layout("ops = argmin,argmax", x, (dp_shape_t){.ndim = 3, .n = {6, 4, 5}}, ranks, 2,
                   &res);
        const dp_result_t *amin = find(&res, "argmin"), *amax = find(&res, "argmax");
        CU_ASSERT_FATAL(amin && amax && amin->is_int && amax->is_int);
        CU_ASSERT(amin->n == 4 && amax->n == 4);
        CU_ASSERT(!memcmp(amin->i, lo, sizeof lo) && !memcmp(amax->i, hi, sizeof hi));
        dp_results_free(&res);
    }
    dp_results_t res = {.index_ndim = 2, .index_n = (const int64_t[2]){3, 0}};
    run_layout("ops = count,sum,argmin", x, (dp_shape_t){.ndim = 2, .n = {3, 0, 1}}, 2, 1, &res);
    const dp_result_t *amin = find(&res, "argmin");
    CU_ASSERT_FATAL(amin != NULL);
    CU_ASSERT(!amin->is_int && amin->n == 2 && isnan(amin->r[0]) && isnan(amin->r[1]));
    CU_ASSERT_EQUAL(real_of(&res, "count"), 0.0);
    CU_ASSERT_EQUAL(real_of(&res, "sum"), 0.0);
    dp_results_free(&res);
    res = (dp_results_t){.index_ndim = 0, .index_n = dims};
    run_layout("ops = argmax,min", (const double[1]){-4.5}, (dp_shape_t){.ndim = 1, .n = {1, 1, 1}},
               1, 1, &res);
    CU_ASSERT(find(&res, "argmax") && find(&res, "argmax")->n == 0);
    CU_ASSERT_EQUAL(real_of(&res, "min"), -4.5);
    dp_results_free(&res);
}

static void test_reduce_special_values(void)
{
    dp_results_t res = {0};
    double all_nan[3] = {NAN, NAN, NAN};
    run_reduce("ops = count,sum,min,mean,var", all_nan, 3, 1, 3, &res);
    CU_ASSERT_EQUAL(real_of(&res, "count"), 0.0);
    CU_ASSERT_EQUAL(real_of(&res, "nan"), 3.0);
    CU_ASSERT(isnan(real_of(&res, "min")));
    CU_ASSERT(isnan(real_of(&res, "mean")));
    CU_ASSERT(isnan(real_of(&res, "var")));
    CU_ASSERT_EQUAL(real_of(&res, "sum"), 0.0);
    dp_results_free(&res);
    /* a range-less histogram of data more than the largest double wide: no range can be taken
     * (as with no finite values), so only the bins are reported */
    double wide[4] = {-1e308, 0.0, 1e308, 5.0};
    run_reduce("ops = count,hist\nbins = 4", wide, 4, 2, 1, &res);
    CU_ASSERT_EQUAL(real_of(&res, "count"), 4.0);
    CU_ASSERT_EQUAL(real_of(&res, "hist/bins"), 4.0);
    CU_ASSERT_PTR_NULL(find(&res, "hist/range"));
    CU_ASSERT_PTR_NULL(find(&res, "hist/counts"));
    dp_results_free(&res);
    double inf[4] = {1.0, INFINITY, -2.0, NAN};
    run_reduce("ops = sum,min,max,l2", inf, 4, 2, 1, &res);
    CU_ASSERT_EQUAL(real_of(&res, "max"), INFINITY);
    CU_ASSERT_EQUAL(real_of(&res, "min"), -2.0);
    CU_ASSERT_EQUAL(real_of(&res, "sum"), INFINITY);
    CU_ASSERT_EQUAL(real_of(&res, "l2"), INFINITY);
    dp_results_free(&res);
    double one[1] = {-3.5};
    run_reduce("ops = mean,min,var,median\nddof = 0", one, 1, 3, 1, &res);
    CU_ASSERT_EQUAL(real_of(&res, "mean"), -3.5);
    CU_ASSERT_EQUAL(real_of(&res, "var"), 0.0);
    CU_ASSERT_EQUAL(real_of(&res, "median"), -3.5);
    dp_results_free(&res);
    run_reduce("ops = var\nddof = 1", one, 1, 1, 1, &res);
    CU_ASSERT(isnan(real_of(&res, "var")));
    dp_results_free(&res);
    /* nan = error is a failure of the job */
    dp_job_t job = job_for("nan = error");
    const dp_shape_t g = {.ndim = 1, .n = {3, 1, 1}};
    void *st = reduce->create(job.kcfg, &g);
    void *p = malloc(reduce->partial_size(st));
    reduce->partial_init(st, p);
    dp_block_t b = {.global = g, .count = {3, 1, 1}, .data = all_nan};
    reduce->process(st, &b, &b, p);
    CU_ASSERT_FALSE(reduce->next_pass(st, p));
    const char *why = reduce->results(st, p, &res);
    CU_ASSERT(why && strstr(why, "3 NaN values"));
    dp_results_free(&res);
    free(p);
    reduce->destroy(st);
    dp_job_free(&job);
}

/* Axis reductions of a 2-D array split into row bands (as ranks would), each band processed in
 * pieces of `rows` rows: sums per column (axis 0) and per row (axis 1) against Shewchuk's exact
 * sums, the same bits for every split. */
static void test_reduce_axis(void)
{
    enum { R = 301, C = 37 };
    static double x[R * C], col[R];
    srand(21);
    for (int i = 0; i < R * C; i++)
        x[i] = (rnd() - 0.5) * ldexp(1.0, (int)(rnd() * 20)) + (i % C == 3 ? 1e12 : 0.0);
    x[5 * C + 2] = NAN;
    const dp_shape_t g = {.ndim = 2, .n = {R, C, 1}};
    for (int axis = 0; axis < 2; axis++) {
        char section[96];
        snprintf(section, sizeof section, "ops = count,sum,min,var\naxis = %d", axis);
        double first_sum[R];
        for (int split = 0; split < 3; split++) {
            dp_results_t res = {0};
            CU_ASSERT_EQUAL(run_layout(section, x, g, 1 + split * 2, split == 2 ? 7 : R, &res), 1);
            const dp_result_t *sum = find(&res, "sum"), *count = find(&res, "count");
            const int m = axis == 0 ? C : R, len = axis == 0 ? R : C;
            CU_ASSERT_FATAL(sum && count && (int)sum->n == m && sum->shape.n[0] == m);
            for (int o = 0; o < m; o++) {
                int k = 0;
                for (int j = 0; j < len; j++) {
                    const double v = axis == 0 ? x[j * C + o] : x[o * C + j];
                    if (!isnan(v))
                        col[k++] = v;
                }
                CU_ASSERT_EQUAL(sum->r[o], fsum_ref(col, k));
                CU_ASSERT_EQUAL(count->i[o], k);
                if (split == 0)
                    first_sum[o] = sum->r[o];
                else
                    CU_ASSERT_EQUAL(memcmp(&first_sum[o], &sum->r[o], sizeof(double)), 0);
            }
            dp_results_free(&res);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_percentiles_and_hist(void)
{
    srand(5);
    const int64_t n = 9999;
    double *x = malloc((size_t)n * sizeof *x), *sorted = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = i % 10 == 0 ? -x[i / 2 + 1 < i ? i / 2 : 0] : round(rnd() * 1000) / 8 - 60;
    x[3] = NAN;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            sorted[m++] = x[i];
    qsort(sorted, (size_t)m, sizeof *sorted, cmp_double);
    dp_results_t res = {0};
    run_reduce("ops = median,hist\npercentiles = 0, 10, 50, 99.9, 100\nbins = 7", x, n, 3, 1000,
               &res);
    const double qs[5] = {0, 10, 50, 99.9, 100};
    const char *names[5] = {"percentiles/0", "percentiles/10", "percentiles/50", "percentiles/99.9",
                            "percentiles/100"};
    for (int i = 0; i < 5; i++) {
        const double h = (double)(m - 1) * (qs[i] / 100.0);
        const int64_t lo = (int64_t)floor(h), hi = lo + 1 < m ? lo + 1 : m - 1;
        const double t = h - (double)lo, a = sorted[lo], b = sorted[hi];
        const double want = t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
        CU_ASSERT_EQUAL(real_of(&res, names[i]), want);
    }
    CU_ASSERT_EQUAL(real_of(&res, "median"), (sorted[(m - 1) / 2] + sorted[m / 2]) / 2);
    /* hist over the data's range: each value in the bin whose edges hold it, last bin closed */
    const dp_result_t *edges = find(&res, "hist/edges"), *counts = find(&res, "hist/counts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(edges);
    CU_ASSERT_PTR_NOT_NULL_FATAL(counts);
    CU_ASSERT_EQUAL(edges->n, 8);
    CU_ASSERT_EQUAL(edges->r[0], sorted[0]);
    CU_ASSERT_EQUAL(edges->r[7], sorted[m - 1]);
    int64_t want[7] = {0};
    for (int64_t i = 0; i < m; i++) {
        int b = 0;
        while (b < 6 && !(sorted[i] < edges->r[b + 1]))
            b++;
        want[b]++;
    }
    for (int b = 0; b < 7; b++)
        CU_ASSERT_EQUAL(counts->i[b], want[b]);
    CU_ASSERT_EQUAL(real_of(&res, "hist/below"), 0.0);
    dp_results_free(&res);
    run_reduce("ops = hist\nbins = 4\nrange = -10, 10", x, n, 2, 333, &res);
    int64_t below = 0, above = 0, in = 0;
    for (int64_t i = 0; i < m; i++) {
        below += sorted[i] < -10;
        above += sorted[i] > 10;
        in += sorted[i] >= -10 && sorted[i] <= 10;
    }
    const dp_result_t *c4 = find(&res, "hist/counts");
    CU_ASSERT_EQUAL(c4->i[0] + c4->i[1] + c4->i[2] + c4->i[3], in);
    CU_ASSERT_EQUAL(real_of(&res, "hist/below"), (double)below);
    CU_ASSERT_EQUAL(real_of(&res, "hist/above"), (double)above);
    dp_results_free(&res);
    free(x);
    free(sorted);
}

static void fill(dp_generator_t gen, const dp_shape_t *g, const int64_t *s, const int64_t *c,
                 double *out)
{
    dp_block_t b = {.global = *g, .data = out};
    memcpy(b.start, s, sizeof b.start);
    memcpy(b.count, c, sizeof b.count);
    dp_generate(gen, 11, &b);
}

static void test_generators_closed_form(void)
{
    const dp_shape_t g = {.ndim = 3, .n = {4, 5, 6}};
    const int64_t s[3] = {0, 0, 0}, c[3] = {4, 5, 6};
    double ramp[120], bump[120];
    fill(DP_GEN_RAMP, &g, s, c, ramp);
    fill(DP_GEN_BUMP, &g, s, c, bump);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 6; k++) {
                const int idx = (i * 5 + j) * 6 + k;
                CU_ASSERT_EQUAL(ramp[idx], (double)idx);
                const double u = (i + 0.5) / 4 - 0.5, v = (j + 0.5) / 5 - 0.5,
                             w = (k + 0.5) / 6 - 0.5;
                CU_ASSERT_DOUBLE_EQUAL(bump[idx], exp(-(u * u + v * v + w * w) / 0.02), 1e-15);
            }
}

static void test_generators_any_block(void)
{
    const dp_shape_t g = {.ndim = 2, .n = {9, 7, 1}};
    const int64_t s0[3] = {0, 0, 0}, c0[3] = {9, 7, 1};
    for (dp_generator_t gen = DP_GEN_RAMP; gen <= DP_GEN_BUMP; gen++) {
        double full[63], part[63];
        fill(gen, &g, s0, c0, full);
        const int64_t s[3] = {2, 3, 0}, c[3] = {5, 4, 1};
        fill(gen, &g, s, c, part);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++)
                CU_ASSERT_EQUAL(part[i * 4 + j], full[(i + 2) * 7 + j + 3]);
        if (gen == DP_GEN_RANDOM) {
            double mean = 0;
            for (int i = 0; i < 63; i++) {
                CU_ASSERT(full[i] >= 0.0 && full[i] < 1.0);
                CU_ASSERT_EQUAL(full[i], dp_generate_random_at(11, (uint64_t)i));
                mean += full[i] / 63;
            }
            CU_ASSERT(mean > 0.3 && mean < 0.7);
            CU_ASSERT(dp_generate_random_at(11, 5) != dp_generate_random_at(12, 5));
        }
    }
}

static void test_convert(void)
{
    const int8_t i8[3] = {-128, 0, 127};
    const uint16_t u16[2] = {0, 65535};
    const int64_t i64[2] = {-((int64_t)1 << 53), ((int64_t)1 << 53)};
    const uint64_t u64[1] = {UINT64_MAX};
    const float f32[2] = {1.5f, -0.1f};
    double out[3];
    dp_convert_to_f64(DP_DT_INT8, i8, out, 3);
    CU_ASSERT(out[0] == -128.0 && out[1] == 0.0 && out[2] == 127.0);
    dp_convert_to_f64(DP_DT_UINT16, u16, out, 2);
    CU_ASSERT(out[0] == 0.0 && out[1] == 65535.0);
    dp_convert_to_f64(DP_DT_INT64, i64, out, 2);
    CU_ASSERT(out[0] == -9007199254740992.0 && out[1] == 9007199254740992.0);
    dp_convert_to_f64(DP_DT_UINT64, u64, out, 1);
    CU_ASSERT(out[0] == 18446744073709551616.0);
    dp_convert_to_f64(DP_DT_FLOAT32, f32, out, 2);
    CU_ASSERT(out[0] == 1.5 && out[1] == (double)-0.1f);
}

/* Applies kernel map with the given [map] keys to x (n values) into y, as the driver does. */
static void run_map(const char *keys, const double *x, double *y, int64_t n)
{
    char text[512];
    snprintf(text, sizeof text,
             "[job]\nkernel = map\n[input]\nsource = generate\nshape = %lld\n[output]\n"
             "path = o.h5\n[map]\n%s\n",
             (long long)n, keys);
    dp_job_t job;
    dp_diag_t diag = {0};
    CU_ASSERT_EQUAL(dp_job_parse(&job, "t.ini", text, strlen(text), NULL, 0, &diag), DP_OK);
    dp_diag_print(&diag, stderr);
    dp_diag_free(&diag);
    dp_shape_t g = {.ndim = 1, .n = {n, 1, 1}};
    void *st = job.kernel->create(job.kcfg, &g);
    dp_block_t in = {.global = g, .count = {n, 1, 1}, .data = (double *)x};
    dp_block_t out = in;
    out.data = y;
    job.kernel->process(st, &in, &out, NULL);
    dp_round_to_dtype(job.kernel->out_dtype(job.kcfg), y, n);
    dp_job_free(&job);
}

/* Each op and output type against values worked out by hand. */
static void test_map(void)
{
    const double x[8] = {-2.5, -0.5, 0.0, 0.5, 2.5, 3.5, 1e6, NAN};
    double y[8];
    run_map("op = axpy\na = 2\nb = -1", x, y, 8);
    CU_ASSERT(y[0] == -6 && y[2] == -1 && y[4] == 4 && y[6] == 1999999 && isnan(y[7]));
    run_map("op = clamp\nlo = -1\nhi = 1", x, y, 8);
    CU_ASSERT(y[0] == -1 && y[1] == -0.5 && y[4] == 1 && isnan(y[7]));
    run_map("op = clamp\nhi = 0", x, y, 8);
    CU_ASSERT(y[0] == -2.5 && y[3] == 0 && y[6] == 0);
    run_map("op = threshold\nlo = 0.5", x, y, 8);
    CU_ASSERT(y[0] == 0 && y[2] == 0 && y[3] == 1 && y[6] == 1 && isnan(y[7]));
    run_map("op = abs", x, y, 8);
    CU_ASSERT(y[0] == 2.5 && y[1] == 0.5 && isnan(y[7]));
    run_map("op = sqrt", x, y, 8);
    CU_ASSERT(isnan(y[0]) && y[2] == 0 && y[6] == 1000);
    run_map("op = log", x, y, 8);
    CU_ASSERT(isnan(y[0]) && isinf(y[2]) && y[2] < 0 && y[4] == log(2.5));
    run_map("op = exp", x, y, 8);
    CU_ASSERT(y[2] == 1 && isinf(y[6]));
    /* integers: ties to even, saturation, NaN to 0 */
    run_map("op = cast\ndtype = int8", x, y, 8);
    CU_ASSERT(y[0] == -2 && y[1] == 0 && y[3] == 0 && y[4] == 2 && y[5] == 4 && y[6] == 127 &&
              y[7] == 0);
    run_map("op = scale\na = -1\ndtype = uint16", x, y, 8);
    CU_ASSERT(y[0] == 2 && y[4] == 0 && y[6] == 0 && y[7] == 0);
    run_map("op = offset\nb = 0.1\ndtype = float32", x, y, 8);
    CU_ASSERT(y[0] == (double)(float)(-2.5 + 0.1) && y[2] == (double)0.1f);
}

/* Storing float64 values as each type and reading them back gives the same values. */
static void test_convert_back(void)
{
    const double v[4] = {-3, 0, 100, 127};
    for (int t = DP_DT_INT8; t <= DP_DT_FLOAT64; t++) {
        const int u = t >= DP_DT_UINT8 && t <= DP_DT_UINT64;
        double in[4], back[4];
        for (int i = 0; i < 4; i++)
            in[i] = u ? fabs(v[i]) : v[i];
        int64_t store[4];
        dp_convert_from_f64((dp_dtype_t)t, in, store, 4);
        dp_convert_to_f64((dp_dtype_t)t, store, back, 4);
        CU_ASSERT(memcmp(in, back, sizeof in) == 0);
    }
}

/* The digest of an array is the same whether computed element by element in order, by boxes
 * of any split into blocks and rows, in any order, or with 1 or 2 threads; a changed or
 * swapped element changes it. */
static void test_digest_any_split(void)
{
    const int64_t shape[3] = {130, 70, 50}; /* above the threads' threshold */
    const int64_t n = shape[0] * shape[1] * shape[2];
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(i * 0.37 - 11);
    dp_digest_t whole = {{0, 0}};
    for (int64_t i = 0; i < n; i++) /* one element at a time, the definition */
        dp_digest_one(&whole, &v[i], sizeof *v, i);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        dp_digest_t run = {{0, 0}};
        dp_digest_run(&run, v, sizeof *v, n, 0);
        CU_ASSERT(run.lane[0] == whole.lane[0] && run.lane[1] == whole.lane[1]);
        /* blocks of a 3 x 2 x 2 grid, last block first; each copied out contiguously */
        dp_digest_t boxes = {{0, 0}};
        for (int b = 11; b >= 0; b--) {
            const int64_t g[3] = {b / 4, b / 2 % 2, b % 2}, parts[3] = {3, 2, 2};
            int64_t start[3], count[3];
            for (int d = 0; d < 3; d++) {
                start[d] = shape[d] * g[d] / parts[d];
                count[d] = shape[d] * (g[d] + 1) / parts[d] - start[d];
            }
            float *box = malloc((size_t)(count[0] * count[1] * count[2]) * sizeof *box);
            int64_t q = 0;
            for (int64_t i = 0; i < count[0]; i++)
                for (int64_t j = 0; j < count[1]; j++)
                    for (int64_t k = 0; k < count[2]; k++)
                        box[q++] =
                            v[((start[0] + i) * shape[1] + start[1] + j) * shape[2] + start[2] + k];
            dp_digest_t part = {{0, 0}};
            dp_digest_box(&part, box, sizeof *box, shape, start, count);
            dp_digest_merge(&boxes, &part);
            free(box);
        }
        CU_ASSERT(boxes.lane[0] == whole.lane[0] && boxes.lane[1] == whole.lane[1]);
    }
    omp_set_num_threads(1);
    float t = v[3];
    v[3] = v[4];
    v[4] = t;
    dp_digest_t swapped = {{0, 0}};
    dp_digest_run(&swapped, v, sizeof *v, n, 0);
    CU_ASSERT(swapped.lane[0] != whole.lane[0] && swapped.lane[1] != whole.lane[1]);
    v[3] = v[4];
    dp_digest_t changed = {{0, 0}};
    dp_digest_run(&changed, v, sizeof *v, n, 0);
    CU_ASSERT(changed.lane[0] != swapped.lane[0] && changed.lane[1] != swapped.lane[1]);
    char text[DP_DIGEST_TEXT];
    dp_digest_text(&whole, text);
    CU_ASSERT(strlen(text) == 39 && !strncmp(text, "dpx128:", 7));
    free(v);
}

static void test_registry(void)
{
    CU_ASSERT_PTR_NOT_NULL(dp_kernel_find("reduce"));
    CU_ASSERT_PTR_NOT_NULL(dp_kernel_find("copy"));
    CU_ASSERT_PTR_NULL(dp_kernel_find("nope"));
    int n = 0;
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++, n++) {
        CU_ASSERT_PTR_NOT_NULL((*k)->summary);
        if ((*k)->kind == DP_KERNEL_STENCIL) {
            CU_ASSERT((*k)->iteration && (*k)->sweep && (*k)->fill && (*k)->create);
        } else if ((*k)->kind == DP_KERNEL_KEYVALUE) {
            CU_ASSERT((*k)->create && (*k)->kv_value_size && (*k)->kv_map && (*k)->kv_merge &&
                      (*k)->kv_columns && (*k)->kv_row && (*k)->kv_count && (*k)->kv_top_k);
            CU_ASSERT(!(*k)->kv_pack == !(*k)->kv_unpack && !(*k)->kv_pack == !(*k)->kv_pack_max);
        } else {
            CU_ASSERT_PTR_NOT_NULL((*k)->process);
        }
        if ((*k)->kind == DP_KERNEL_REDUCE) {
            CU_ASSERT((*k)->partial_size && (*k)->partial_init && (*k)->combine && (*k)->results);
        }
    }
    CU_ASSERT_PTR_NOT_NULL(dp_kernel_find("stencil"));
    CU_ASSERT(n >= 3);
}

int main(void)
{
    reduce = dp_kernel_find("reduce");
    static const dp_test_case_t cases[] = {
        {"exact sum against Shewchuk's method", test_xsum_exact},
        {"exact sum: cancellation, subnormals, ties, overflow", test_xsum_cases},
        {"mean and variance: closed forms", test_xsum_moments_closed_form},
        {"variance of shifted integers against 128-bit integers", test_xsum_moments_shifted},
        {"variance of values whose squares overflow", test_stats_large_squares},
        {"sum of squares beyond the largest double", test_xsum_squares_scaled},
        {"variance of values whose squares underflow", test_stats_tiny_squares},
        {"reduce: same bits for any layout", test_reduce_bits_any_layout},
        {"reduce against a plain loop", test_reduce_against_reference},
        {"percentiles and histograms against sorting", test_percentiles_and_hist},
        {"reductions along an axis", test_reduce_axis},
        {"reduce: NaN, Inf, one and no element", test_reduce_special_values},
        {"reduce: indices of a 4-D array seen folded, of empty arrays, of scalars",
         test_reduce_folded_indices},
        {"tile passes of every instruction set", test_tile_variants},
        {"generators: closed forms", test_generators_closed_form},
        {"generators: any block, same values", test_generators_any_block},
        {"conversion to float64", test_convert},
        {"conversion from float64 and back", test_convert_back},
        {"map: every op and output type", test_map},
        {"kernel registry", test_registry},
        {"digest: any split, order and thread count", test_digest_any_split},
        {NULL, NULL},
    };
    return dp_test_main("kernels", cases);
}
