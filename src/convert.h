/* Conversion between stored element types and the float64 values kernels compute on. */
#ifndef DP_CONVERT_H
#define DP_CONVERT_H

#include "kernel.h"

#include <stdint.h>

/* Converts n values of type t at src to float64 at dst. Local, OpenMP. */
void dp_convert_to_f64(dp_dtype_t t, const void *src, double *dst, int64_t n);

/* Stores n float64 values as type t: exact for values the type holds (as the map kernel
 * produces them); others as C's conversion. Local, OpenMP. */
void dp_convert_from_f64(dp_dtype_t t, const double *src, void *dst, int64_t n);

#endif
