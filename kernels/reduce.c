#include "kernel.h"

#include <math.h>
#include <stddef.h>

/* reduce: one-pass statistics of all values. NaN values are skipped and counted. */

enum {
    OP_COUNT = 1u << 0,
    OP_SUM = 1u << 1,
    OP_MIN = 1u << 2,
    OP_MAX = 1u << 3,
    OP_MEAN = 1u << 4
};

typedef struct {
    unsigned ops;
} reduce_cfg_t;

typedef struct {
    int64_t count; /* values that took part (not NaN) */
    int64_t nan;   /* NaN values skipped */
    double sum, min, max;
} reduce_partial_t;

static const dp_opt_t reduce_opts[] = {
    {.key = "ops",
     .type = DP_OPT_FLAGS,
     .def = "count,sum,min,max,mean",
     .allowed = "count|sum|min|max|mean",
     .offset = offsetof(reduce_cfg_t, ops),
     .help = "statistics to compute, comma-separated, all in one pass over the data"},
    {0},
};

static size_t reduce_partial_size(const void *cfg)
{
    (void)cfg;
    return sizeof(reduce_partial_t);
}

static void reduce_partial_init(const void *cfg, void *partial)
{
    (void)cfg;
    *(reduce_partial_t *)partial =
        (reduce_partial_t){.count = 0, .nan = 0, .sum = 0.0, .min = INFINITY, .max = -INFINITY};
}

static void reduce_process(const void *cfg, const dp_block_t *in, dp_block_t *out, void *partial)
{
    (void)cfg;
    (void)out;
    reduce_partial_t *p = partial;
    const double *x = in->data;
    const int64_t n = dp_block_size(in);
    int64_t count = 0;
    double sum = 0.0, mn = INFINITY, mx = -INFINITY;
#pragma omp parallel for simd schedule(static) reduction(+ : sum, count) reduction(min : mn)     \
    reduction(max : mx)
    for (int64_t i = 0; i < n; i++) {
        const double v = x[i];
        const int ok = v == v;
        sum += ok ? v : 0.0;
        count += ok;
        mn = (ok && v < mn) ? v : mn;
        mx = (ok && v > mx) ? v : mx;
    }
    p->count += count;
    p->nan += n - count;
    p->sum += sum;
    p->min = mn < p->min ? mn : p->min;
    p->max = mx > p->max ? mx : p->max;
}

static void reduce_combine(const void *cfg, void *acc, const void *in)
{
    (void)cfg;
    reduce_partial_t *a = acc;
    const reduce_partial_t *b = in;
    a->count += b->count;
    a->nan += b->nan;
    a->sum += b->sum;
    a->min = b->min < a->min ? b->min : a->min;
    a->max = b->max > a->max ? b->max : a->max;
}

static void reduce_results(const void *cfg, const void *partial, dp_results_t *res)
{
    const reduce_cfg_t *c = cfg;
    const reduce_partial_t *p = partial;
    const int any = p->count > 0;
    if (c->ops & OP_COUNT)
        dp_results_int(res, "count", p->count);
    if (c->ops & OP_SUM)
        dp_results_real(res, "sum", p->sum);
    if (c->ops & OP_MIN)
        dp_results_real(res, "min", any ? p->min : NAN);
    if (c->ops & OP_MAX)
        dp_results_real(res, "max", any ? p->max : NAN);
    if (c->ops & OP_MEAN)
        dp_results_real(res, "mean", any ? p->sum / (double)p->count : NAN);
    dp_results_int(res, "nan", p->nan);
}

const dp_kernel_t dp_kernel_reduce = {
    .name = "reduce",
    .summary = "one-pass statistics (count, sum, min, max, mean) of all values; NaN skipped",
    .kind = DP_KERNEL_REDUCE,
    .opts = reduce_opts,
    .config_size = sizeof(reduce_cfg_t),
    .partial_size = reduce_partial_size,
    .partial_init = reduce_partial_init,
    .process = reduce_process,
    .combine = reduce_combine,
    .results = reduce_results,
};
