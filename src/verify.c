#include "verify.h"

#include "digest.h"
#include "h5_attr.h"
#include "hdf5_util.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read per strip of a dataset. */
enum { STRIP_BYTES = 8 << 20 };

typedef struct {
    int ok, failed, unchecked;
} tally_t;

/* The memory type in which a compound record is read, each member in an 8-byte slot: strings
 * as char *, numbers natively; H5I_INVALID_HID when a member does not fit a slot. */
static hid_t record_type(hid_t ftype, size_t *size)
{
    const int n = H5Tget_nmembers(ftype);
    size_t off = 0;
    hid_t m = H5Tcreate(H5T_COMPOUND, (size_t)n * 8 + 8);
    for (int i = 0; i < n; i++) {
        hid_t t = H5Tget_member_type(ftype, (unsigned)i);
        char *name = H5Tget_member_name(ftype, (unsigned)i);
        hid_t mt;
        if (H5Tget_class(t) == H5T_STRING) {
            mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
        } else {
            mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
        }
        const size_t ms = H5Tget_size(mt);
        if (ms > 8 || H5Tinsert(m, name, off, mt) < 0) {
            H5Tclose(m);
            m = H5I_INVALID_HID;
        }
        H5Tclose(mt);
        H5Tclose(t);
        H5free_memory(name);
        if (m < 0)
            return m;
        off += 8;
    }
    *size = (size_t)n * 8;
    H5Tset_size(m, *size > 0 ? *size : 8);
    return m;
}

/* Adds n records (read with mtype, each member in an 8-byte slot) to d, as the writers do: a
 * string's bytes and a NUL, a number's bytes. */
static void digest_records(dp_digest_t *d, hid_t ftype, const unsigned char *rec, size_t rsize,
                           size_t n, int64_t index0)
{
    const int nm = H5Tget_nmembers(ftype);
    size_t cap = 256;
    unsigned char *buf = malloc(cap);
    for (size_t r = 0; r < n && buf; r++) {
        size_t len = 0;
        for (int i = 0; i < nm; i++) {
            hid_t t = H5Tget_member_type(ftype, (unsigned)i);
            const unsigned char *slot = rec + r * rsize + 8 * (size_t)i;
            const int is_str = H5Tget_class(t) == H5T_STRING;
            const char *str = NULL;
            size_t k;
            if (is_str) {
                memcpy(&str, slot, sizeof str);
                k = (str ? strlen(str) : 0) + 1;
            } else {
                hid_t nt = H5Tget_native_type(t, H5T_DIR_ASCEND);
                k = H5Tget_size(nt);
                H5Tclose(nt);
            }
            H5Tclose(t);
            if (len + k > cap) {
                unsigned char *b = realloc(buf, cap = 2 * (len + k));
                if (!b)
                    break;
                buf = b;
            }
            if (is_str) {
                memcpy(buf + len, str ? str : "", k - 1);
                buf[len + k - 1] = '\0';
            } else {
                memcpy(buf + len, slot, k);
            }
            len += k;
        }
        dp_digest_one(d, buf, len, index0 + (int64_t)r);
    }
    free(buf);
}

static herr_t find_checksum(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    int *found = data;
    *found |= e->desc && (strstr(e->desc, "checksum") || strstr(e->desc, "Fletcher"));
    return 0;
}

/* Whether HDF5's current error stack says a checksum did not match. */
static int checksum_failed(void)
{
    int found = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_checksum, &found);
    return found;
}

/* Recomputes the digest of dataset d (of file type ftype, dims[nd], total elements n) in
 * strips of whole rows. Returns 0, or -1 with HDF5's reason in why. */
