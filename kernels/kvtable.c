#include "dproc/kernel.h"
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

uint64_t dp_kv_hash_long(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) * (len + 1);
    size_t i = 0;
    for (; i + 8 < len; i += 8)
        h = dp_kv_mix(h ^ dp_kv_load64(p + i)) + UINT64_C(0x9e3779b97f4a7c15);
    return dp_kv_mix(h ^ dp_kv_load64(p + len - 8)); /* the last 8 bytes, maybe overlapping */
}

void dp_kvt_init(dp_kvt_t *t, size_t vsize)
{
    *t = (dp_kvt_t){.vsize = vsize, .stride = sizeof(dp_kv_entry_t) + (vsize + 7) / 8 * 8};
}

void dp_kvt_free(dp_kvt_t *t)
{
    free(t->e);
    free(t->arena);
    dp_kvt_init(t, t->vsize);
}

/* Moves the entries into a table of nslots slots. */
static void rehash(dp_kvt_t *t, size_t nslots)
{
    unsigned char *e = calloc(nslots, t->stride);
    if (!e) {
        fprintf(stderr, "dproc: out of memory for a hash table of %zu slots\n", nslots);
        abort();
    }
    for (size_t s = 0; s < t->nslots; s++) {
        const dp_kv_entry_t *x = dp_kvt_entry(t, s);
        if (!x->full)
            continue;
        size_t d = x->hash & (nslots - 1);
        while (((const dp_kv_entry_t *)(e + d * t->stride))->full)
            d = (d + 1) & (nslots - 1);
        memcpy(e + d * t->stride, x, t->stride);
    }
    free(t->e);
    t->e = e;
    t->nslots = nslots;
}

void *dp_kvt_insert(dp_kvt_t *t, size_t s, const void *key, size_t len, uint64_t h, int *created)
{
    *created = 1;
    if (8 * (t->n + 1) > 5 * t->nslots) { /* grow first, then find the key's empty slot */
        rehash(t, t->nslots ? 2 * t->nslots : 1024);
        for (s = h & (t->nslots - 1); dp_kvt_full(t, s); s = (s + 1) & (t->nslots - 1))
            ;
    }
    if (t->used + len > t->size) {
        t->size = (t->used + len) * 2 + 65536;
        t->arena = grow(t->arena, t->size);
    }
    if (len > 0) /* an empty key may come as NULL */
        memcpy(t->arena + t->used, key, len);
    dp_kv_entry_t *e = dp_kvt_entry(t, s);
    *e = (dp_kv_entry_t){.hash = h,
                         .prefix = dp_kv_prefix(key, len),
                         .koff = t->used,
                         .klen = (uint32_t)len,
                         .full = 1};
    t->used += len;
    t->n++;
    return (unsigned char *)e + sizeof *e; /* zero: the slot was empty */
}

size_t dp_kvt_bytes(const dp_kvt_t *t)
{
    return t->nslots * t->stride + t->size;
}

void *dp_kv_get(dp_kvt_t *t, const void *key, size_t len, int *created)
{
    return dp_kvt_get(t, key, len, dp_kv_hash(key, len), created);
}
