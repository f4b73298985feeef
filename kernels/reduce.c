#include "histogram.h"
#include "kernel.h"
#include "reduce_axis.h"
#include "select.h"
#include "stats.h"
#include "xsum_ratio.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* reduce: statistics of all values, in one pass over the data (plus one pass for a histogram
 * without a range, and four selection passes over in-memory data for percentiles). Sums are
 * exact (xsum.h) and rounded once, so sum, mean, var, std and l2 are identical to the bit for
 * any rank count, thread count and chunk size. */

enum {
    OP_COUNT = 1u << 0,
    OP_SUM = 1u << 1,
    OP_MIN = 1u << 2,
    OP_MAX = 1u << 3,
    OP_MEAN = 1u << 4,
    OP_VAR = 1u << 5,
    OP_STD = 1u << 6,
    OP_L2 = 1u << 7,
    OP_ARGMIN = 1u << 8,
    OP_ARGMAX = 1u << 9,
    OP_HIST = 1u << 10,
    OP_MEDIAN = 1u << 11,
};
#define OP_NAMES "count|sum|min|max|mean|var|std|l2|argmin|argmax|hist|median"

enum { NAN_SKIP, NAN_PROPAGATE, NAN_ERROR };
enum { KEEP_AUTO, KEEP_ALL, KEEP_OWN };

typedef struct {
    unsigned ops;
    int64_t ddof;
    int64_t bins;
    dp_reals_t range;
    dp_reals_t percentiles;
    int nan;
    int axis;      /* 0: none, else 1 + the file's axis */
    int seen_axis; /* 0: as axis, else 1 + the axis of the array as read (dp_reduce_see_axis) */
    int keep;      /* KEEP_*: which outputs of an axis reduction each rank keeps */
} reduce_cfg_t;

/* The axis of the array as read along which c reduces, or -1. */
static int axis_of(const reduce_cfg_t *c)
{
    return c->seen_axis ? c->seen_axis - 1 : c->axis - 1;
}

int dp_reduce_axis(const void *cfg)
{
    return ((const reduce_cfg_t *)cfg)->axis - 1;
}

const char *dp_reduce_array_name(const void *cfg, int k)
{
    static const char *const names[] = {"count", "sum", "min", "max", "mean", "var", "std", "l2"};
    const reduce_cfg_t *c = cfg;
    if (c->axis == 0)
        return NULL;
    for (int b = 0; b < (int)(sizeof names / sizeof *names); b++)
        if ((c->ops & (1u << b)) && k-- == 0)
            return names[b];
    return NULL;
}

void dp_reduce_see_axis(void *cfg, int seen)
{
    ((reduce_cfg_t *)cfg)->seen_axis = seen + 1;
}

static const dp_opt_t reduce_opts[] = {
    {.key = "ops",
     .type = DP_OPT_FLAGS,
     .def = "count,sum,min,max,mean",
     .allowed = OP_NAMES,
     .offset = offsetof(reduce_cfg_t, ops),
     .help = "statistics to compute, comma-separated, all in one pass over the data"},
    {.key = "ddof",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 1,
     .offset = offsetof(reduce_cfg_t, ddof),
     .help = "var and std divide by count - ddof: 0 population, 1 sample"},
    {.key = "bins",
     .type = DP_OPT_INT,
     .def = "64",
     .min = 1,
     .max = 1000000,
     .offset = offsetof(reduce_cfg_t, bins),
     .help = "number of equal bins of hist (each count and edge goes to the report and the "
             "output)"},
    {.key = "range",
     .type = DP_OPT_REALS,
     .min = -1.7976931348623157e308,
     .max = 1.7976931348623157e308,
     .offset = offsetof(reduce_cfg_t, range),
     .help = "lo,hi of hist (default: the data's min and max, which costs one more pass); "
             "lo = hi is widened to lo - 0.5, hi + 0.5, as numpy does"},
    {.key = "percentiles",
     .type = DP_OPT_REALS,
     .min = 0,
     .max = 100,
     .offset = offsetof(reduce_cfg_t, percentiles),
     .help = "exact percentiles to report, e.g. 50,90,99.9 (linear interpolation as numpy); "
             "at most 32"},
    {.key = "nan",
     .type = DP_OPT_CHOICE,
     .def = "skip",
     .allowed = "skip|propagate|error",
     .offset = offsetof(reduce_cfg_t, nan),
     .help = "NaN values: skip them, propagate (results become NaN as in numpy), or fail"},
    {.key = "axis",
     .type = DP_OPT_CHOICE,
     .def = "none",
     .allowed = "none|0|1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19|20|21|22|23|24|25|26|"
                "27|28|29|30|31",
     .offset = offsetof(reduce_cfg_t, axis),
     .help = "reduce along this axis only: one value per element of the other axes, written as "
             "an array per op (count, sum, min, max, mean, var, std, l2)"},
    {.key = "keep",
     .type = DP_OPT_CHOICE,
     .def = "auto",
     .allowed = "auto|all|own",
     .offset = offsetof(reduce_cfg_t, keep),
     .help = "with axis, which outputs each rank keeps: all (partials combined over ranks), own "
             "(those of its block; the axis is not split over ranks), auto (own when all would "
             "take more than 256 MiB of exact accumulators, or when it is faster, see "
             "docs/reduce.md)"},
    {0},
};

