#include "kvtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tables are per-rank working memory: running out of it is not recoverable mid-pass. */
static void *grow(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) {
        fprintf(stderr, "dproc: out of memory growing a hash table to %zu bytes\n", bytes);
        abort();
    }
    return q;
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    return x ^ (x >> 32);
}

uint64_t dp_kv_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (len * UINT64_C(0xff51afd7ed558ccd));
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix(h ^ w) + UINT64_C(0x9e3779b97f4a7c15);
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, p + i, len - i);
        h = mix(h ^ w ^ ((uint64_t)(len - i) << 59));
    }
    return mix(h);
}

void dp_kvt_init(dp_kvt_t *t, size_t vsize)
{
    *t = (dp_kvt_t){.vsize = vsize};
}

void dp_kvt_free(dp_kvt_t *t)
{
    free(t->slot);
    free(t->e);
    free(t->values);
    free(t->arena);
    dp_kvt_init(t, t->vsize);
}

static void rehash(dp_kvt_t *t, size_t nslots)
{
    free(t->slot);
    t->slot = calloc(nslots, sizeof *t->slot);
    if (!t->slot) {
        fprintf(stderr, "dproc: out of memory for a hash table of %zu slots\n", nslots);
        abort();
    }
    t->nslots = nslots;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = t->e[i].hash & (nslots - 1);
        while (t->slot[s])
            s = (s + 1) & (nslots - 1);
        t->slot[s] = (uint32_t)(i + 1);
    }
}

void *dp_kvt_get(dp_kvt_t *t, const void *key, size_t len, uint64_t h, int *created)
{
    if (t->nslots == 0)
        rehash(t, 1024);
    size_t mask = t->nslots - 1, s = h & mask;
    for (uint32_t i; (i = t->slot[s]) != 0; s = (s + 1) & mask) {
        const dp_kv_entry_t *e = &t->e[i - 1];
        if (e->hash == h && e->klen == len && !memcmp(t->arena + e->koff, key, len)) {
            *created = 0;
            return t->values + (size_t)(i - 1) * t->vsize;
        }
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->e = grow(t->e, t->cap * sizeof *t->e);
        t->values = grow(t->values, t->cap * t->vsize);
    }
    if (t->used + len > t->size) {
        t->size = (t->used + len) * 2 + 65536;
        t->arena = grow(t->arena, t->size);
    }
    memcpy(t->arena + t->used, key, len);
    t->e[t->n] = (dp_kv_entry_t){.hash = h, .koff = t->used, .klen = (uint32_t)len};
    t->used += len;
    void *v = t->values + t->n * t->vsize;
    memset(v, 0, t->vsize);
    t->n++;
    t->slot[s] = (uint32_t)t->n;
    if (4 * t->n > 3 * t->nslots)
        rehash(t, 2 * t->nslots);
    *created = 1;
    return v;
}

size_t dp_kvt_bytes(const dp_kvt_t *t)
{
    return t->nslots * sizeof *t->slot + t->cap * (sizeof *t->e + t->vsize) + t->size;
}
