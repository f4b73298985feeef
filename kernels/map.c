#include "kernel.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* map: one element-wise function of each value, written to the output dataset in the element
 * type dtype, optionally followed by a reduction of the written values in the same pass
 * ([map] then_reduce). Values are computed in float64; dproc rounds them to dtype as numpy's
 * astype would after rint for integers (out_dtype): so a then_reduce sees exactly the values
 * stored. */

enum {
    OP_SCALE,
    OP_OFFSET,
    OP_AXPY,
    OP_CLAMP,
    OP_ABS,
    OP_SQRT,
    OP_LOG,
    OP_EXP,
    OP_THRESHOLD,
    OP_CAST,
    OP_COUNT
};
#define MAP_OP_NAMES "scale|offset|axpy|clamp|abs|sqrt|log|exp|threshold|cast"

typedef struct {
    int op;
    dp_reals_t a, b, lo, hi; /* each given (n = 1) or not (n = 0) */
    int dtype;               /* dp_dtype_t of the output */
    char *then_reduce;
} map_cfg_t;

#define OFF(f) offsetof(map_cfg_t, f)
#define DBL_LIMIT 1.7976931348623157e308

static const dp_opt_t map_opts[] = {
    {.key = "op",
     .type = DP_OPT_CHOICE,
     .required = 1,
     .allowed = MAP_OP_NAMES,
     .offset = OFF(op),
     .help = "y = a*x (scale), x + b (offset), a*x + b (axpy), x limited to [lo, hi] (clamp), "
             "abs x, sqrt x, log x, exp x, 1 where x >= lo else 0 (threshold), x (cast)"},
    {.key = "a",
     .type = DP_OPT_REALS,
     .min = -DBL_LIMIT,
     .max = DBL_LIMIT,
     .offset = OFF(a),
     .help = "factor of scale and axpy (required by them)"},
    {.key = "b",
     .type = DP_OPT_REALS,
     .min = -DBL_LIMIT,
     .max = DBL_LIMIT,
     .offset = OFF(b),
     .help = "addend of offset and axpy (required by them)"},
    {.key = "lo",
     .type = DP_OPT_REALS,
     .min = -DBL_LIMIT,
     .max = DBL_LIMIT,
     .offset = OFF(lo),
     .help = "lower bound of clamp (none: unbounded below); the level of threshold (required)"},
    {.key = "hi",
     .type = DP_OPT_REALS,
     .min = -DBL_LIMIT,
     .max = DBL_LIMIT,
     .offset = OFF(hi),
     .help = "upper bound of clamp (none: unbounded above)"},
    {.key = "dtype",
     .type = DP_OPT_CHOICE,
     .def = "float64",
     .allowed = DP_DTYPE_NAMES,
     .offset = OFF(dtype),
     .help = "element type of the output dataset: integers take the nearest value (ties to "
             "even) and saturate at the type's limits, NaN becomes 0"},
    {.key = "then_reduce",
     .type = DP_OPT_STRING,
     .offset = OFF(then_reduce),
     .help = "reduce ops (as [reduce] ops) over the mapped values in the same pass; the other "
             "[reduce] keys apply"},
    {0},
};

/* Which of a, b, lo, hi each op takes: bit 0 a, 1 b, 2 lo, 3 hi; and which it requires. */
static const unsigned takes[OP_COUNT] = {
    [OP_SCALE] = 1, [OP_OFFSET] = 2, [OP_AXPY] = 3, [OP_CLAMP] = 12, [OP_THRESHOLD] = 4};
static const unsigned needs[OP_COUNT] = {
    [OP_SCALE] = 1, [OP_OFFSET] = 2, [OP_AXPY] = 3, [OP_THRESHOLD] = 4};