static const char *reduce_check(const void *cfg, const char **key, int *column)
{
    (void)column;
    const reduce_cfg_t *c = cfg;
    if (c->range.n > 0) {
        *key = "range";
        if (!(c->ops & OP_HIST))
            return "used only with hist in ops";
        if (c->range.n != 2)
            return "expected two numbers lo,hi";
        if (!(c->range.v[0] <= c->range.v[1]))
            return "lo must not be larger than hi";
        if (c->range.v[0] == c->range.v[1] && !(c->range.v[0] - 0.5 < c->range.v[1] + 0.5))
            return "lo equals hi, which is too large to widen to lo - 0.5, hi + 0.5 as numpy "
                   "does: give lo < hi";
        if (!isfinite(c->range.v[1] - c->range.v[0]))
            return "hi - lo overflows a double (the bins' width is computed from it)";
    }
    if (c->keep != KEEP_AUTO && !c->axis) {
        *key = "keep";
        return "used only with axis";
    }
    const unsigned whole = OP_ARGMIN | OP_ARGMAX | OP_HIST | OP_MEDIAN;
    if (c->axis && ((c->ops & whole) || c->percentiles.n > 0)) {
        *key = "axis";
        return "with an axis, ops may be count, sum, min, max, mean, var, std, l2 (argmin, "
               "argmax, hist, median and percentiles take the whole array)";
    }
    for (int i = 0; i < c->percentiles.n; i++)
        for (int j = 0; j < i; j++)
            if (c->percentiles.v[i] == c->percentiles.v[j]) {
                *key = "percentiles";
                return "a percentile is listed twice";
            }
    return NULL;
}

/* Partials of an axis reduction are one dp_stats_t per output kept: at most this many bytes,
 * that many outputs, per rank. */
#define AXIS_PARTIAL_LIMIT ((int64_t)256 << 20)
#define AXIS_OUTPUTS_MAX (AXIS_PARTIAL_LIMIT / (int64_t)sizeof(dp_stats_t))

int64_t dp_reduce_outputs_max(void)
{
    return AXIS_OUTPUTS_MAX;
}

int dp_reduce_keep(const void *cfg, const dp_shape_t *global)
{
    const reduce_cfg_t *c = cfg;
    if (!c->axis || c->keep == KEEP_ALL || axis_of(c) >= global->ndim)
        return 0;
    dp_shape_t reduced;
    if (c->keep == KEEP_OWN || dp_axis_outputs(global, axis_of(c), &reduced) > AXIS_OUTPUTS_MAX)
        return 1;
    return -1;
}

