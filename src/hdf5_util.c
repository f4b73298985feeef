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

/* Walking upward, the first entry is the deepest cause and the last the API call. */
typedef struct {
    char inner[256], outer[256];
} cause_t;

static herr_t keep_ends(unsigned n, const H5E_error2_t *e, void *data)
{
    cause_t *c = data;
    if (!e->desc || !*e->desc)
        return 0;
    if (!c->inner[0])
        snprintf(c->inner, sizeof c->inner, "%s", e->desc);
    snprintf(c->outer, sizeof c->outer, "%s", e->desc);
    (void)n;
    return 0;
}

const char *dp_h5_error_cause(void)
{
    static char text[520];
    cause_t c = {{0}, {0}};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_ends, &c);
    if (!c.inner[0])
        snprintf(text, sizeof text, "no detail");
    else if (!strcmp(c.inner, c.outer))
        snprintf(text, sizeof text, "%s", c.inner);
    else
        snprintf(text, sizeof text, "%s: %s", c.outer, c.inner);
    return text;
}

/* What an element type is, in words: "a variable-length string", "a compound of 2 members
 * (a, b)", "a float of 2 bytes". */
static void type_words(hid_t type, char *out, size_t size)
{
    const H5T_class_t cls = H5Tget_class(type);
    const size_t bytes = H5Tget_size(type);
    const char *unit = bytes == 1 ? "byte" : "bytes";
    switch (cls) {
    case H5T_INTEGER:
        snprintf(out, size, "an integer of %zu %s", bytes, unit);
        return;
    case H5T_FLOAT:
        snprintf(out, size, "a float of %zu %s", bytes, unit);
        return;
    case H5T_STRING:
        if (H5Tis_variable_str(type) > 0)
            snprintf(out, size, "a variable-length string");
        else
            snprintf(out, size, "a fixed-length string of %zu %s", bytes, unit);
        return;
    case H5T_VLEN:
        snprintf(out, size, "a variable-length sequence");
        return;
    case H5T_COMPOUND:
    case H5T_ENUM: {
        const int n = H5Tget_nmembers(type);
        int used = cls == H5T_COMPOUND
                       ? snprintf(out, size, "a compound of %d member%s (", n, n == 1 ? "" : "s")
                       : snprintf(out, size, "an enum of %d value%s over %zu-byte integers (", n,
                                  n == 1 ? "" : "s", bytes);
        for (int i = 0; i < n && i < 4 && used > 0 && (size_t)used < size; i++) {
            char *name = H5Tget_member_name(type, (unsigned)i);
            used +=
                snprintf(out + used, size - (size_t)used, "%s%s", i ? ", " : "", name ? name : "?");
            H5free_memory(name);
        }
        if (used > 0 && (size_t)used < size)
            snprintf(out + used, size - (size_t)used, "%s)", n > 4 ? ", ..." : "");
        return;
    }
    case H5T_OPAQUE:
        snprintf(out, size, "opaque data of %zu %s", bytes, unit);
        return;
    case H5T_BITFIELD:
        snprintf(out, size, "a bitfield of %zu %s", bytes, unit);
        return;
    case H5T_ARRAY:
        snprintf(out, size, "an array of %zu %s per element", bytes, unit);
        return;
    case H5T_REFERENCE:
        snprintf(out, size, "a reference");
        return;
    case H5T_TIME:
        snprintf(out, size, "a time of %zu %s", bytes, unit);
        return;
    default:
        snprintf(out, size, "of an unknown class");
        return;
    }
}

/* Whether type is numpy's bool as h5py stores it: an enum of the two values FALSE = 0 and
 * TRUE = 1 over 1-byte integers. */
static int is_bool(hid_t type)
{
    if (H5Tget_class(type) != H5T_ENUM || H5Tget_size(type) != 1 || H5Tget_nmembers(type) != 2)
        return 0;
    hid_t base = H5Tget_super(type);
    int ok = base >= 0;
    for (int i = 0; i < 2 && ok; i++) {
        int8_t value = -1; /* the enum's value is one byte of its base type */
        ok = H5Tenum_valueof(type, i ? "TRUE" : "FALSE", &value) >= 0 &&
             H5Tconvert(base, H5T_NATIVE_INT8, 1, &value, NULL, H5P_DEFAULT) >= 0 && value == i;
    }
    if (base >= 0)
        H5Tclose(base);
    return ok;
}

/* Whether type is an IEEE half-precision float (float16): 16 bits, sign at 15, 5 exponent bits
 * biased by 15, 10 mantissa bits with an implied leading one. */
static int is_half(hid_t type)
{
    if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 2 || H5Tget_precision(type) != 16 ||
        H5Tget_offset(type) != 0 || H5Tget_ebias(type) != 15 ||
        H5Tget_norm(type) != H5T_NORM_IMPLIED)
        return 0;
    size_t spos, epos, esize, mpos, msize;
    return H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0 && spos == 15 &&
           epos == 10 && esize == 5 && mpos == 0 && msize == 10;
}

dp_status_t dp_h5_dtype(hid_t type, dp_dtype_t *out, dp_h5_read_t *how)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    how->memtype = H5I_INVALID_HID;
    how->converts = 0;
    how->file_type = NULL;
    how->file_esize = size;
    if (cls == H5T_INTEGER) {
        int sign = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
        case 1:
            *out = sign ? DP_DT_INT8 : DP_DT_UINT8;
            break;
        case 2:
            *out = sign ? DP_DT_INT16 : DP_DT_UINT16;
            break;
        case 4:
            *out = sign ? DP_DT_INT32 : DP_DT_UINT32;
            break;
        case 8:
            *out = sign ? DP_DT_INT64 : DP_DT_UINT64;
            break;
        default:
            cls = H5T_NO_CLASS;
            break;
        }
    } else if (cls == H5T_FLOAT && (size == 4 || size == 8)) {
        *out = size == 4 ? DP_DT_FLOAT32 : DP_DT_FLOAT64;
    } else if (is_half(type)) {
        /* HDF5 converts each value to float32 exactly */
        *out = DP_DT_FLOAT32;
        how->memtype = H5Tcopy(H5T_NATIVE_FLOAT);
        how->converts = 1;
        how->file_type = "float16";
    } else if (is_bool(type)) {
        /* the stored bytes are the values 0 and 1: read as they are, through the enum type
         * itself (HDF5 converts no enum to an integer) */
        *out = DP_DT_UINT8;
        how->memtype = H5Tget_native_type(type, H5T_DIR_ASCEND);
        how->file_type = "bool";
    } else {
        cls = H5T_NO_CLASS;
    }
    if (cls != H5T_NO_CLASS) {
        if (!how->file_type) /* read as they are stored */
            how->memtype = H5Tcopy(dp_h5_native(*out));
        if (how->memtype < 0)
            return dp_err_set(DP_ERR_IO, "cannot make the memory type to read it with (%s)",
                              dp_h5_error_cause());
        return DP_OK;
    }
    char what[200];
    type_words(type, what, sizeof what);
    return dp_err_set(DP_ERR_DATA,
                      "element type is %s; dproc reads integers of 1, 2, 4 or 8 bytes, floats "
                      "of 2 (IEEE half), 4 or 8 bytes and bool (h5py's enum FALSE/TRUE)",
                      what);
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
