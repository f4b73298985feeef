#include "digest.h"

#include <stdio.h>
#include <string.h>

static const uint64_t seed[2] = {0x243f6a8885a308d3u, 0x13198a2e03707344u};

/* splitmix64's finalizer: every input bit changes about half the output bits. */
static inline uint64_t fmix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* The bytes of one element folded into 64 bits, 8 bytes (little-endian) at a time. */
static inline uint64_t fold(const unsigned char *p, size_t len)
{
    uint64_t h = (uint64_t)len;
    while (len > 0) {
        uint64_t w = 0;
        const size_t k = len < 8 ? len : 8;
        for (size_t i = 0; i < k; i++)
            w |= (uint64_t)p[i] << (8 * i);
        h = fmix(h ^ w) + 0x9e3779b97f4a7c15u;
        p += k;
        len -= k;
    }
    return h;
}

static inline uint64_t element(int lane, int64_t index, uint64_t bytes)
{
    return fmix(fmix((uint64_t)index + seed[lane]) ^ bytes);
}

void dp_digest_run(dp_digest_t *d, const void *data, size_t size, int64_t n, int64_t index0)
{
    const unsigned char *p = data;
    uint64_t s0 = 0, s1 = 0;
#pragma omp parallel for reduction(+ : s0, s1) schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        const uint64_t b = fold(p + (size_t)i * size, size);
        s0 += element(0, index0 + i, b);
        s1 += element(1, index0 + i, b);
    }
    d->lane[0] += s0;
    d->lane[1] += s1;
}

void dp_digest_one(dp_digest_t *d, const void *bytes, size_t len, int64_t index)
{
    const uint64_t b = fold(bytes, len);
    d->lane[0] += element(0, index, b);
    d->lane[1] += element(1, index, b);
}

void dp_digest_box(dp_digest_t *d, const void *data, size_t size, const int64_t shape[3],
                   const int64_t start[3], const int64_t count[3])
{
    const unsigned char *p = data;
    const int64_t rows = count[0] * count[1];
    uint64_t s0 = 0, s1 = 0;
#pragma omp parallel for reduction(+ : s0, s1) schedule(static) if (rows * count[2] > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = start[0] + r / count[1], j = start[1] + r % count[1];
        const int64_t index0 = (i * shape[1] + j) * shape[2] + start[2];
        const unsigned char *row = p + (size_t)(r * count[2]) * size;
        for (int64_t k = 0; k < count[2]; k++) {
            const uint64_t b = fold(row + (size_t)k * size, size);
            s0 += element(0, index0 + k, b);
            s1 += element(1, index0 + k, b);
        }
    }
    d->lane[0] += s0;
    d->lane[1] += s1;
}

void dp_digest_merge(dp_digest_t *a, const dp_digest_t *b)
{
    a->lane[0] += b->lane[0];
    a->lane[1] += b->lane[1];
}

void dp_digest_text(const dp_digest_t *d, char out[DP_DIGEST_TEXT])
{
    snprintf(out, DP_DIGEST_TEXT, "dpx128:%016llx%016llx", (unsigned long long)d->lane[0],
             (unsigned long long)d->lane[1]);
}
