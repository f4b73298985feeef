#include "expr.h"
#include "kernel.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expr: y = a formula of x (each value), i (its global row-major index) and named constants,
 * written in the job file ([expr] y = sqrt(x*x + 1) * a, a = 2.5), compiled once into a vector
 * program (expr.h) and streamed like map: written in dtype, optionally reduced in the same
 * pass. */

typedef struct {
    char *y;
    dp_named_t constants;
    int dtype; /* dp_dtype_t of the output */
    char *then_reduce;
} expr_cfg_t;

#define OFF(f) offsetof(expr_cfg_t, f)

static const dp_opt_t expr_opts[] = {
    {.key = "y",
     .type = DP_OPT_STRING,
     .required = 1,
     .offset = OFF(y),
     .help = "the formula of x (the value), i (its global row-major index) and the constants: "
             "+ - * / % ^, comparisons, && || !, where(c, a, b), the functions of <math.h>, pi, "
             "e, inf, nan (docs/expr.md)"},
    {.key = "NAME",
     .type = DP_OPT_NAMED,
     .min = -1.7976931348623157e308,
     .max = 1.7976931348623157e308,
     .offset = OFF(constants),
     .help = "any other key is a named constant of the formula, e.g. a = 2.5"},
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
     .help = "reduce ops (as [reduce] ops) over the values written, in the same pass; the other "
             "[reduce] keys apply"},
    {0},
};

/* The program of the configuration's formula, or NULL with err filled. */
static dp_expr_t *compile(const expr_cfg_t *c, dp_expr_error_t *err)
{
    const char *names[DP_MAX_NAMED];
    for (int j = 0; j < c->constants.n; j++)
        names[j] = c->constants.name[j];
    return dp_expr_compile(c->y, names, c->constants.v, c->constants.n, err);
}

static const char *expr_check(const void *cfg, const char **key, int *column)
{
    const expr_cfg_t *c = cfg;
    static char msg[300];
    for (int j = 0; j < c->constants.n; j++)
        if (!strcmp(c->constants.name[j], "x") || !strcmp(c->constants.name[j], "i")) {
            *key = c->constants.name[j];
            return "names a variable of the formula (x: the value, i: its index), not a constant";
        }
    dp_expr_error_t err;
    dp_expr_t *e = compile(c, &err);
    if (!e) {
        *key = "y";
        *column = err.column;
        snprintf(msg, sizeof msg, "%s", err.message);
        return msg;
    }
    const char *unused = NULL;
    for (int j = 0; j < c->constants.n && !unused; j++)
        if (!dp_expr_uses(e, c->constants.name[j]))
            unused = c->constants.name[j];
    dp_expr_free(e);
    if (unused) {
        *key = unused;
        return "a constant that y does not use (a typo?): use it or remove it";
    }
    if (c->then_reduce && !c->then_reduce[0]) {
        *key = "then_reduce";
        return "empty: list reduce ops, or remove the key";
    }
    return NULL;
}

typedef struct {
    dp_expr_t *program;
} expr_state_t;

static void *expr_create(const void *cfg, const dp_shape_t *global)
{
    (void)global;
    const expr_cfg_t *c = cfg;
    expr_state_t *st = malloc(sizeof *st);
    dp_expr_error_t err;
    if (!st || !(st->program = compile(c, &err))) { /* checked at parse time: out of memory */
        fprintf(stderr, "dproc: out of memory compiling [expr] y\n");
        abort();
    }
    return st;
}

static void expr_destroy(void *st)
{
    expr_state_t *s = st;
    dp_expr_free(s->program);
    free(s);
}

enum { SPAN = 16 * DP_EXPR_VEC }; /* values per OpenMP work item: 32 KiB in, 32 KiB out */

/* Evaluates n values that are consecutive in the global array from global index start. */
static void eval_run(const dp_expr_t *e, const double *in, double *out, int64_t n, int64_t start)
{
    const int64_t spans = (n + SPAN - 1) / SPAN;
#pragma omp parallel for schedule(static)
    for (int64_t s = 0; s < spans; s++) {
        const int64_t off = s * SPAN, len = n - off < SPAN ? n - off : SPAN;
        dp_expr_eval(e, in + off, out + off, len, start + off);
    }
}

/* The global row-major index of the first value of run r of a piece whose runs span axes d
 * and after: r counts the runs over the piece's axes before d. */
static int64_t run_start(const dp_block_t *in, const int64_t *stride, int d, int64_t r)
{
    int64_t start = in->start[d] * stride[d];
    for (int k = d - 1; k >= 0; k--) {
        start += (in->start[k] + r % in->count[k]) * stride[k];
        r /= in->count[k];
    }
    return start;
}

/* Evaluates a piece: runs of values consecutive in the global array, each with the global
 * index of its first value. The run is the last axis, grown over the axes before it while the
 * piece spans the whole of the axes after them; a piece of whole rows is one run. */
static void expr_process(const void *st, const dp_block_t *in, dp_block_t *out, void *partial)
{
    (void)partial;
    const expr_state_t *s = st;
    const int64_t *g = in->global.n, *c = in->count;
    int d = in->global.ndim - 1;
    int64_t run = c[d], stride[DP_MAX_DIMS] = {1, 1, 1};
    for (int k = in->global.ndim - 2; k >= 0; k--)
        stride[k] = stride[k + 1] * g[k + 1];
    while (d > 0 && c[d] == g[d])
        run *= c[--d];
    const int64_t runs = run ? dp_block_size(in) / run : 0;
    if (runs == 1) { /* threads share the run */
        eval_run(s->program, in->data, out->data, run, run_start(in, stride, d, 0));
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < runs; r++)
        dp_expr_eval(s->program, in->data + r * run, out->data + r * run, run,
                     run_start(in, stride, d, r));
}

static dp_dtype_t expr_out_dtype(const void *cfg)
{
    return (dp_dtype_t)((const expr_cfg_t *)cfg)->dtype;
}

static const char *expr_then_reduce(const void *cfg)
{
    return ((const expr_cfg_t *)cfg)->then_reduce;
}

const dp_kernel_t dp_kernel_expr = {
    .name = "expr",
    .summary = "y = a formula of x, its index i and named constants, compiled to vector code; "
               "streamed, optionally reduced in the same pass",
    .kind = DP_KERNEL_MAP,
    .opts = expr_opts,
    .config_size = sizeof(expr_cfg_t),
    .check = expr_check,
    .create = expr_create,
    .process = expr_process,
    .out_dtype = expr_out_dtype,
    .then_reduce = expr_then_reduce,
    .destroy = expr_destroy,
};
