/* Values computed in float64 rounded to the element type they will be stored in, so that what
 * a kernel reduces or reports is exactly what the output file holds. */
#ifndef DP_ROUNDING_H
#define DP_ROUNDING_H

#include "kernel.h"

#include <stdint.h>

/* Rounds out[0..n) in place to the nearest value of type t: float32 as a cast; integers to the
 * nearest (ties to even), saturating at the type's limits, NaN to 0 (as numpy's astype after
 * rint). Local, OpenMP. */
void dp_round_to_dtype(dp_dtype_t t, double *out, int64_t n);

#endif