static const char *reduce_check_data(const void *cfg, const dp_shape_t *global, const char **key)
{
    const reduce_cfg_t *c = cfg;
    static char msg[256];
    if (!c->axis)
        return NULL;
    *key = "axis";
    const int axis = axis_of(c);
    if (axis >= global->ndim) {
        snprintf(msg, sizeof msg, "axis %d, but the data have %d dimension%s (axes 0 to %d)", axis,
                 global->ndim, global->ndim == 1 ? "" : "s", global->ndim - 1);
        return msg;
    }
    dp_shape_t reduced;
    const int64_t m = dp_axis_outputs(global, axis, &reduced);
    if (dp_reduce_keep(cfg, global) == 0 && m > AXIS_OUTPUTS_MAX) {
        snprintf(msg, sizeof msg,
                 "reducing along axis %d leaves %lld values per op; with keep = all their exact "
                 "accumulators would need %.0f MiB per rank (at most %lld values): use keep = own "
                 "or auto, which splits them over ranks",
                 c->axis - 1, (long long)m, (double)m * sizeof(dp_stats_t) / (1 << 20),
                 (long long)AXIS_OUTPUTS_MAX);
        return msg;
    }
    return NULL;
}

enum { PASS_STATS, PASS_HIST, PASS_SELECT, PASS_DONE };

typedef struct {
    const reduce_cfg_t *cfg;
    dp_shape_t global;
    int pass;
    int squares; /* var, std or l2 asked for */
    dp_stats_want_t want;
    int have_range; /* hist bins are known in the stats pass */
    dp_stats_t stats;
    int axis;           /* -1: the whole array */
    int64_t outputs;    /* elements of the reduced array (axis mode) */
    dp_shape_t reduced; /* its shape */
    int own;            /* the partial holds the outputs of the rank's block only */
    int64_t own_start[DP_MAX_DIMS], own_count[DP_MAX_DIMS];
    int64_t kept;              /* outputs in the partial and in values */
    dp_reduce_value_t *values; /* finished outputs, after the pass */
    int gathered;              /* values are all outputs, or NULL on ranks that do not hold them */
    int64_t gathered_nan;      /* then: the NaN values of all outputs */
    dp_hist_t hist;
    int64_t *hist_counts; /* final, dp_hist_words */
    dp_select_t sel;
    double pvalue[DP_SELECT_MAX];
} reduce_t;

static int want_select(const reduce_cfg_t *c)
{
    return c->percentiles.n > 0 || (c->ops & OP_MEDIAN);
}

static int reduce_multi_pass(const void *cfg)
{
    const reduce_cfg_t *c = cfg;
    return ((c->ops & OP_HIST) && c->range.n == 0) || want_select(c);
}

static void *reduce_create(const void *cfg, const dp_shape_t *global)
{
    const reduce_cfg_t *c = cfg;
    reduce_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->cfg = c;
    r->global = *global;
    r->squares = (c->ops & (OP_VAR | OP_STD | OP_L2)) != 0;
    r->have_range = (c->ops & OP_HIST) && c->range.n == 2;
    if (r->have_range)
        dp_hist_make(&r->hist, c->bins, c->range.v[0], c->range.v[1]);
    dp_stats_init(&r->stats);
    r->axis = axis_of(c);
    if (r->axis >= 0)
        r->outputs = r->kept = dp_axis_outputs(global, r->axis, &r->reduced);
    r->want = (dp_stats_want_t){
        .sums = (c->ops & (OP_SUM | OP_MEAN | OP_VAR | OP_STD | OP_L2)) != 0,
        .squares = r->squares,
        .hist = r->have_range ? &r->hist : NULL,
    };
    return r;
}

static void reduce_destroy(void *st)
{
    reduce_t *r = st;
    dp_hist_free(&r->hist);
    free(r->hist_counts);
    free(r->values);
    free(r);
}

/* Partial of the stats pass: dp_stats_t, then the histogram counts when the range is known. */
static size_t reduce_partial_size(const void *st)
{
    const reduce_t *r = st;
    if (r->axis >= 0)
        return (size_t)r->kept * sizeof(dp_stats_t);
    switch (r->pass) {
    case PASS_STATS:
        return sizeof(dp_stats_t) +
               (r->have_range ? (size_t)dp_hist_words(&r->hist) * sizeof(int64_t) : 0);
    case PASS_HIST:
        return (size_t)dp_hist_words(&r->hist) * sizeof(int64_t);
    default:
        return (size_t)dp_select_words(&r->sel) * sizeof(int64_t);
    }
}

