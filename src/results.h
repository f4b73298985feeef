/* The named results of a kernel (see dp_results_real and friends in kernel.h). */
#ifndef DP_RESULTS_H
#define DP_RESULTS_H

#include "kernel.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name; /* nested with '/': "hist/counts" */
    int is_int; /* values in i (else in r) */
    int scalar; /* a single value, not a list */
    size_t n;
    dp_shape_t shape; /* of an array result; ndim 0 for scalars and plain lists */
    double *r;        /* NULL for a result held elsewhere (dp_results_elsewhere) */
    int64_t *i;       /* likewise */
    char **s;         /* strings: a list of them, or with i a list of [string, integer] pairs */
} dp_result_t;

struct dp_results {
    dp_result_t *v;
    size_t n, cap;
    int index_ndim;         /* the input array as stored, for dp_results_index */
    const int64_t *index_n; /* its extents, owned by the source */
    /* The extents in which array results are written, when they are not their shape's: an axis
     * reduction of data seen folded gives the file's extents but the axis (array_ndim 0: none;
     * array_n owned by the driver). */
    int array_ndim;
    const int64_t *array_n;
};

/* A list of strings. Local. */
void dp_results_strings(dp_results_t *r, const char *name, char *const *s, size_t n);

/* A list of [string, integer] pairs, e.g. the most frequent words and their counts. Local. */
void dp_results_pairs(dp_results_t *r, const char *name, char *const *s, const int64_t *v,
                      size_t n);

/* Frees all results and leaves the list empty. Local. */
void dp_results_free(dp_results_t *r);

#endif
