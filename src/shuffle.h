/* The shuffle of key-value kernels: every key goes to the rank that owns it (a hash of the key),
 * in rounds of MPI_Alltoallv of bounded size, and is merged there with the same key from other
 * ranks. */
#ifndef DP_SHUFFLE_H
#define DP_SHUFFLE_H

#include "err.h"
#include "kernel.h"
#include "kvtable.h"

#include <mpi.h>
#include <stdint.h>

typedef struct {
    int64_t bytes_sent; /* to other ranks, by this rank */
    int64_t rounds;
    double started; /* MPI_Wtime() at the start */
    double seconds;
} dp_shuffle_stats_t;

/* The rank, of nranks, that owns a key of hash h. Local. */
int dp_shuffle_owner(uint64_t h, int nranks);

/* Moves every entry of local to its owner and merges it into owned there (with the kernel's
 * kv_merge), in rounds in which this rank sends at most bound bytes (bound / nranks to each
 * rank, at least one entry) and so receives at most bound bytes. The entries this rank owns are
 * moved (their values left zeroed); local keeps the others (the caller frees it). Collective;
 * bound must match on all ranks. */
dp_status_t dp_shuffle(const dp_kernel_t *k, const void *st, dp_kvt_t *local, dp_kvt_t *owned,
                       int64_t bound, MPI_Comm comm, dp_shuffle_stats_t *stats);

/* Moves value v of a key into table t: a new entry takes v as it is, an existing one merges it;
 * either way v is left zeroed (owning nothing), for kv_free_value to skip. Local. */
void dp_kv_move_into(const dp_kernel_t *k, const void *st, dp_kvt_t *t, const char *key,
                     size_t klen, uint64_t h, void *v);

#endif
