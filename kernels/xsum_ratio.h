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

/* var = (n S2 - S1^2) / (n (n - ddof)) as hi + lo, hi correctly rounded, 0 when n S2 <= S1^2
 * (S2 is short of the exact sum of squares only by squares that underflow). s1 and s2 must hold
 * no Inf or NaN; 0 <= ddof < n. Local. */
void dp_xsum_var(const dp_xsum_t *s1, const dp_xsum_t *s2, int64_t n, int64_t ddof, double *hi,
                 double *lo);

#endif