static int recompute(hid_t d, hid_t ftype, int nd, const hsize_t *dims, hsize_t n, dp_digest_t *out,
                     char *why, size_t whysize)
{
    const int compound = H5Tget_class(ftype) == H5T_COMPOUND;
    size_t esize = 0;
    hid_t mtype = compound ? record_type(ftype, &esize) : H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    if (mtype < 0) {
        snprintf(why, whysize, "a member type dproc does not write");
        return -1;
    }
    if (!compound)
        esize = H5Tget_size(mtype);
    hsize_t row = 1;
    for (int i = 1; i < nd; i++)
        row *= dims[i];
    hsize_t rows = nd > 0 ? dims[0] : 1;
    hsize_t per = row > 0 && row * esize < STRIP_BYTES ? STRIP_BYTES / (row * esize) : 1;
    unsigned char *buf = malloc((size_t)((per < rows ? per : rows) * row * esize) + esize);
    int rc = buf ? 0 : -1;
    if (!buf)
        snprintf(why, whysize, "out of memory");
    hid_t fspace = H5Dget_space(d);
    for (hsize_t r0 = 0; rc == 0 && n > 0 && r0 < rows; r0 += per) {
        const hsize_t k = rows - r0 < per ? rows - r0 : per;
        hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        for (int i = 0; i < nd; i++)
            count[i] = dims[i];
        if (nd > 0) {
            start[0] = r0;
            count[0] = k;
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
        }
        const hsize_t m = k * row;
        hid_t mspace = nd > 0 ? H5Screate_simple(1, &m, NULL) : H5Screate(H5S_SCALAR);
        if (H5Dread(d, mtype, mspace, fspace, H5P_DEFAULT, buf) < 0) {
            snprintf(why, whysize, "reading rows %llu to %llu failed: %s", (unsigned long long)r0,
                     (unsigned long long)(r0 + k - 1),
                     checksum_failed() ? "the Fletcher32 checksum of a chunk does not match: the "
                                         "file is corrupt"
                                       : dp_h5_error());
            rc = -1;
        } else if (compound) {
            digest_records(out, ftype, buf, esize, (size_t)m, (int64_t)(r0 * row));
            H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, buf);
        } else {
            dp_digest_run(out, buf, esize, (int64_t)m, (int64_t)(r0 * row));
        }
        H5Sclose(mspace);
    }
    H5Sclose(fspace);
    H5Tclose(mtype);
    free(buf);
    return rc;
}

static int has_fletcher32(hid_t d)
{
    hid_t dcpl = H5Dget_create_plist(d);
    const int n = H5Pget_nfilters(dcpl);
    int found = 0;
    for (int i = 0; i < n; i++) {
        unsigned flags;
        size_t nvals = 0;
        char name[64];
        unsigned config;
        if (H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvals, NULL, sizeof name, name, &config) ==
            H5Z_FILTER_FLETCHER32)
            found = 1;
    }
    H5Pclose(dcpl);
    return found;
}

static herr_t check_dataset(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    tally_t *t = data;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) {
        printf("FAILED     /%s: cannot open it (%s)\n", name, dp_h5_error());
        t->failed++;
        return 0;
    }
    char *stored = dp_h5_string_attr(d, "dproc_digest");
    hid_t space = H5Dget_space(d), ftype = H5Dget_type(d);
    hsize_t dims[H5S_MAX_RANK];
    const int nd = H5Sget_simple_extent_dims(space, dims, NULL);
    const hsize_t n = (hsize_t)H5Sget_simple_extent_npoints(space);
    const int fletcher = has_fletcher32(d);
    char shape[128] = "scalar";
    for (int i = 0, len = 0; i < nd && len < (int)sizeof shape - 24; i++)
        len += snprintf(shape + len, sizeof shape - (size_t)len, i ? " x %llu" : "%llu",
                        (unsigned long long)dims[i]);
    if (!stored) {
        printf("unchecked  /%s  %s: no dproc_digest\n", name, shape);
        t->unchecked++;
    } else {
        dp_digest_t got = {{0, 0}};
        char why[512], text[DP_DIGEST_TEXT];
        if (recompute(d, ftype, nd, dims, n, &got, why, sizeof why) < 0) {
            printf("FAILED     /%s  %s: %s\n", name, shape, why);
            t->failed++;
        } else if (dp_digest_text(&got, text), strcmp(text, stored) != 0) {
            printf("MISMATCH   /%s  %s: stored %s, the data give %s\n", name, shape, stored, text);
            t->failed++;
        } else {
            printf("ok         /%s  %s  %s%s\n", name, shape, text,
                   fletcher ? ", Fletcher32 checksums ok" : "");
            t->ok++;
        }
    }
    free(stored);
    H5Tclose(ftype);
    H5Sclose(space);
    H5Dclose(d);
    return 0;
}

int dp_verify(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "dproc: verify: cannot open '%s' as HDF5 (%s)\n", path, dp_h5_error());
        return 1;
    }
    const long long complete = dp_h5_int_attr(f, "dproc_complete");
    char *version = dp_h5_string_attr(f, "dproc_version");
    printf("%s: %s%s\n", path, version ? "written by dproc " : "not written by dproc",
           version ? version : "");
    if (complete != 1)
        printf("FAILED     the file is incomplete: no dproc_complete = 1\n");
    tally_t t = {0};
    H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, check_dataset, &t);
    H5Fclose(f);
    free(version);
    const int bad = t.failed > 0 || complete != 1 || t.ok == 0;
    printf("verify: %d dataset%s ok, %d failed, %d without a digest%s\n", t.ok,
           t.ok == 1 ? "" : "s", t.failed, t.unchecked,
           t.ok == 0 && t.failed == 0 ? ": nothing to verify" : "");
    return bad;
}
