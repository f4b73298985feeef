/* The local combiner of key-value kernels: an open-addressing hash table (linear probing, power
 * of two slots, at most 3/4 full) whose keys are byte strings kept in an arena and whose values
 * are fixed-size slots kept densely in insertion order, so that the entries can be walked,
 * sorted and sent without touching the slots. No MPI: the driver moves entries between ranks. */
#ifndef DP_KVTABLE_H
#define DP_KVTABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;
    uint64_t koff; /* offset of the key in the arena */
    uint32_t klen;
} dp_kv_entry_t;

typedef struct dp_kvt {
    size_t vsize;          /* bytes per value */
    uint32_t *slot;        /* entry index + 1, 0: empty */
    size_t nslots;         /* a power of two */
    dp_kv_entry_t *e;      /* n entries in insertion order */
    unsigned char *values; /* n values of vsize bytes */
    size_t n, cap;
    char *arena; /* the keys, back to back */
    size_t used, size;
} dp_kvt_t;

/* Hash of a key: the same on every rank and run, so that it can pick a key's owner. Local. */
uint64_t dp_kv_hash(const void *key, size_t len);

/* Makes an empty table for values of vsize bytes. Local. */
void dp_kvt_init(dp_kvt_t *t, size_t vsize);

/* Frees the table's memory and leaves it empty, ready for reuse with the same vsize. Local. */
void dp_kvt_free(dp_kvt_t *t);

/* The value of key (hash h = dp_kv_hash(key, len)); a new entry, its value zeroed and *created
 * set, when the key was absent. The pointer is valid until the next insertion. Local. */
void *dp_kvt_get(dp_kvt_t *t, const void *key, size_t len, uint64_t h, int *created);

/* Key and value of entry i (0 <= i < n, in insertion order). Local. */
static inline const char *dp_kvt_key(const dp_kvt_t *t, size_t i)
{
    return t->arena + t->e[i].koff;
}
static inline void *dp_kvt_value(const dp_kvt_t *t, size_t i)
{
    return t->values + i * t->vsize;
}

/* Bytes of memory the table holds. Local. */
size_t dp_kvt_bytes(const dp_kvt_t *t);

#endif
