/* An example dproc plugin: a reduction that counts the values above a threshold.
 *
 *   [job]
 *   kernel = above
 *   plugin = libdproc_threshold_count.so
 *
 *   [above]
 *   threshold = 0.5
 *
 * Each rank folds its block into a partial result (two counts); dproc combines the partials of
 * the ranks and calls results() once. No MPI here: dproc does all the communication. */
#include <dproc/kernel.h>

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double threshold;
    int strict; /* 1: x > threshold; 0: x >= threshold */
} above_cfg_t;

static const dp_opt_t above_opts[] = {
    {.key = "threshold",
     .type = DP_OPT_REAL,
     .required = 1,
     .min = -1.7976931348623157e308,
     .max = 1.7976931348623157e308,
     .offset = offsetof(above_cfg_t, threshold),
     .help = "the level: values above it are counted"},
    {.key = "strict",
     .type = DP_OPT_BOOL,
     .def = "true",
     .offset = offsetof(above_cfg_t, strict),
     .help = "true: count x > threshold; false: count x >= threshold"},
    {0},
};

/* The partial result of a rank: what it counted. */
typedef struct {
    int64_t above, values, nan;
} above_partial_t;

/* The state is the configuration itself: nothing to allocate. */
static void *above_create(const void *cfg, const dp_shape_t *global)
{
    (void)global;
    return (void *)cfg;
}

static size_t above_partial_size(const void *st)
{
    (void)st;
    return sizeof(above_partial_t);
}

static void above_partial_init(const void *st, void *partial)
{
    (void)st;
    *(above_partial_t *)partial = (above_partial_t){0, 0, 0};
}

/* Folds one piece of the rank's block: a vectorised OpenMP loop. */
static void above_process(const void *st, const dp_block_t *in, dp_block_t *out, void *partial)
{
    (void)out;
    const above_cfg_t *c = st;
    const double *x = in->data, t = c->threshold;
    const int64_t n = dp_block_size(in);
    int64_t above = 0, nan = 0;
    if (c->strict) {
#pragma omp parallel for simd reduction(+ : above, nan)
        for (int64_t i = 0; i < n; i++) {
            above += x[i] > t;
            nan += x[i] != x[i];
        }
    } else {
#pragma omp parallel for simd reduction(+ : above, nan)
        for (int64_t i = 0; i < n; i++) {
            above += x[i] >= t;
            nan += x[i] != x[i];
        }
    }
    above_partial_t *p = partial;
    p->above += above;
    p->values += n;
    p->nan += nan;
}

/* acc = acc + in: counts add up, in any order. */
static void above_combine(const void *st, void *acc, const void *in)
{
    (void)st;
    above_partial_t *a = acc;
    const above_partial_t *b = in;
    a->above += b->above;
    a->values += b->values;
    a->nan += b->nan;
}

/* The results of the whole array, from the partials of all ranks combined. */
static const char *above_results(const void *st, const void *combined, dp_results_t *res)
{
    (void)st;
    const above_partial_t *p = combined;
    dp_results_int(res, "above", p->above);
    dp_results_int(res, "values", p->values);
    dp_results_int(res, "nan", p->nan);
    dp_results_real(res, "fraction", p->values ? (double)p->above / (double)p->values : 0.0);
    return NULL;
}

static const dp_kernel_t above_kernel = {
    .name = "above",
    .summary = "count the values above a threshold (example plugin)",
    .kind = DP_KERNEL_REDUCE,
    .opts = above_opts,
    .config_size = sizeof(above_cfg_t),
    .create = above_create,
    .partial_size = above_partial_size,
    .partial_init = above_partial_init,
    .process = above_process,
    .combine = above_combine,
    .results = above_results,
};

/* What dproc looks for in the shared object. */
DP_PLUGIN_EXPORT const dp_plugin_t dproc_plugin = {
    .api_version = DP_KERNEL_API_VERSION,
    .name = "threshold_count",
    .kernels = (const dp_kernel_t *const[]){&above_kernel, NULL},
};
