#include "dp_test.h"
#include "expr.h"
#include "job.h"
#include "kernel.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 10007 };

static const double A = 1.7, B = -0.3;
static const char *const names[] = {"a", "b"};
static const double values[] = {1.7, -0.3};

/* Test data: awkward values among pseudo-random ones of many magnitudes and both signs. */
static double *data(int64_t n)
{
    static const double special[] = {0,         -0.0, 1e-310, -1e-310, 1e308,   -1e308,  INFINITY,
                                     -INFINITY, NAN,  -1,     -0.5,    0.5,     0.25,    0.75,
                                     1,         2,    0.3,    -0.3,    DBL_MIN, DBL_MAX, 1e-5,
                                     7,         -100, 0.6,    -2.5};
    const int ns = sizeof special / sizeof special[0];
    double *x = malloc((size_t)n * sizeof *x);
    uint64_t s = 42;
    for (int64_t k = 0; k < n; k++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        const double u = (double)(s >> 11) / 9007199254740992.0; /* [0, 1) */
        if (k < ns || k % 97 == 0)
            x[k] = special[(k + k / 97) % ns];
        else if (k % 3)
            x[k] = 4 * u - 2;
        else
            x[k] = ldexp(u - 0.5, (int)(s % 80) - 40);
    }
    return x;
}

/* Same bits, or both NaN. */
static int same(double u, double v)
{
    return memcmp(&u, &v, sizeof u) == 0 || (isnan(u) && isnan(v));
}

/* The references: the same formulas as plain C, with a = A, b = B. */
static double r_axpb(double x, double i)
{
    (void)i;
    return A * x + B;
}
/* products and constants that the compiler fuses into one instruction, and one it must not */
static double r_fused(double x, double i)
{
    (void)i;
    return (B - A * x) + (x * A - B) * (3 - x * x) + (1 + x * x * x) / (2 + 3 * x);
}
static double r_poly(double x, double i)
{
    (void)i;
    return x * x - 3 * x / 7 + 1;
}
static double r_sqrt(double x, double i)
{
    (void)i;
    return sqrt(x * x + 1) * A;
}
static double r_negsq(double x, double i)
{
    (void)i;
    return -(x * x);
}
static double r_cube(double x, double i)
{
    (void)i;
    return pow(x, 3);
}
static double r_ratio(double x, double i)
{
    (void)i;
    return (x + 1) * (x - 1) / (x + 2);
}
static double r_where(double x, double i)
{
    (void)i;
    return x > 0.5 ? x : -x;
}
static double r_fmod(double x, double i)
{
    (void)i;
    return fmod(x, 0.3);
}
static double r_atan2(double x, double i)
{
    (void)i;
    return atan2(x, A);
}
static double r_hypot(double x, double i)
{
    (void)i;
    return hypot(x, 1);
}
static double r_gauss(double x, double i)
{
    (void)i;
    return exp(-x * x / 2);
}
static double r_index(double x, double i)
{
    return i * 0.5 + x;
}
static double r_band(double x, double i)
{
    (void)i;
    return x >= 0.25 && x < 0.75;
}
static double r_notor(double x, double i)
{
    (void)i;
    return !(x > 0.5) || x == 0;
}
static double r_min(double x, double i)
{
    (void)i;
    return fmin(x, 0.3);
}
static double r_seven(double x, double i)
{
    (void)x, (void)i;
    return 7;
}
static double r_log(double x, double i)
{
    (void)i;
    return log(x) + log1p(x) * sin(x) - cbrt(x) / tgamma(x);
}
static double r_round(double x, double i)
{
    (void)i;
    return floor(x) + ceil(x) * round(x) - trunc(x) + rint(x) + fabs(x);
}
static double r_minmax(double x, double i)
{
    (void)i;
    return fmax(copysign(2, x), fdim(x, B)) + pow(2, x);
}
static double r_regs(double x, double i)
{
    return ((x + 1) * (x - 1)) / ((x + 2) * (x - 2)) - (x * 3 + 1) * (i + 2) * (i - x);
}
static double r_where_vv(double x, double i)
{
    return (x * 2) != 0 ? i : -i; /* NaN is true */
}
static double r_where_cv(double x, double i)
{
    (void)i;
    return x != 0 ? 2 : -x;
}
static double r_where_vc(double x, double i)
{
    (void)i;
    return x - 0.5 != 0 ? x : 3;
}
static double r_where_cc(double x, double i)
{
    (void)i;
    return x != 0 ? 1 : 0;
}
static double r_logic_nan(double x, double i)
{
    (void)i;
    return (x && 1) + 2 * (0 || x) + 4 * !x + 8 * (x != x) + 16 * (1 - x <= 0.5);
}
static double r_const(double x, double i)
{
    (void)i;
    return x * (2 + 3) + 2 * 3.14159265358979323846 + 2.71828182845904523536;
}