static void reduce_partial_init(const void *st, void *partial)
{
    const reduce_t *r = st;
    memset(partial, 0, reduce_partial_size(st));
    if (r->axis >= 0)
        for (int64_t o = 0; o < r->kept; o++)
            dp_stats_init((dp_stats_t *)partial + o);
    else if (r->pass == PASS_STATS)
        dp_stats_init(partial);
}

static int64_t *counts_of(const reduce_t *r, void *partial)
{
    return r->pass == PASS_STATS ? (int64_t *)((char *)partial + sizeof(dp_stats_t)) : partial;
}

static void reduce_process(const void *st, const dp_block_t *in, dp_block_t *out, void *partial)
{
    (void)out;
    const reduce_t *r = st;
    const int64_t n = dp_block_size(in);
    if (r->axis >= 0 && r->own) { /* the block's outputs: its lines, as if it were the array */
        dp_block_t mine = *in;
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            mine.global.n[d] = r->own_count[d];
            mine.start[d] = in->start[d] - r->own_start[d];
        }
        dp_axis_add(partial, &mine, r->axis, &r->want);
        return;
    }
    if (r->axis >= 0) {
        dp_axis_add(partial, in, r->axis, &r->want);
        return;
    }
    switch (r->pass) {
    case PASS_STATS:
        dp_stats_add(partial, in, &r->want, counts_of(r, partial));
        break;
    case PASS_HIST: { /* the tiles of the statistics, counting bins only */
        dp_stats_t unused;
        dp_stats_init(&unused);
        const dp_stats_want_t bins_only = {.hist = &r->hist};
        dp_stats_add(&unused, in, &bins_only, partial);
        break;
    }
    default:
        dp_select_add(&r->sel, in->data, n, partial);
        break;
    }
}

static void reduce_combine(const void *st, void *acc, const void *in)
{
    const reduce_t *r = st;
    int64_t words = 0;
    if (r->axis >= 0) {
        for (int64_t o = 0; o < r->kept; o++)
            dp_stats_merge((dp_stats_t *)acc + o, (const dp_stats_t *)in + o);
        return;
    }
    if (r->pass == PASS_STATS) {
        dp_stats_merge(acc, in);
        if (r->have_range)
            words = dp_hist_words(&r->hist);
    } else {
        words = (int64_t)(reduce_partial_size(st) / sizeof(int64_t));
    }
    int64_t *a = counts_of(r, acc);
    const int64_t *b = counts_of(r, (void *)in);
    for (int64_t i = 0; i < words; i++)
        a[i] += b[i];
}

