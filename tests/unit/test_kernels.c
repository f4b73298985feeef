#include "dp_test.h"
#include "kernel.h"
#include "results.h"
#include "source.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const dp_kernel_t *reduce;

static dp_block_t block1d(double *x, int64_t n)
{
    dp_block_t b = {.global = {.ndim = 1, .n = {n, 1, 1}}, .count = {n, 1, 1}, .data = x};
    return b;
}

/* Runs reduce over x[0..n) split into pieces at the given cut points, combining partials of
 * consecutive pieces in order, and returns the named result. */
static double run_reduce(double *x, int64_t n, const int64_t *cuts, int ncuts, const char *name)
{
    unsigned ops = 0x1f; /* all of count, sum, min, max, mean */
    size_t size = reduce->partial_size(&ops);
    void *acc = malloc(size), *part = malloc(size);
    reduce->partial_init(&ops, acc);
    int64_t lo = 0;
    for (int c = 0; c <= ncuts; c++) {
        int64_t hi = c < ncuts ? cuts[c] : n;
        dp_block_t b = block1d(x + lo, hi - lo);
        reduce->partial_init(&ops, part);
        reduce->process(&ops, &b, &b, part);
        reduce->combine(&ops, acc, part);
        lo = hi;
    }
    dp_results_t res = {0};
    reduce->results(&ops, acc, &res);
    double v = NAN;
    for (size_t i = 0; i < res.n; i++)
        if (!strcmp(res.v[i].name, name))
            v = res.v[i].is_int ? (double)res.v[i].i[0] : res.v[i].r[0];
    dp_results_free(&res);
    free(acc);
    free(part);
    return v;
}

static void test_reduce_against_reference(void)
{
    const int64_t n = 100003;
    double *x = malloc(n * sizeof *x);
    srand(7);
    for (int64_t i = 0; i < n; i++)
        x[i] = (double)rand() / RAND_MAX * 200.0 - 100.0;
    x[17] = NAN;
    x[5000] = NAN;
    x[n - 1] = NAN;
    /* plain reference loop */
    double sum = 0, mn = INFINITY, mx = -INFINITY, abs_sum = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        sum += x[i];
        abs_sum += fabs(x[i]);
        mn = fmin(mn, x[i]);
        mx = fmax(mx, x[i]);
        count++;
    }
    const int64_t cuts[] = {1, 2, 999, 50000};
    for (int nc = 0; nc <= 4; nc++) {
        CU_ASSERT_EQUAL(run_reduce(x, n, cuts, nc, "count"), (double)count);
        CU_ASSERT_EQUAL(run_reduce(x, n, cuts, nc, "nan"), 3.0);
        CU_ASSERT_EQUAL(run_reduce(x, n, cuts, nc, "min"), mn);
        CU_ASSERT_EQUAL(run_reduce(x, n, cuts, nc, "max"), mx);
        const double tol = abs_sum * 1e-13;
        CU_ASSERT_DOUBLE_EQUAL(run_reduce(x, n, cuts, nc, "sum"), sum, tol);
        CU_ASSERT_DOUBLE_EQUAL(run_reduce(x, n, cuts, nc, "mean"), sum / count, tol / count);
    }
    free(x);
}

static void test_reduce_special_values(void)
{
    double all_nan[3] = {NAN, NAN, NAN};
    CU_ASSERT_EQUAL(run_reduce(all_nan, 3, NULL, 0, "count"), 0.0);
    CU_ASSERT_EQUAL(run_reduce(all_nan, 3, NULL, 0, "nan"), 3.0);
    CU_ASSERT(isnan(run_reduce(all_nan, 3, NULL, 0, "min")));
    CU_ASSERT(isnan(run_reduce(all_nan, 3, NULL, 0, "mean")));
    CU_ASSERT_EQUAL(run_reduce(all_nan, 3, NULL, 0, "sum"), 0.0);
    double inf[4] = {1.0, INFINITY, -2.0, NAN};
    CU_ASSERT_EQUAL(run_reduce(inf, 4, NULL, 0, "max"), INFINITY);
    CU_ASSERT_EQUAL(run_reduce(inf, 4, NULL, 0, "min"), -2.0);
    CU_ASSERT_EQUAL(run_reduce(inf, 4, NULL, 0, "sum"), INFINITY);
    double one[1] = {-3.5};
    CU_ASSERT_EQUAL(run_reduce(one, 1, NULL, 0, "mean"), -3.5);
    CU_ASSERT_EQUAL(run_reduce(one, 1, NULL, 0, "min"), -3.5);
    CU_ASSERT_EQUAL(run_reduce(one, 0, NULL, 0, "count"), 0.0);
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

static void test_registry(void)
{
    CU_ASSERT_PTR_NOT_NULL(dp_kernel_find("reduce"));
    CU_ASSERT_PTR_NOT_NULL(dp_kernel_find("copy"));
    CU_ASSERT_PTR_NULL(dp_kernel_find("nope"));
    int n = 0;
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++, n++) {
        CU_ASSERT_PTR_NOT_NULL((*k)->summary);
        CU_ASSERT_PTR_NOT_NULL((*k)->process);
        if ((*k)->kind == DP_KERNEL_REDUCE) {
            CU_ASSERT((*k)->partial_size && (*k)->partial_init && (*k)->combine && (*k)->results);
        }
    }
    CU_ASSERT(n >= 2);
}

int main(void)
{
    reduce = dp_kernel_find("reduce");
    static const dp_test_case_t cases[] = {
        {"reduce against a plain loop, any split", test_reduce_against_reference},
        {"reduce: NaN, Inf, one and no element", test_reduce_special_values},
        {"generators: closed forms", test_generators_closed_form},
        {"generators: any block, same values", test_generators_any_block},
        {"conversion to float64", test_convert},
        {"kernel registry", test_registry},
        {NULL, NULL},
    };
    return dp_test_main("kernels", cases);
}
