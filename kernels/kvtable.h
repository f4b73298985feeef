/* The local combiner of key-value kernels: an open-addressing hash table (linear probing, power
 * of two slots, at most 5/8 full) whose slots hold the entries themselves — hash, the key's
 * first 8 bytes, where the rest of the key is, and the value — so that finding a key costs one
 * memory access, and keys of up to 8 bytes are compared without touching the arena that holds
 * the keys back to back. Walk the entries with dp_kvt_full over slots 0..nslots-1. No MPI: the
 * driver moves entries between ranks. */
#ifndef DP_KVTABLE_H
#define DP_KVTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    uint64_t prefix; /* dp_kv_prefix of the key */
    uint64_t koff;   /* offset of the key in the arena */
    uint32_t klen;
    uint32_t full; /* 1: the slot holds an entry */
} dp_kv_entry_t;

typedef struct dp_kvt {
    size_t vsize;     /* bytes per value */
    size_t stride;    /* bytes per slot: the entry, then its value */
    unsigned char *e; /* nslots slots */
    size_t nslots;    /* a power of two, or 0 before the first insertion */
    size_t n;         /* entries */
    char *arena;      /* the keys, back to back */
    size_t used, size;
} dp_kvt_t;

static inline uint64_t dp_kv_load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t dp_kv_load32(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* The key's first 8 bytes (all of a shorter key) as one word, reading only inside the key: for
 * keys of one length, different bytes give different words. Local. */
static inline uint64_t dp_kv_prefix(const void *key, size_t len)
{
    const unsigned char *p = key;
    if (len >= 8)
        return dp_kv_load64(p);
    if (len >= 4) /* two overlapping loads cover the key */
        return dp_kv_load32(p) | dp_kv_load32(p + len - 4) << 32;
    if (len > 0)
        return (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
    return 0;
}

static inline uint64_t dp_kv_mix(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    return x ^ (x >> 32);
}

/* Hash of a long key (more than 8 bytes). Local. */
uint64_t dp_kv_hash_long(const void *key, size_t len);

/* Hash of a key: the same on every rank and run, so that it can pick a key's owner. Local. */
static inline uint64_t dp_kv_hash(const void *key, size_t len)
{
    if (len > 8)
        return dp_kv_hash_long(key, len);
    return dp_kv_mix(dp_kv_prefix(key, len) ^ UINT64_C(0x9e3779b97f4a7c15) * (len + 1));
}

/* Whether bytes [8, len) of two keys of len > 8 bytes are equal. Local. */
static inline int dp_kv_same_tail(const char *a, const char *b, size_t len)
{
    if (len <= 16) /* the last 8 bytes, overlapping the first 8 already compared */
        return dp_kv_load64((const unsigned char *)a + len - 8) ==
               dp_kv_load64((const unsigned char *)b + len - 8);
    return !memcmp(a + 8, b + 8, len - 8);
}

/* Makes an empty table for values of vsize bytes. Local. */
void dp_kvt_init(dp_kvt_t *t, size_t vsize);

/* Frees the table's memory and leaves it empty, ready for reuse with the same vsize. Local. */
void dp_kvt_free(dp_kvt_t *t);

/* The entry in slot s (0 <= s < nslots), whether the slot holds one, its key and its value.
 * Slots move when the table grows: an index is valid until the next insertion. Local. */
static inline dp_kv_entry_t *dp_kvt_entry(const dp_kvt_t *t, size_t s)
{
    return (dp_kv_entry_t *)(t->e + s * t->stride);
}
static inline int dp_kvt_full(const dp_kvt_t *t, size_t s)
{
    return dp_kvt_entry(t, s)->full != 0;
}
static inline const char *dp_kvt_key(const dp_kvt_t *t, size_t s)
{
    return t->arena + dp_kvt_entry(t, s)->koff;
}
static inline void *dp_kvt_value(const dp_kvt_t *t, size_t s)
{
    return t->e + s * t->stride + sizeof(dp_kv_entry_t);
}

/* Adds key in the empty slot s where its probe ended (the slow path of dp_kvt_get). Local. */
void *dp_kvt_insert(dp_kvt_t *t, size_t s, const void *key, size_t len, uint64_t h, int *created);

/* The value of key (hash h = dp_kv_hash(key, len)); a new entry, its value zeroed and *created
 * set, when the key was absent. The pointer is valid until the next insertion. Local. */
static inline void *dp_kvt_get(dp_kvt_t *t, const void *key, size_t len, uint64_t h, int *created)
{
    if (!t->nslots)
        return dp_kvt_insert(t, 0, key, len, h, created);
    const uint64_t prefix = dp_kv_prefix(key, len);
    const size_t mask = t->nslots - 1;
    size_t s = h & mask;
    for (;; s = (s + 1) & mask) {
        dp_kv_entry_t *e = dp_kvt_entry(t, s);
        if (!e->full)
            break;
        if (e->hash == h && e->klen == len && e->prefix == prefix &&
            (len <= 8 || dp_kv_same_tail(t->arena + e->koff, key, len))) {
            *created = 0;
            return (unsigned char *)e + sizeof *e;
        }
    }
    return dp_kvt_insert(t, s, key, len, h, created);
}

/* Bytes of memory the table holds. Local. */
size_t dp_kvt_bytes(const dp_kvt_t *t);

#endif