static const struct {
    const char *text;
    double (*ref)(double x, double i);
} cases[] = {
    {"a*x + b", r_axpb},
    {"(b - a*x) + (x*a - b) * (3 - x*x) + (1 + x*x*x) / (2 + 3*x)", r_fused},
    {"x*x - 3*x/7 + 1", r_poly},
    {"sqrt(x*x + 1) * a", r_sqrt},
    {"-x^2", r_negsq},
    {"x**2 * -1", r_negsq},
    {"x^3", r_cube},
    {"(x + 1) * (x - 1) / (x + 2)", r_ratio},
    {"where(x > 0.5, x, -x)", r_where},
    {"fmod(x, 0.3)", r_fmod},
    {"x % 0.3", r_fmod},
    {"atan2(x, a)", r_atan2},
    {"hypot(x, 1)", r_hypot},
    {"exp(-x*x/2)", r_gauss},
    {"i * 0.5 + x", r_index},
    {"x >= 0.25 && x < 0.75", r_band},
    {"x >= 0.25 and not (x >= 0.75)", r_band},
    {"!(x > 0.5) || x == 0", r_notor},
    {"min(x, 0.3)", r_min},
    {"1 + 2*3", r_seven},
    {"log(x) + log1p(x) * sin(x) - cbrt(x) / tgamma(x)", r_log},
    {"floor(x) + ceil(x) * round(x) - trunc(x) + rint(x) + abs(x)", r_round},
    {"max(copysign(2, x), fdim(x, b)) + pow(2, x)", r_minmax},
    {"((x + 1) * (x - 1)) / ((x + 2) * (x - 2)) - (x*3 + 1) * (i + 2) * (i - x)", r_regs},
    {"where(x*2, i, -i)", r_where_vv},
    {"where(x, 2, -x)", r_where_cv},
    {"where(x - 0.5, x, 3)", r_where_vc},
    {"where(x, 1, 0)", r_where_cc},
    {"(x && 1) + 2*(0 || x) + 4*!x + 8*(x != x) + 16*(1 - x <= 0.5)", r_logic_nan},
    {"x * (2 + 3) + 2*pi + e", r_const},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

/* Every case against its C loop, for lengths around the vector size, out of place and in
 * place, i counted from a start that is not 0. */
static void test_against_c(void)
{
    static const int64_t lengths[] = {1, 255, 256, 257, 1000, N};
    const int64_t start = 1000003;
    double *x = data(N), *y = malloc(N * sizeof *y), *want = malloc(N * sizeof *want);
    for (int c = 0; c < NCASES; c++) {
        dp_expr_error_t err;
        dp_expr_t *e = dp_expr_compile(cases[c].text, names, values, 2, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        for (int64_t k = 0; k < N; k++)
            want[k] = cases[c].ref(x[k], (double)(start + k));
        for (int l = 0; l < 6; l++) {
            const int64_t n = lengths[l];
            int bad = 0;
            for (int place = 0; place < 2; place++) {
                if (place)
                    memcpy(y, x, (size_t)n * sizeof *y);
                dp_expr_eval(e, place ? y : x, y, n, start);
                for (int64_t k = 0; k < n; k++)
                    if (!same(y[k], want[k]) && bad++ < 3)
                        printf("\n  %s at x = %a (k %ld): %a, want %a", cases[c].text, x[k],
                               (long)k, y[k], want[k]);
            }
            CU_ASSERT_EQUAL(bad, 0);
        }
        dp_expr_free(e);
    }
    free(x);
    free(y);
    free(want);
}

static int length_of(const char *text, int nnames)
{
    dp_expr_error_t err;
    dp_expr_t *e = dp_expr_compile(text, names, values, nnames, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    const int n = dp_expr_length(e);
    dp_expr_free(e);
    return n;
}

/* One value of an expression of constants. */
static double value_of(const char *text, const char *const *nm, const double *v, int nn)
{
    dp_expr_error_t err;
    dp_expr_t *e = dp_expr_compile(text, nm, v, nn, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    double x = 0, y;
    dp_expr_eval(e, &x, &y, 1, 0);
    dp_expr_free(e);
    return y;
}

/* Constants are folded, specialised instructions take constants without vectors for them,
 * and the syntax binds as documented. */
static void test_folding_and_syntax(void)
{
    CU_ASSERT_EQUAL(length_of("1 + 2*3", 0), 1);
    CU_ASSERT_EQUAL(length_of("2*pi", 0), 1);
    CU_ASSERT_EQUAL(length_of("where(1 < 2, 3, x)", 0), 1);
    CU_ASSERT_EQUAL(length_of("x", 0), 1);
    CU_ASSERT_EQUAL(length_of("i", 0), 1);
    CU_ASSERT_EQUAL(length_of("a*x + b", 2), 1); /* one fused pass */
    CU_ASSERT_EQUAL(length_of("b - x*a", 2), 1);
    CU_ASSERT_EQUAL(length_of("3 - x*x", 0), 2); /* no constant factor to negate: not fused */
    CU_ASSERT_EQUAL(length_of("x * (2 + 3) - sqrt(a)", 2), 1);
    CU_ASSERT_EQUAL(length_of("x^2", 0), 1);
    CU_ASSERT_EQUAL(value_of("2*pi", NULL, NULL, 0), 2 * 3.14159265358979323846);
    CU_ASSERT_EQUAL(value_of("2^3^2", NULL, NULL, 0), 512);
    CU_ASSERT_EQUAL(value_of("-2^2", NULL, NULL, 0), -4);
    CU_ASSERT_EQUAL(value_of("2^-1", NULL, NULL, 0), 0.5);
    CU_ASSERT_EQUAL(value_of("- -+-3", NULL, NULL, 0), -3);
    CU_ASSERT_EQUAL(value_of("1 + 2 < 4 == 1", NULL, NULL, 0), 1);
    CU_ASSERT_EQUAL(value_of("1 || 0 && 0", NULL, NULL, 0), 1);
    CU_ASSERT_EQUAL(value_of("7 % 4 * 2", NULL, NULL, 0), 6);
    CU_ASSERT_EQUAL(value_of(".5 + 1e-3 + 1.5E+1 + 2.", NULL, NULL, 0), 0.5 + 1e-3 + 1.5E+1 + 2.);
    CU_ASSERT(isinf(value_of("-inf", NULL, NULL, 0)));
    CU_ASSERT(isnan(value_of("nan", NULL, NULL, 0)));
    CU_ASSERT_EQUAL(value_of("where(nan, 1, 2) + !nan + (nan == nan)", NULL, NULL, 0), 1);
    CU_ASSERT_EQUAL(value_of("sqrt(2)", NULL, NULL, 0), sqrt(2));
    CU_ASSERT_EQUAL(value_of("lgamma(0.5) + exp2(0.3)", NULL, NULL, 0), lgamma(0.5) + exp2(0.3));
    static const char *const shadow[] = {"pi", "e"};
    static const double sv[] = {3, 2};
    CU_ASSERT_EQUAL(value_of("pi * 10 + e", shadow, sv, 2), 32);
    dp_expr_error_t err;
    dp_expr_t *e = dp_expr_compile("2*a + i + 0*x", names, values, 2, &err);
    CU_ASSERT(dp_expr_uses(e, "x") && dp_expr_uses(e, "i") && dp_expr_uses(e, "a"));
    CU_ASSERT(!dp_expr_uses(e, "b") && !dp_expr_uses(e, "pi"));
    dp_expr_free(e);
    e = dp_expr_compile("x", names, values, 2, &err);
    CU_ASSERT(dp_expr_uses(e, "x") && !dp_expr_uses(e, "i") && !dp_expr_uses(e, "a"));
    dp_expr_free(e);
}

/* A long left-deep sum needs two registers; a balanced tree of i needs one per level. */
static void test_large_expressions(void)
{
    char text[DP_EXPR_MAX_LEN + 2];
    int len = 0;
    for (int k = 0; k < 1000; k++)
        len += sprintf(text + len, k ? "+x" : "x");
    dp_expr_error_t err;
    dp_expr_t *e = dp_expr_compile(text, NULL, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    double *x = data(N), *y = malloc(N * sizeof *y);
    dp_expr_eval(e, x, y, N, 0);
    int bad = 0;
    for (int64_t k = 0; k < N; k++) {
        double s = x[k];
        for (int j = 1; j < 1000; j++)
            s += x[k];
        bad += !same(y[k], s);
    }
    CU_ASSERT_EQUAL(bad, 0);
    dp_expr_free(e);
    /* depth d of i: needs d + 1 registers; the sum over it is 2^d i */
    for (int d = DP_EXPR_MAX_REGS - 1; d <= DP_EXPR_MAX_REGS; d++) {
        strcpy(text, "i");
        for (int k = 0; k < d; k++) {
            char *t = malloc(2 * strlen(text) + 4);
            sprintf(t, "(%s+%s)", text, text);
            CU_ASSERT_FATAL(strlen(t) <= DP_EXPR_MAX_LEN);
            strcpy(text, t);
            free(t);
        }
        e = dp_expr_compile(text, NULL, NULL, 0, &err);
        if (d < DP_EXPR_MAX_REGS) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(e);
            dp_expr_eval(e, x, y, 300, 5);
            CU_ASSERT_EQUAL(y[0], 5.0 * (1 << d));
            CU_ASSERT_EQUAL(y[299], 304.0 * (1 << d));
            dp_expr_free(e);
        } else {
            CU_ASSERT_PTR_NULL(e);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "too complex"));
        }
    }
    free(x);
    free(y);
}

/* Each refused text, the column reported and a part of the message. */
static void test_errors(void)
{
    static const struct {
        const char *text;
        int col;
        const char *msg;
    } bad[] = {
        {"sqrt(x*x + 1) * c", 17, "unknown name 'c'"},
        {"sqrt(x, 2)", 1, "sqrt takes 1 argument, not 2"},
        {"where(x)", 1, "where takes 3 arguments, not 1"},
        {"atan2()", 1, "takes 2 arguments, not 0"},
        {"(x + 1", 1, "'(' is never closed"},
        {"2 * sqrt(x", 9, "'(' is never closed"},
        {"x + 1)", 6, "')' without '('"},
        {"x + * 2", 5, "found '*'"},
        {"x $ 2", 3, "unexpected character '$'"},
        {"x = 2", 3, "'=='"},
        {"x & 2", 3, "'&&'"},
        {"", 1, "empty expression"},
        {"  \t", 1, "empty expression"},
        {"x 2", 3, "expected an operator, found '2'"},
        {"x +", 4, "found the end of the expression"},
        {"()", 2, "found ')'"},
        {"foo(x)", 1, "unknown function 'foo'"},
        {"sqr(x)", 1, "unknown function 'sqr' (did you mean 'sqrt'?)"},
        {"1 + hypto(x, 1)", 5, "did you mean 'hypot'"},
        {"2 * alpah", 5, "unknown name 'alpah' (did you mean 'alpha'?)"},
        {"sqrt + 1", 1, "'sqrt' is a function"},
        {"x(2)", 1, "'x' is a variable"},
        {"1e+ 2", 1, "malformed number '1e+'"},
        {"where(x, 1 2)", 12, "expected ',' or ')', found '2'"},
    };
    static const char *const nm[] = {"alpha", "b"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        dp_expr_error_t err;
        dp_expr_t *e = dp_expr_compile(bad[k].text, nm, values, 2, &err);
        CU_ASSERT_PTR_NULL(e);
        if (err.column != bad[k].col || !strstr(err.message, bad[k].msg))
            printf("\n  '%s': column %d: %s", bad[k].text, err.column, err.message);
        CU_ASSERT_EQUAL(err.column, bad[k].col);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[k].msg));
        dp_expr_free(e);
    }
    dp_expr_error_t err;
    CU_ASSERT_PTR_NULL(dp_expr_compile("foo(x)", NULL, NULL, 0, &err));
    CU_ASSERT_PTR_NULL(strstr(err.message, "did you mean"));
    CU_ASSERT_PTR_NULL(dp_expr_compile("x + c", NULL, NULL, 0, &err));
    CU_ASSERT_PTR_NULL(strstr(err.message, "did you mean"));

    char text[DP_EXPR_MAX_LEN + 2];
    for (int depth = 60; depth <= 100; depth += 40) {
        memset(text, '(', (size_t)depth);
        text[depth] = 'x';
        memset(text + depth + 1, ')', (size_t)depth);
        text[2 * depth + 1] = '\0';
        dp_expr_t *e = dp_expr_compile(text, NULL, NULL, 0, &err);
        if (depth == 60) {
            CU_ASSERT_PTR_NOT_NULL(e);
        } else {
            CU_ASSERT_PTR_NULL(e);
            CU_ASSERT_EQUAL(err.column, DP_EXPR_MAX_DEPTH + 1);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nested deeper than 64"));
        }
        dp_expr_free(e);
    }
    memset(text, '-', 100);
    strcpy(text + 100, "x");
    CU_ASSERT_PTR_NULL(dp_expr_compile(text, NULL, NULL, 0, &err));
    CU_ASSERT_EQUAL(err.column, DP_EXPR_MAX_DEPTH + 1);
    memset(text, ' ', DP_EXPR_MAX_LEN + 1);
    text[0] = 'x';
    text[DP_EXPR_MAX_LEN + 1] = '\0';
    CU_ASSERT_PTR_NULL(dp_expr_compile(text, NULL, NULL, 0, &err));
    CU_ASSERT_EQUAL(err.column, DP_EXPR_MAX_LEN + 1);
    text[DP_EXPR_MAX_LEN] = '\0';
    dp_expr_t *e = dp_expr_compile(text, NULL, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL(e);
    dp_expr_free(e);
}

/* Two threads evaluate slices of one program at once: the bits of one call over all. */
static void test_threads(void)
{
    enum { M = 200003 };
    double *x = malloc(M * sizeof *x), *y = malloc(M * sizeof *y), *want = malloc(M * sizeof *y);
    for (int64_t k = 0; k < M; k++)
        x[k] = sin((double)k) * 3;
    dp_expr_error_t err;
    dp_expr_t *e =
        dp_expr_compile("sqrt(x*x + 1) * a + where(x > b, i, -i)", names, values, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    dp_expr_eval(e, x, want, M, 10);
    int threads = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        threads = omp_get_num_threads();
        const int me = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int64_t lo = 1000 * me; lo < M; lo += 1000 * nt) {
            const int64_t n = M - lo < 1000 ? M - lo : 1000;
            dp_expr_eval(e, x + lo, y + lo, n, 10 + lo);
        }
    }
    CU_ASSERT_EQUAL(threads, 2);
    CU_ASSERT_EQUAL(memcmp(y, want, M * sizeof *y), 0);
    int bad = 0;
    for (int64_t k = 0; k < M; k++)
        bad += !same(want[k], sqrt(x[k] * x[k] + 1) * A + (x[k] > B ? k + 10.0 : -(k + 10.0)));
    CU_ASSERT_EQUAL(bad, 0);
    dp_expr_free(e);
    free(x);
    free(y);
    free(want);
}

