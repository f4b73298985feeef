/* Exact order statistics of distributed data by radix selection: the values (as
 * order-preserving 64-bit keys) are narrowed 16 bits per pass; each pass counts, for every
 * wanted rank, the next digit of the keys that share the prefix found so far. Four passes over
 * in-memory data pin down each wanted value exactly, with partial counts that add up across
 * ranks and threads. */
#ifndef DP_SELECT_H
#define DP_SELECT_H

#include "kernel.h"

#include <stdint.h>

/* At most DP_SELECT_MAX wanted ranks: two for each of the most percentiles a job can list, two
 * for the median. */
enum { DP_SELECT_PASSES = 4, DP_SELECT_DIGITS = 1 << 16, DP_SELECT_MAX = 2 * DP_MAX_REALS + 2 };

typedef struct {
    int n;                          /* wanted ranks */
    int64_t rank[DP_SELECT_MAX];    /* 0-based order index among non-NaN values */
    int64_t left[DP_SELECT_MAX];    /* rank still to skip within the current prefix */
    uint64_t prefix[DP_SELECT_MAX]; /* the key bits found so far */
    int group[DP_SELECT_MAX];       /* which count array this wanted rank reads */
    int ngroups;
    uint64_t gprefix[DP_SELECT_MAX]; /* distinct prefixes of the current pass, ascending */
    int pass;                        /* 0 .. DP_SELECT_PASSES */
} dp_select_t;

/* Starts a selection of the given ranks (duplicates allowed, at most DP_SELECT_MAX). Local. */
void dp_select_start(dp_select_t *s, const int64_t *ranks, int n);

/* int64 words of the counts of the current pass. Local. */
int64_t dp_select_words(const dp_select_t *s);

/* Adds n values (NaN skipped) to the counts of the current pass. OpenMP. Local. */
void dp_select_add(const dp_select_t *s, const double *x, int64_t n, int64_t *counts);

/* Takes the counts of the pass summed over all data; returns 1 while more passes are needed.
 * Local. */
int dp_select_next(dp_select_t *s, const int64_t *counts);

/* The value of wanted rank j once dp_select_next returned 0. Local. */
double dp_select_value(const dp_select_t *s, int j);

#endif
