#include "shuffle.h"

#include "comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dp_shuffle_owner(uint64_t h, int nranks)
{
    return (int)(((unsigned __int128)h * (unsigned)nranks) >> 64); /* the hash's high bits */
}

static size_t pack(const dp_kernel_t *k, const void *st, const void *v, unsigned char *out)
{
    if (k->kv_pack)
        return k->kv_pack(st, v, out);
    memcpy(out, v, k->kv_value_size(st));
    return k->kv_value_size(st);
}

static size_t pack_max(const dp_kernel_t *k, const void *st)
{
    return k->kv_pack_max ? k->kv_pack_max(st) : k->kv_value_size(st);
}

static size_t unpack(const dp_kernel_t *k, const void *st, const unsigned char *in, void *v)
{
    if (k->kv_unpack)
        return k->kv_unpack(st, in, v);
    memcpy(v, in, k->kv_value_size(st));
    return k->kv_value_size(st);
}

/* Adds the serialised value at in to key's entry of t; returns the bytes read. */
static size_t merge_packed(const dp_kernel_t *k, const void *st, dp_kvt_t *t, const char *key,
                           size_t klen, uint64_t h, const unsigned char *in)
{
    int created;
    void *v = dp_kvt_get(t, key, klen, h, &created);
    if (created)
        return unpack(k, st, in, v);
    unsigned char tmp[256];
    void *x = k->kv_value_size(st) <= sizeof tmp ? tmp : dp_xmalloc(k->kv_value_size(st));
    memset(x, 0, k->kv_value_size(st));
    const size_t n = unpack(k, st, in, x);
    k->kv_merge(st, v, x);
    if (k->kv_free_value)
        k->kv_free_value(st, x);
    if (x != tmp)
        free(x);
    return n;
}

void dp_kv_move_into(const dp_kernel_t *k, const void *st, dp_kvt_t *t, const char *key,
                     size_t klen, uint64_t h, void *v)
{
    int created;
    void *to = dp_kvt_get(t, key, klen, h, &created);
    if (created) {
        memcpy(to, v, k->kv_value_size(st));
    } else {
        k->kv_merge(st, to, v);
        if (k->kv_free_value)
            k->kv_free_value(st, v);
    }
    memset(v, 0, k->kv_value_size(st));
}

/* One entry on the wire: key length, hash, key, packed value. */
typedef struct {
    uint32_t klen;
    uint64_t hash;
} wire_t;

typedef struct {
    size_t *order; /* entry indices grouped by owner */
    size_t *first; /* order[first[d] .. first[d + 1]) belong to rank d */
    size_t *next;  /* the next of rank d's entries to send */
    unsigned char *send, *recv;
    size_t send_cap, recv_cap;
    int *scount, *sdispl, *rcount, *rdispl;
} plan_t;

static void plan_free(plan_t *p)
{
    free(p->order);
    free(p->first);
    free(p->next);
    free(p->send);
    free(p->recv);
    free(p->scount);
    free(p->sdispl);
    free(p->rcount);
    free(p->rdispl);
}

/* Packs the next entries for each rank into p->send (at most cap bytes each, at least one);
 * returns whether any remain after this round. */
static dp_status_t fill(const dp_kernel_t *k, const void *st, const dp_kvt_t *local, plan_t *p,
                        int nranks, int me, size_t cap, int *more)
{
    const size_t vmax = pack_max(k, st);
    size_t used = 0;
    *more = 0;
    for (int d = 0; d < nranks; d++) {
        p->sdispl[d] = (int)used;
        size_t mine = 0;
        while (d != me && p->next[d] < p->first[d + 1]) {
            const dp_kv_entry_t *e = dp_kvt_entry(local, p->order[p->next[d]]);
            const size_t need = sizeof(wire_t) + e->klen + vmax;
            if (mine > 0 && mine + need > cap)
                break;
            if (used + need > p->send_cap) {
                p->send_cap = 2 * (used + need);
                unsigned char *b = realloc(p->send, p->send_cap);
                DP_CHECK(b, DP_ERR_NOMEM, "out of memory for the shuffle's send buffer (%zu bytes)",
                         p->send_cap);
                p->send = b;
            }
            DP_CHECK(used + need < INT_MAX / 2, DP_ERR_DATA,
                     "a key of %u bytes is too large to send between ranks", e->klen);
            unsigned char *o = p->send + used;
            const wire_t w = {.klen = e->klen, .hash = e->hash};
            memcpy(o, &w, sizeof w);
            memcpy(o + sizeof w, local->arena + e->koff, e->klen);
            const size_t n =
                sizeof w + e->klen +
                pack(k, st, dp_kvt_value(local, p->order[p->next[d]]), o + sizeof w + e->klen);
            used += n;
            mine += n;
            p->next[d]++;
        }
        p->scount[d] = (int)mine;
        *more |= p->next[d] < p->first[d + 1] && d != me;
    }
    return DP_OK;
}