/* numpy's linear interpolation between neighbours (numpy.percentile, method "linear"). */
static double lerp(double a, double b, double t)
{
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

/* The order indices percentile q needs, as numpy computes them: (n - 1) q / 100. */
static void percentile_index(int64_t n, double q, int64_t *lo, int64_t *hi, double *t)
{
    const double h = (double)(n - 1) * (q / 100.0);
    if (h >= (double)(n - 1)) {
        *lo = *hi = n - 1;
        *t = 0.0;
        return;
    }
    *lo = (int64_t)floor(h);
    *hi = *lo + 1;
    *t = h - (double)*lo;
}

static void start_select(reduce_t *r)
{
    const reduce_cfg_t *c = r->cfg;
    const int64_t n = r->stats.count;
    int64_t ranks[DP_SELECT_MAX];
    int k = 0;
    for (int i = 0; i < c->percentiles.n; i++) {
        double t;
        percentile_index(n, c->percentiles.v[i], &ranks[k], &ranks[k + 1], &t);
        k += 2;
    }
    if (c->ops & OP_MEDIAN) {
        ranks[k] = (n - 1) / 2;
        ranks[k + 1] = n / 2;
        k += 2;
    }
    dp_select_start(&r->sel, ranks, k);
}

static void finish_axis(reduce_t *r, const dp_stats_t *stats);

static int reduce_next_pass(void *st, const void *combined)
{
    reduce_t *r = st;
    const reduce_cfg_t *c = r->cfg;
    if (r->axis >= 0) {
        finish_axis(r, combined);
        r->pass = PASS_DONE;
        return 0;
    }
    switch (r->pass) {
    case PASS_STATS:
        r->stats = *(const dp_stats_t *)combined;
        if (r->have_range) {
            r->hist_counts = malloc((size_t)dp_hist_words(&r->hist) * sizeof(int64_t));
            memcpy(r->hist_counts, (const char *)combined + sizeof(dp_stats_t),
                   (size_t)dp_hist_words(&r->hist) * sizeof(int64_t));
        } else if ((c->ops & OP_HIST) && isfinite(r->stats.max - r->stats.min)) {
            /* a finite min and max no more than the largest double apart */
            dp_hist_make(&r->hist, c->bins, r->stats.min, r->stats.max);
            r->pass = PASS_HIST;
            return 1;
        }
        break;
    case PASS_HIST:
        r->hist_counts = malloc((size_t)dp_hist_words(&r->hist) * sizeof(int64_t));
        memcpy(r->hist_counts, combined, (size_t)dp_hist_words(&r->hist) * sizeof(int64_t));
        break;
    default:
        if (dp_select_next(&r->sel, combined))
            return 1;
        for (int j = 0; j < r->sel.n; j++)
            r->pvalue[j] = dp_select_value(&r->sel, j);
        r->pass = PASS_DONE;
        return 0;
    }
    if (want_select(c) && r->stats.count > 0) {
        start_select(r);
        r->pass = PASS_SELECT;
        return 1;
    }
    r->pass = PASS_DONE;
    return 0;
}

/* sqrt(hi + lo), correctly rounded but for rare near-ties: one Newton step from sqrt(hi). */
static double dd_sqrt(double hi, double lo)
{
    if (hi <= 0.0)
        return hi == 0.0 ? 0.0 : NAN;
    const double s = sqrt(hi);
    return s + (fma(-s, s, hi) + lo) / (2.0 * s);
}

static void report_hist(const reduce_t *r, dp_results_t *res)
{
    const dp_hist_t *h = &r->hist;
    if (!r->hist_counts) { /* no finite range could be taken from the data */
        dp_results_int(res, "hist/bins", r->cfg->bins);
        return;
    }
    const double range[2] = {h->lo, h->hi};
    dp_results_int(res, "hist/bins", h->bins);
    dp_results_reals(res, "hist/range", range, 2);
    dp_results_reals(res, "hist/edges", h->edges, (size_t)h->bins + 1);
    dp_results_ints(res, "hist/counts", r->hist_counts, (size_t)h->bins);
    dp_results_int(res, "hist/below", r->hist_counts[h->bins]);
    dp_results_int(res, "hist/above", r->hist_counts[h->bins + 1]);
}

/* "percentiles/<p>", p in 15 significant digits ("99.9", "100"), or in the fewest of 16 and 17
 * that read back as p: distinct percentiles have distinct names (33.33333333333333 and
 * 33.333333333333336), and none is named after a neighbour (99.99999999999999 is not "100"). */
static void percentile_name(char *name, size_t size, double p)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(name, size, "percentiles/%.*g", digits, p);
        if (strtod(name + strlen("percentiles/"), NULL) == p)
            return;
    }
}

static void report_order_statistics(const reduce_t *r, int poison, dp_results_t *res)
{
    const reduce_cfg_t *c = r->cfg;
    const int have = r->pass == PASS_DONE && r->sel.n > 0 && !poison;
    int k = 0;
    for (int i = 0; i < c->percentiles.n; i++, k += 2) {
        char name[64];
        percentile_name(name, sizeof name, c->percentiles.v[i]);
        double v = NAN;
        if (have) {
            int64_t lo, hi;
            double t;
            percentile_index(r->stats.count, c->percentiles.v[i], &lo, &hi, &t);
            v = lerp(r->pvalue[k], r->pvalue[k + 1], t);
        }
        dp_results_real(res, name, v);
    }
    if (c->ops & OP_MEDIAN) { /* numpy: the middle value, or the mean of the two middle ones */
        const int odd = r->stats.count % 2 == 1;
        dp_results_real(res, "median",
                        !have ? NAN
                        : odd ? r->pvalue[k]
                              : (r->pvalue[k] + r->pvalue[k + 1]) / 2.0);
    }
}

