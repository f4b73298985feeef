/* Mean and variance from the exact sums S1 = sum x and S2 = sum x^2 (xsum.h), computed exactly
 * in integer arithmetic and rounded once: var = (n S2 - S1^2) / (n (n - ddof)), so that no
 * cancellation between S2 and S1^2 / n loses bits, and a constant array has variance 0. */
#ifndef DP_XSUM_RATIO_H
#define DP_XSUM_RATIO_H

#include "xsum.h"

#include <stdint.h>

/* mean = S1 / n as hi + lo, hi correctly rounded (ties to even), lo about 64 more bits. s1
 * must hold no Inf or NaN; n > 0. Local. */
void dp_xsum_mean(const dp_xsum_t *s1, int64_t n, double *hi, double *lo);

/* The sums of x and x^2 of a set of values: S2 = s2 + s2_high 2^high_exp + s2_low 2^-1074
 * (0 <= high_exp <= 1200), so that squares too large for a double can be given scaled down, and
 * squares too small for one scaled up: s2_low holds squares of values scaled by 2^537, which
 * are exact multiples of 2^-1074 for every double. */
typedef struct {
    const dp_xsum_t *s1, *s2, *s2_high, *s2_low;
    int high_exp;
} dp_moment_sums_t;

/* var 2^scale_exp, var = (n S2 - S1^2) / (n (n - ddof)), as hi + lo, hi correctly rounded (+Inf
 * beyond the largest double). The sums must hold no Inf or NaN; 0 <= ddof < n;
 * |scale_exp| <= 1200. Local. */
void dp_xsum_var(const dp_moment_sums_t *m, int64_t n, int64_t ddof, int scale_exp, double *hi,
                 double *lo);

/* S2 2^scale_exp as hi + lo, hi correctly rounded (+Inf beyond the largest double); the sums
 * must hold no Inf or NaN; |scale_exp| <= 1200. Local. */
void dp_xsum_squares(const dp_moment_sums_t *m, int scale_exp, double *hi, double *lo);

#endif