static const char *map_check(const void *cfg, const char **key, int *column)
{
    (void)column;
    const map_cfg_t *c = cfg;
    static const char *const names[] = {"a", "b", "lo", "hi"};
    static char msg[160];
    const dp_reals_t *p[] = {&c->a, &c->b, &c->lo, &c->hi};
    static const char *const ops[] = {"scale", "offset", "axpy", "clamp",     "abs",
                                      "sqrt",  "log",    "exp",  "threshold", "cast"};
    for (int i = 0; i < 4; i++) {
        *key = names[i];
        if (p[i]->n > 1)
            return "expected one number";
        if (p[i]->n == 1 && !(takes[c->op] & 1u << i)) {
            snprintf(msg, sizeof msg, "not used by op = %s", ops[c->op]);
            return msg;
        }
        if (p[i]->n == 0 && (needs[c->op] & 1u << i)) {
            snprintf(msg, sizeof msg, "missing: op = %s needs it", ops[c->op]);
            return msg;
        }
    }
    if (c->lo.n && c->hi.n && c->op == OP_CLAMP && !(c->lo.v[0] <= c->hi.v[0])) {
        *key = "hi";
        return "must not be below lo";
    }
    if (c->then_reduce && !c->then_reduce[0]) {
        *key = "then_reduce";
        return "empty: list reduce ops, or remove the key";
    }
    return NULL;
}

/* The state is the configuration itself: nothing to allocate. */
static void *map_create(const void *cfg, const dp_shape_t *global)
{
    (void)global;
    return (void *)cfg;
}

/* Formatting is off here: clang-format would fold the pragma and the loop into one line. */
// clang-format off
#define APPLY(expr)                                                                                \
    do {                                                                                           \
        _Pragma("omp parallel for simd schedule(static)")                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const double x = in[i];                                                                \
            out[i] = (expr);                                                                       \
        }                                                                                          \
    } while (0)
// clang-format on

static void map_process(const void *st, const dp_block_t *inb, dp_block_t *outb, void *partial)
{
    (void)partial;
    const map_cfg_t *m = st;
    const double *in = inb->data;
    double *out = outb->data;
    const int64_t n = dp_block_size(inb);
    const double a = m->a.n ? m->a.v[0] : 1, b = m->b.n ? m->b.v[0] : 0;
    const double lo = m->lo.n ? m->lo.v[0] : -INFINITY, hi = m->hi.n ? m->hi.v[0] : INFINITY;
    switch (m->op) {
    case OP_SCALE:
        APPLY(a * x);
        break;
    case OP_OFFSET:
        APPLY(x + b);
        break;
    case OP_AXPY:
        APPLY(a * x + b);
        break;
    case OP_CLAMP: /* NaN stays NaN, as numpy.clip */
        APPLY(x < lo ? lo : x > hi ? hi : x);
        break;
    case OP_ABS:
        APPLY(fabs(x));
        break;
    case OP_SQRT:
        APPLY(sqrt(x));
        break;
    case OP_LOG:
        APPLY(log(x));
        break;
    case OP_EXP:
        APPLY(exp(x));
        break;
    case OP_THRESHOLD:
        APPLY(x != x ? x : x >= lo ? 1.0 : 0.0);
        break;
    case OP_CAST:
        APPLY(x);
        break;
    }
}

static dp_dtype_t map_out_dtype(const void *cfg)
{
    return (dp_dtype_t)((const map_cfg_t *)cfg)->dtype;
}

static const char *map_then_reduce(const void *cfg)
{
    return ((const map_cfg_t *)cfg)->then_reduce;
}

const dp_kernel_t dp_kernel_map = {
    .name = "map",
    .summary = "element-wise scale, offset, axpy, clamp, abs, sqrt, log, exp, threshold, cast; "
               "streamed, optionally reduced in the same pass",
    .kind = DP_KERNEL_MAP,
    .opts = map_opts,
    .config_size = sizeof(map_cfg_t),
    .check = map_check,
    .create = map_create,
    .process = map_process,
    .out_dtype = map_out_dtype,
    .then_reduce = map_then_reduce,
};