/* Below this, a variance or sum of squares has too few bits for its square root: that is taken
 * from it scaled by 2^(2 DP_STATS_SMALL_SHIFT), exactly, then scaled back. */
#define SQRT_SCALE_BELOW 0x1p-900

/* sqrt(S2) from the exact S2 (stats.h), scaled by 2^-1200 when S2 exceeds the largest double,
 * by 2^1074 when it is below SQRT_SCALE_BELOW. */
static double l2_of(const dp_stats_t *s)
{
    if (s->s2.pinf || s->s2.ninf || s->s2.nan) /* Inf (or NaN) values in the data */
        return dp_xsum_round(&s->s2);
    const dp_moment_sums_t sums = dp_stats_moments(s);
    double hi, lo;
    dp_xsum_squares(&sums, 0, &hi, &lo);
    if (isinf(hi)) {
        dp_xsum_squares(&sums, -2 * DP_STATS_BIG_SHIFT, &hi, &lo);
        return ldexp(dd_sqrt(hi, lo), DP_STATS_BIG_SHIFT);
    }
    if (hi < SQRT_SCALE_BELOW) {
        dp_xsum_squares(&sums, 2 * DP_STATS_SMALL_SHIFT, &hi, &lo);
        return ldexp(dd_sqrt(hi, lo), -DP_STATS_SMALL_SHIFT);
    }
    return dd_sqrt(hi, lo);
}

/* The values of the moment ops for one set of statistics (NaN where undefined). */
typedef struct {
    double sum, min, max, mean, var, std, l2;
} moments_t;

static moments_t moments(const dp_stats_t *s, const reduce_cfg_t *c)
{
    moments_t m;
    const int poison = c->nan == NAN_PROPAGATE && s->nan > 0;
    const int any = s->count > 0 && !poison;
    const int finite = !s->s1.pinf && !s->s1.ninf && !s->s1.nan; /* no Inf values */
    const double sum = dp_xsum_round(&s->s1);
    double hi, lo;
    m.sum = poison ? NAN : sum;
    m.min = any ? s->min : NAN;
    m.max = any ? s->max : NAN;
    m.mean = any ? sum : NAN; /* Inf or NaN when Inf values took part */
    if (any && finite) {
        dp_xsum_mean(&s->s1, s->count, &hi, &lo);
        m.mean = hi;
    }
    m.var = m.std = NAN;
    if (!poison && finite && s->count - c->ddof > 0) {
        const dp_moment_sums_t sums = dp_stats_moments(s);
        dp_xsum_var(&sums, s->count, c->ddof, 0, &hi, &lo);
        m.var = hi;
        m.std = dd_sqrt(hi, lo);
        if (isinf(hi)) { /* std = sqrt(var 2^-1200) 2^600 may still be finite */
            dp_xsum_var(&sums, s->count, c->ddof, -2 * DP_STATS_BIG_SHIFT, &hi, &lo);
            m.std = ldexp(dd_sqrt(hi, lo), DP_STATS_BIG_SHIFT);
        } else if (hi < SQRT_SCALE_BELOW) { /* var subnormal or 0: std from var 2^1074 */
            dp_xsum_var(&sums, s->count, c->ddof, 2 * DP_STATS_SMALL_SHIFT, &hi, &lo);
            m.std = ldexp(dd_sqrt(hi, lo), -DP_STATS_SMALL_SHIFT);
        }
    }
    m.l2 = poison ? NAN : l2_of(s);
    return m;
}

/* The outputs of an axis reduction finished from their statistics (the combined partial, or
 * the rank's own). */
