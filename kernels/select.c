#include "select.h"

#include <stdlib.h>
#include <string.h>

/* Order-preserving map of doubles to unsigned keys: negative values have all bits flipped,
 * others the sign bit set. */
static inline uint64_t key_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static double value_of(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void make_groups(dp_select_t *s)
{
    s->ngroups = 0;
    for (int j = 0; j < s->n; j++) {
        int g = 0;
        while (g < s->ngroups && s->gprefix[g] != s->prefix[j])
            g++;
        if (g == s->ngroups)
            s->gprefix[s->ngroups++] = s->prefix[j];
        s->group[j] = g;
    }
}

void dp_select_start(dp_select_t *s, const int64_t *ranks, int n)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    for (int j = 0; j < n; j++) {
        s->rank[j] = ranks[j];
        s->left[j] = ranks[j];
    }
    make_groups(s);
}

int64_t dp_select_words(const dp_select_t *s)
{
    return (int64_t)s->ngroups * DP_SELECT_DIGITS;
}

void dp_select_add(const dp_select_t *s, const double *x, int64_t n, int64_t *counts)
{
    const int shift = 64 - 16 * (s->pass + 1);
    const int pshift = 64 - 16 * s->pass; /* bits of the prefix: 16 * pass */
    const int64_t words = dp_select_words(s);
#pragma omp parallel
    {
        int64_t *local = calloc((size_t)words, sizeof *local);
        if (!local)
            abort();
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            const double v = x[i];
            if (v != v)
                continue;
            const uint64_t k = key_of(v);
            const uint64_t prefix = s->pass == 0 ? 0 : k >> pshift;
            const unsigned digit = (unsigned)(k >> shift) & (DP_SELECT_DIGITS - 1);
            for (int g = 0; g < s->ngroups; g++)
                if (s->gprefix[g] == prefix)
                    local[(int64_t)g * DP_SELECT_DIGITS + digit]++;
        }
#pragma omp critical(dp_select_merge)
        for (int64_t w = 0; w < words; w++)
            counts[w] += local[w];
        free(local);
    }
}

int dp_select_next(dp_select_t *s, const int64_t *counts)
{
    for (int j = 0; j < s->n; j++) {
        const int64_t *c = counts + (int64_t)s->group[j] * DP_SELECT_DIGITS;
        int64_t cum = 0;
        unsigned d = 0;
        while (d < DP_SELECT_DIGITS - 1 && cum + c[d] <= s->left[j])
            cum += c[d++];
        s->left[j] -= cum;
        s->prefix[j] = (s->prefix[j] << 16) | d;
    }
    s->pass++;
    if (s->pass == DP_SELECT_PASSES)
        return 0;
    make_groups(s);
    return 1;
}

double dp_select_value(const dp_select_t *s, int j)
{
    return value_of(s->prefix[j]);
}