/* Sorts local's entries by owner (counting sort) and moves this rank's own into owned. */
static void group_by_owner(const dp_kernel_t *k, const void *st, dp_kvt_t *local, dp_kvt_t *owned,
                           plan_t *p, int nranks, int me)
{
    for (size_t i = 0; i < local->nslots; i++)
        if (dp_kvt_full(local, i))
            p->first[dp_shuffle_owner(dp_kvt_entry(local, i)->hash, nranks) + 1]++;
    for (int d = 0; d < nranks; d++)
        p->first[d + 1] += p->first[d];
    memcpy(p->next, p->first, (size_t)nranks * sizeof *p->next);
    for (size_t i = 0; i < local->nslots; i++)
        if (dp_kvt_full(local, i))
            p->order[p->next[dp_shuffle_owner(dp_kvt_entry(local, i)->hash, nranks)]++] = i;
    memcpy(p->next, p->first, (size_t)nranks * sizeof *p->next);
    for (size_t j = p->first[me]; j < p->first[me + 1]; j++) {
        const dp_kv_entry_t *e = dp_kvt_entry(local, p->order[j]);
        dp_kv_move_into(k, st, owned, local->arena + e->koff, e->klen, e->hash,
                        dp_kvt_value(local, p->order[j]));
    }
}

static void receive(const dp_kernel_t *k, const void *st, dp_kvt_t *owned, const plan_t *p,
                    size_t total)
{
    for (size_t i = 0; i < total;) {
        wire_t w;
        memcpy(&w, p->recv + i, sizeof w);
        const char *key = (const char *)p->recv + i + sizeof w;
        i += sizeof w + w.klen;
        i += merge_packed(k, st, owned, key, w.klen, w.hash, p->recv + i);
    }
}

dp_status_t dp_shuffle(const dp_kernel_t *k, const void *st, dp_kvt_t *local, dp_kvt_t *owned,
                       int64_t bound, MPI_Comm comm, dp_shuffle_stats_t *stats)
{
    const double t0 = MPI_Wtime();
    int nranks, me;
    MPI_Comm_size(comm, &nranks);
    MPI_Comm_rank(comm, &me);
    *stats = (dp_shuffle_stats_t){.started = t0};
    plan_t p = {
        .order = dp_xmalloc((local->n ? local->n : 1) * sizeof *p.order),
        .first = dp_xcalloc((size_t)nranks + 1, sizeof *p.first),
        .next = dp_xcalloc((size_t)nranks, sizeof *p.next),
        .scount = dp_xcalloc((size_t)nranks, sizeof(int)),
        .sdispl = dp_xcalloc((size_t)nranks, sizeof(int)),
        .rcount = dp_xcalloc((size_t)nranks, sizeof(int)),
        .rdispl = dp_xcalloc((size_t)nranks, sizeof(int)),
    };
    group_by_owner(k, st, local, owned, &p, nranks, me);
    const size_t cap = (size_t)(bound / nranks > 0 ? bound / nranks : 1);
    dp_status_t status = DP_OK;
    int more = 0;
    for (int d = 0; d < nranks; d++)
        more |= d != me && p.first[d + 1] > p.first[d];
    for (;;) {
        int flags[2] = {more, status != DP_OK}, all[2];
        MPI_Allreduce(flags, all, 2, MPI_INT, MPI_MAX, comm);
        if (all[1]) {
            status = dp_comm_agree(status, comm);
            break;
        }
        if (!all[0])
            break;
        status = fill(k, st, local, &p, nranks, me, cap, &more);
        if (status != DP_OK) { /* take part in this round with nothing, then fail together */
            memset(p.scount, 0, (size_t)nranks * sizeof(int));
            more = 0;
        }
        MPI_Alltoall(p.scount, 1, MPI_INT, p.rcount, 1, MPI_INT, comm);
        size_t total = 0;
        for (int d = 0; d < nranks; d++) {
            p.rdispl[d] = (int)total;
            total += (size_t)p.rcount[d];
            stats->bytes_sent += p.scount[d];
        }
        if (total > p.recv_cap) {
            free(p.recv);
            p.recv_cap = total;
            p.recv = malloc(total);
            if (!p.recv) { /* cannot receive: every rank must still complete the exchange */
                fprintf(stderr, "dproc: rank %d: out of memory for %zu shuffle bytes\n", me, total);
                MPI_Abort(comm, 1);
            }
        }
        const dp_status_t x =
            dp_comm_check(MPI_Alltoallv(p.send, p.scount, p.sdispl, MPI_BYTE, p.recv, p.rcount,
                                        p.rdispl, MPI_BYTE, comm),
                          "the shuffle's exchange");
        if (x != DP_OK) {
            plan_free(&p);
            return x;
        }
        stats->rounds++;
        if (status == DP_OK)
            receive(k, st, owned, &p, total);
    }
    plan_free(&p);
    stats->seconds = MPI_Wtime() - t0;
    return status;
}