static void finish_axis(reduce_t *r, const dp_stats_t *stats)
{
    free(r->values);
    r->values = malloc((size_t)(r->kept > 0 ? r->kept : 1) * sizeof *r->values);
    if (!r->values)
        abort();
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < r->kept; o++) {
        const moments_t m = moments(&stats[o], r->cfg);
        r->values[o] = (dp_reduce_value_t){
            .count = stats[o].count,
            .nan = stats[o].nan,
            .sum = m.sum,
            .min = m.min,
            .max = m.max,
            .mean = m.mean,
            .var = m.var,
            .std = m.std,
            .l2 = m.l2,
        };
    }
}

const dp_reduce_value_t *dp_reduce_values(const void *state, int64_t *n)
{
    const reduce_t *r = state;
    *n = r->kept;
    return r->values;
}

void dp_reduce_take_values(void *state, dp_reduce_value_t *all, int64_t nan)
{
    reduce_t *r = state;
    free(r->values);
    r->values = all;
    r->kept = all ? r->outputs : 0;
    r->gathered = 1;
    r->gathered_nan = nan;
}

const char *dp_reduce_own_block(void *state, const int64_t start[DP_MAX_DIMS],
                                const int64_t count[DP_MAX_DIMS],
                                const int64_t largest[DP_MAX_DIMS])
{
    reduce_t *r = state;
    static char msg[320];
    dp_shape_t box = {.ndim = r->global.ndim}, big = box, reduced;
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        box.n[d] = count[d];
        big.n[d] = largest[d];
    }
    const int64_t most = dp_axis_outputs(&big, r->axis, &reduced);
    if (r->outputs > INT_MAX) { /* gathered in MPI counts */
        snprintf(msg, sizeof msg,
                 "reducing along axis %d leaves %lld values per op; at most %d can be gathered",
                 r->cfg->axis - 1, (long long)r->outputs, INT_MAX);
        return msg;
    }
    if (most > AXIS_OUTPUTS_MAX) {
        snprintf(msg, sizeof msg,
                 "reducing along axis %d leaves %lld values per op; each rank keeps the exact "
                 "accumulators of those of its block, here up to %lld (%.0f MiB), more than %lld "
                 "(256 MiB): use at least %lld ranks",
                 r->cfg->axis - 1, (long long)r->outputs, (long long)most,
                 (double)most * sizeof(dp_stats_t) / (1 << 20), (long long)AXIS_OUTPUTS_MAX,
                 (long long)((r->outputs + AXIS_OUTPUTS_MAX - 1) / AXIS_OUTPUTS_MAX));
        return msg;
    }
    r->own = 1;
    memcpy(r->own_start, start, sizeof r->own_start);
    memcpy(r->own_count, count, sizeof r->own_count);
    r->kept = dp_axis_outputs(&box, r->axis, &reduced);
    return NULL;
}

/* Axis mode: one array per op, shaped like the reduced array; a scalar per op for a 1-D array,
 * as numpy gives. */
static void report_axis(const reduce_t *r, dp_results_t *res)
{
    const reduce_cfg_t *c = r->cfg;
    static const struct {
        unsigned op;
        const char *name;
        size_t field;
    } real_ops[] = {
        {OP_SUM, "sum", offsetof(dp_reduce_value_t, sum)},
        {OP_MIN, "min", offsetof(dp_reduce_value_t, min)},
        {OP_MAX, "max", offsetof(dp_reduce_value_t, max)},
        {OP_MEAN, "mean", offsetof(dp_reduce_value_t, mean)},
        {OP_VAR, "var", offsetof(dp_reduce_value_t, var)},
        {OP_STD, "std", offsetof(dp_reduce_value_t, std)},
        {OP_L2, "l2", offsetof(dp_reduce_value_t, l2)},
    };
    const int scalar = r->global.ndim == 1;
    if (!r->values) { /* rank 0 holds them: the shapes only, for the output file's datasets */
        if (c->ops & OP_COUNT)
            dp_results_elsewhere(res, "count", 1, scalar ? NULL : &r->reduced);
        for (size_t k = 0; k < sizeof real_ops / sizeof real_ops[0]; k++)
            if (c->ops & real_ops[k].op)
                dp_results_elsewhere(res, real_ops[k].name, 0, scalar ? NULL : &r->reduced);
        return;
    }
    const int64_t m = r->outputs;
    double *v = malloc((size_t)(m > 0 ? m : 1) * sizeof *v);
    int64_t *counts = malloc((size_t)(m > 0 ? m : 1) * sizeof *counts);
    if (!v || !counts)
        abort();
    for (int64_t o = 0; o < m; o++)
        counts[o] = r->values[o].count;
    if ((c->ops & OP_COUNT) && scalar)
        dp_results_int(res, "count", counts[0]);
    else if (c->ops & OP_COUNT)
        dp_results_int_array(res, "count", counts, &r->reduced);
    for (size_t k = 0; k < sizeof real_ops / sizeof real_ops[0]; k++) {
        if (!(c->ops & real_ops[k].op))
            continue;
        for (int64_t o = 0; o < m; o++)
            v[o] = *(const double *)((const char *)&r->values[o] + real_ops[k].field);
        if (scalar)
            dp_results_real(res, real_ops[k].name, v[0]);
        else
            dp_results_array(res, real_ops[k].name, v, &r->reduced);
    }
    free(v);
    free(counts);
}