/* The kernel expr over pieces of a 5x6x7 array: whole planes (one run of global indices), a
 * box (a run per row), whole rows of part of each plane (a run per plane) and one value, i
 * being the global row-major index in all, against a plain loop. */
static void test_kernel_pieces(void)
{
    static const char text[] = "[job]\nkernel = expr\n[input]\nsource = generate\n"
                               "shape = 5,6,7\n[output]\npath = t.h5\n[expr]\ny = i * k + x\n"
                               "k = 0.5\n";
    dp_job_t job;
    dp_diag_t diag = {0};
    CU_ASSERT_EQUAL_FATAL(dp_job_parse(&job, "t.ini", text, strlen(text), NULL, 0, &diag), DP_OK);
    const dp_shape_t g = {.ndim = 3, .n = {5, 6, 7}};
    void *st = job.kernel->create(job.kcfg, &g);
    const struct {
        int64_t start[3], count[3];
    } pieces[] = {{{2, 0, 0}, {2, 6, 7}},
                  {{1, 2, 3}, {3, 2, 4}},
                  {{0, 2, 0}, {5, 3, 7}},
                  {{4, 5, 6}, {1, 1, 1}}};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        dp_block_t in = {.global = g}, out = {.global = g};
        memcpy(in.start, pieces[p].start, sizeof in.start);
        memcpy(in.count, pieces[p].count, sizeof in.count);
        out = in;
        const int64_t n = dp_block_size(&in);
        in.data = malloc((size_t)n * sizeof(double));
        out.data = malloc((size_t)n * sizeof(double));
        for (int64_t q = 0; q < n; q++)
            in.data[q] = (double)q / 3.0;
        job.kernel->process(st, &in, &out, NULL);
        int64_t q = 0, bad = 0;
        for (int64_t a = 0; a < in.count[0]; a++)
            for (int64_t b = 0; b < in.count[1]; b++)
                for (int64_t c = 0; c < in.count[2]; c++, q++) {
                    const int64_t gi =
                        ((in.start[0] + a) * 6 + in.start[1] + b) * 7 + in.start[2] + c;
                    bad += out.data[q] != (double)gi * 0.5 + in.data[q];
                }
        CU_ASSERT_EQUAL(bad, 0);
        free(in.data);
        free(out.data);
    }
    job.kernel->destroy(st);
    dp_job_free(&job);
    dp_diag_free(&diag);
}

int main(void)
{
    static const dp_test_case_t tests[] = {
        {"expressions against plain C loops", test_against_c},
        {"constant folding and syntax", test_folding_and_syntax},
        {"long and register-hungry expressions", test_large_expressions},
        {"errors: columns and messages", test_errors},
        {"one program, two threads", test_threads},
        {"kernel expr: planes and boxes of the global array", test_kernel_pieces},
        {NULL, NULL},
    };
    return dp_test_main("expr", tests);
}
