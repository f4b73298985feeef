#include "results.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static dp_result_t *add(dp_results_t *r, const char *name, int is_int, int scalar, size_t n)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->v = dp_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    dp_result_t *x = &r->v[r->n++];
    *x = (dp_result_t){.name = dp_xstrdup(name), .is_int = is_int, .scalar = scalar, .n = n};
    if (is_int)
        x->i = dp_xcalloc(n, sizeof *x->i);
    else
        x->r = dp_xcalloc(n, sizeof *x->r);
    return x;
}

void dp_results_real(dp_results_t *r, const char *name, double v)
{
    add(r, name, 0, 1, 1)->r[0] = v;
}

void dp_results_int(dp_results_t *r, const char *name, int64_t v)
{
    add(r, name, 1, 1, 1)->i[0] = v;
}

void dp_results_reals(dp_results_t *r, const char *name, const double *v, size_t n)
{
    dp_result_t *x = add(r, name, 0, 0, n);
    if (n > 0) /* v may be NULL for no values, which memcpy must not see */
        memcpy(x->r, v, n * sizeof *v);
}

void dp_results_ints(dp_results_t *r, const char *name, const int64_t *v, size_t n)
{
    dp_result_t *x = add(r, name, 1, 0, n);
    if (n > 0)
        memcpy(x->i, v, n * sizeof *v);
}

void dp_results_index(dp_results_t *r, const char *name, int64_t i)
{
    const int nd = r->index_ndim;
    if (i < 0) {
        dp_result_t *x = add(r, name, 0, 0, (size_t)nd);
        for (int d = 0; d < nd; d++)
            x->r[d] = NAN;
        return;
    }
    dp_result_t *x = add(r, name, 1, 0, (size_t)nd);
    for (int d = nd - 1; d >= 0; d--) {
        x->i[d] = i % r->index_n[d];
        i /= r->index_n[d];
    }
}

static int64_t elements(const dp_shape_t *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= s->n[d];
    return n;
}

void dp_results_array(dp_results_t *r, const char *name, const double *v, const dp_shape_t *shape)
{
    dp_result_t *x = add(r, name, 0, 0, (size_t)elements(shape));
    memcpy(x->r, v, x->n * sizeof *v);
    x->shape = *shape;
}

void dp_results_int_array(dp_results_t *r, const char *name, const int64_t *v,
                          const dp_shape_t *shape)
{
    dp_result_t *x = add(r, name, 1, 0, (size_t)elements(shape));
    memcpy(x->i, v, x->n * sizeof *v);
    x->shape = *shape;
}

void dp_results_elsewhere(dp_results_t *r, const char *name, int is_int, const dp_shape_t *shape)
{
    dp_result_t *x = add(r, name, is_int, shape == NULL, 1);
    free(x->r);
    free(x->i);
    x->r = NULL;
    x->i = NULL;
    if (shape) {
        x->n = (size_t)elements(shape);
        x->shape = *shape;
    }
}

static char **copy_strings(char *const *s, size_t n)
{
    char **c = dp_xcalloc(n ? n : 1, sizeof *c);
    for (size_t j = 0; j < n; j++)
        c[j] = dp_xstrdup(s[j]);
    return c;
}

void dp_results_strings(dp_results_t *r, const char *name, char *const *s, size_t n)
{
    dp_result_t *x = add(r, name, 0, 0, n);
    free(x->r);
    x->r = NULL;
    x->s = copy_strings(s, n);
}

void dp_results_pairs(dp_results_t *r, const char *name, char *const *s, const int64_t *v, size_t n)
{
    dp_result_t *x = add(r, name, 1, 0, n);
    if (n > 0) /* an empty table has no arrays: memcpy must not see their NULL */
        memcpy(x->i, v, n * sizeof *v);
    x->s = copy_strings(s, n);
}

void dp_results_free(dp_results_t *r)
{
    for (size_t k = 0; k < r->n; k++) {
        for (size_t j = 0; r->v[k].s && j < r->v[k].n; j++)
            free(r->v[k].s[j]);
        free(r->v[k].s);
        free(r->v[k].name);
        free(r->v[k].r);
        free(r->v[k].i);
    }
    free(r->v);
    *r = (dp_results_t){0};
}
