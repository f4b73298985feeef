#include "hdf5_util.h"

#include <stdio.h>
#include <string.h>

void dp_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t keep_last(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    if (e->desc && *e->desc)
        snprintf((char *)data, 256, "%s", e->desc);
    return 0;
}

const char *dp_h5_error(void)
{
    static char text[256];
    snprintf(text, sizeof text, "no detail");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_last, text);
    return text;
}

dp_status_t dp_h5_dtype(hid_t type, dp_dtype_t *out)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_INTEGER) {
        int sign = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
        case 1:
            *out = sign ? DP_DT_INT8 : DP_DT_UINT8;
            return DP_OK;
        case 2:
            *out = sign ? DP_DT_INT16 : DP_DT_UINT16;
            return DP_OK;
        case 4:
            *out = sign ? DP_DT_INT32 : DP_DT_UINT32;
            return DP_OK;
        case 8:
            *out = sign ? DP_DT_INT64 : DP_DT_UINT64;
            return DP_OK;
        default:
            break;
        }
    } else if (cls == H5T_FLOAT) {
        if (size == 4) {
            *out = DP_DT_FLOAT32;
            return DP_OK;
        }
        if (size == 8) {
            *out = DP_DT_FLOAT64;
            return DP_OK;
        }
    }
    static const char *const classes[] = {"integer",  "float",           "time",     "string",
                                          "bitfield", "opaque",          "compound", "reference",
                                          "enum",     "variable-length", "array"};
    const char *name = cls >= 0 && cls < 11 ? classes[cls] : "unknown";
    return dp_err_set(DP_ERR_DATA,
                      "element type is %s of %zu bytes; dproc reads integers of 1, 2, 4 or 8 "
                      "bytes and floats of 4 or 8 bytes",
                      name, size);
}

hid_t dp_h5_native(dp_dtype_t t)
{
    switch (t) {
    case DP_DT_INT8:
        return H5T_NATIVE_INT8;
    case DP_DT_INT16:
        return H5T_NATIVE_INT16;
    case DP_DT_INT32:
        return H5T_NATIVE_INT32;
    case DP_DT_INT64:
        return H5T_NATIVE_INT64;
    case DP_DT_UINT8:
        return H5T_NATIVE_UINT8;
    case DP_DT_UINT16:
        return H5T_NATIVE_UINT16;
    case DP_DT_UINT32:
        return H5T_NATIVE_UINT32;
    case DP_DT_UINT64:
        return H5T_NATIVE_UINT64;
    case DP_DT_FLOAT32:
        return H5T_NATIVE_FLOAT;
    case DP_DT_FLOAT64:
        return H5T_NATIVE_DOUBLE;
    }
    return H5I_INVALID_HID;
}
