#include "convert.h"

#include <string.h>

/* Formatting is off here: clang-format would fold the pragma and the loop into one line. */
// clang-format off
#define CONVERT(type)                                                                              \
    do {                                                                                           \
        const type *in = src;                                                                      \
        _Pragma("omp parallel for simd schedule(static)")                                          \
        for (int64_t i = 0; i < n; i++)                                                            \
            dst[i] = (double)in[i];                                                                \
    } while (0)

#define STORE(type)                                                                                \
    do {                                                                                           \
        type *out = dst;                                                                           \
        _Pragma("omp parallel for simd schedule(static)")                                          \
        for (int64_t i = 0; i < n; i++)                                                            \
            out[i] = (type)src[i];                                                                 \
    } while (0)
// clang-format on

void dp_convert_to_f64(dp_dtype_t t, const void *src, double *dst, int64_t n)
{
    switch (t) {
    case DP_DT_INT8:
        CONVERT(int8_t);
        break;
    case DP_DT_INT16:
        CONVERT(int16_t);
        break;
    case DP_DT_INT32:
        CONVERT(int32_t);
        break;
    case DP_DT_INT64:
        CONVERT(int64_t);
        break;
    case DP_DT_UINT8:
        CONVERT(uint8_t);
        break;
    case DP_DT_UINT16:
        CONVERT(uint16_t);
        break;
    case DP_DT_UINT32:
        CONVERT(uint32_t);
        break;
    case DP_DT_UINT64:
        CONVERT(uint64_t);
        break;
    case DP_DT_FLOAT32:
        CONVERT(float);
        break;
    case DP_DT_FLOAT64:
        memcpy(dst, src, (size_t)n * sizeof(double));
        break;
    }
}

void dp_convert_from_f64(dp_dtype_t t, const double *src, void *dst, int64_t n)
{
    switch (t) {
    case DP_DT_INT8:
        STORE(int8_t);
        break;
    case DP_DT_INT16:
        STORE(int16_t);
        break;
    case DP_DT_INT32:
        STORE(int32_t);
        break;
    case DP_DT_INT64:
        STORE(int64_t);
        break;
    case DP_DT_UINT8:
        STORE(uint8_t);
        break;
    case DP_DT_UINT16:
        STORE(uint16_t);
        break;
    case DP_DT_UINT32:
        STORE(uint32_t);
        break;
    case DP_DT_UINT64:
        STORE(uint64_t);
        break;
    case DP_DT_FLOAT32:
        STORE(float);
        break;
    case DP_DT_FLOAT64:
        memcpy(dst, src, (size_t)n * sizeof(double));
        break;
    }
}
