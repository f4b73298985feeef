#include "rounding.h"

#include <math.h>

/* Formatting is off here: clang-format would fold the pragma and the loop into one line. */
// clang-format off
/* Rounds to an integer type: nearest (ties to even), saturating, NaN to 0. */
#define ROUND_INT(lo, hi)                                                                          \
    do {                                                                                           \
        _Pragma("omp parallel for simd schedule(static)")                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const double x = rint(out[i]);                                                         \
            out[i] = x != x ? 0 : x < (lo) ? (lo) : x > (hi) ? (hi) : x;                           \
        }                                                                                          \
    } while (0)
// clang-format on

void dp_round_to_dtype(dp_dtype_t t, double *out, int64_t n)
{
    switch (t) {
    case DP_DT_FLOAT64:
        break;
    case DP_DT_FLOAT32:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; i++)
            out[i] = (double)(float)out[i];
        break;
    case DP_DT_INT8:
        ROUND_INT(-128.0, 127.0);
        break;
    case DP_DT_INT16:
        ROUND_INT(-32768.0, 32767.0);
        break;
    case DP_DT_INT32:
        ROUND_INT(-2147483648.0, 2147483647.0);
        break;
    case DP_DT_INT64: /* 2^63 - 1 is not a double: the largest double below 2^63 */
        ROUND_INT(-9223372036854775808.0, 9223372036854774784.0);
        break;
    case DP_DT_UINT8:
        ROUND_INT(0.0, 255.0);
        break;
    case DP_DT_UINT16:
        ROUND_INT(0.0, 65535.0);
        break;
    case DP_DT_UINT32:
        ROUND_INT(0.0, 4294967295.0);
        break;
    case DP_DT_UINT64:
        ROUND_INT(0.0, 18446744073709549568.0);
        break;
    }
}
