/* dproc's digest of a dataset: a 128-bit sum over its elements of a hash of (element index in
 * row-major order, element bytes). Sums commute, so every rank digests the part it writes, in
 * any order and with any number of threads, and the parts add up to the same 128 bits as one
 * pass over the whole dataset in order: what dproc verify recomputes. A changed, swapped,
 * missing or extra element changes it except with probability about 2^-64 per lane. It detects
 * corruption; it is not a cryptographic hash. */
#ifndef DP_DIGEST_H
#define DP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

enum { DP_DIGEST_TEXT = 40 }; /* "dpx128:" + 32 hex digits + NUL */

typedef struct {
    uint64_t lane[2];
} dp_digest_t;

/* Adds n elements of size bytes each (little-endian as stored), at data, whose row-major
 * indices are index0, index0 + 1, ... Local; threads over the elements (OpenMP). */
void dp_digest_run(dp_digest_t *d, const void *data, size_t size, int64_t n, int64_t index0);

/* Adds one element of any length (e.g. a table record's bytes) at the given index. Local. */
void dp_digest_one(dp_digest_t *d, const void *bytes, size_t len, int64_t index);

/* Adds the box start/count (3 axes) of an array of extents shape, whose elements of size bytes
 * are contiguous at data in row-major order of the box. Local; threads over the rows. */
void dp_digest_box(dp_digest_t *d, const void *data, size_t size, const int64_t shape[3],
                   const int64_t start[3], const int64_t count[3]);

/* Adds digest b into a (the digest of the union of two disjoint sets of elements). Local. */
void dp_digest_merge(dp_digest_t *a, const dp_digest_t *b);

/* The digest as text, "dpx128:" and 32 hex digits. Local. */
void dp_digest_text(const dp_digest_t *d, char out[DP_DIGEST_TEXT]);

#endif