static const char *reduce_results(const void *st, const void *combined, dp_results_t *res)
{
    (void)combined; /* next_pass kept what it needs */
    const reduce_t *r = st;
    const reduce_cfg_t *c = r->cfg;
    const dp_stats_t *s = &r->stats;
    static char msg[160];
    int64_t nan = s->nan;
    if (r->axis >= 0 && r->gathered)
        nan += r->gathered_nan;
    else if (r->axis >= 0)
        for (int64_t o = 0; o < r->outputs; o++)
            nan += r->values[o].nan;
    if (c->nan == NAN_ERROR && nan > 0) {
        snprintf(msg, sizeof msg, "the data contain %lld NaN values ([reduce] nan = error)",
                 (long long)nan);
        return msg;
    }
    const int poison = c->nan == NAN_PROPAGATE && s->nan > 0;
    if (r->axis >= 0) {
        report_axis(r, res);
        dp_results_int(res, "nan", nan);
        return NULL;
    }
    const moments_t m = moments(s, c);
    if (c->ops & OP_COUNT)
        dp_results_int(res, "count", s->count);
    if (c->ops & OP_SUM)
        dp_results_real(res, "sum", m.sum);
    if (c->ops & OP_MIN)
        dp_results_real(res, "min", m.min);
    if (c->ops & OP_MAX)
        dp_results_real(res, "max", m.max);
    if (c->ops & OP_MEAN)
        dp_results_real(res, "mean", m.mean);
    if (c->ops & OP_VAR)
        dp_results_real(res, "var", m.var);
    if (c->ops & OP_STD)
        dp_results_real(res, "std", m.std);
    if (c->ops & OP_L2)
        dp_results_real(res, "l2", m.l2);
    if (c->ops & OP_ARGMIN)
        dp_results_index(res, "argmin", poison ? s->first_nan : s->argmin);
    if (c->ops & OP_ARGMAX)
        dp_results_index(res, "argmax", poison ? s->first_nan : s->argmax);
    if (c->ops & OP_HIST)
        report_hist(r, res);
    report_order_statistics(r, poison, res);
    dp_results_int(res, "nan", s->nan);
    return NULL;
}

const dp_kernel_t dp_kernel_reduce = {
    .name = "reduce",
    .summary = "one-pass statistics: count, sum, min, max, mean, var, std, l2, argmin, argmax, "
               "hist, exact percentiles; bitwise reproducible",
    .kind = DP_KERNEL_REDUCE,
    .opts = reduce_opts,
    .config_size = sizeof(reduce_cfg_t),
    .check = reduce_check,
    .check_data = reduce_check_data,
    .create = reduce_create,
    .multi_pass = reduce_multi_pass,
    .partial_size = reduce_partial_size,
    .partial_init = reduce_partial_init,
    .process = reduce_process,
    .combine = reduce_combine,
    .next_pass = reduce_next_pass,
    .results = reduce_results,
    .destroy = reduce_destroy,
};
