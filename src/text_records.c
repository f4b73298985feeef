#define _GNU_SOURCE /* memrchr */

#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of a record that continues into the next piece. */
typedef struct {
    char *data;
    int64_t len, cap;
    int64_t at; /* file position of data[0] */
} carry_t;

static dp_status_t carry_add(carry_t *c, const char *p, int64_t n, int64_t at)
{
    if (c->len == 0)
        c->at = at;
    if (c->len + n > c->cap) {
        const int64_t cap = 2 * (c->len + n) + 4096;
        char *d = realloc(c->data, (size_t)cap);
        DP_CHECK(d, DP_ERR_NOMEM, "out of memory holding a record of %lld bytes",
                 (long long)(c->len + n));
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, p, (size_t)n);
    c->len += n;
    return DP_OK;
}

static int64_t newlines(const char *p, int64_t n)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

/* Records are handed to the kernel in slices of about this many bytes, and the reads in flight
 * are tested between slices, so that a read's completion is seen (and its busy time ends) close
 * to when it happened rather than at the end of the piece. */
enum { SLICE = 4 << 20 };

typedef struct {
    dp_text_reader_t *r;
    dp_ring_t *ring;
    int64_t file, line;
    int64_t *cut; /* CSV: file positions of record ends about SLICE apart, seen while scanning */
    int ncut, cutcap;
    int64_t last_cut;
} hand_t;

static void deliver(hand_t *h, const char *p, int64_t n, int64_t at)
{
    const dp_text_t t = {
        .data = p, .len = (size_t)n, .file = h->file, .line = h->line, .file_start = at == 0};
    h->r->records(h->r->ctx, &t);
    if (h->r->csv)
        h->line += newlines(p, n);
}

/* The end of the first slice of p[s..n) (piece at file position at): a record end about SLICE
 * bytes on, or n. */
static int64_t slice_end(const hand_t *h, const char *p, int64_t s, int64_t n, int64_t at)
{
    if (n - s <= SLICE)
        return n;
    if (!h->r->csv) {
        const char *nl = memchr(p + s + SLICE - 1, '\n', (size_t)(n - s - SLICE + 1));
        return nl && nl - p + 1 < n ? nl - p + 1 : n;
    }
    for (int k = 0; k < h->ncut; k++)
        if (h->cut[k] > at + s && h->cut[k] < at + n)
            return h->cut[k] - at;
    return n;
}

/* Hands p[0..n), whole records from file position at, to the kernel, slice by slice. */
static void hand(hand_t *h, const char *p, int64_t n, int64_t at)
{
    for (int64_t s = 0; s < n;) {
        const int64_t e = slice_end(h, p, s, n, at);
        deliver(h, p + s, e - s, at + s);
        s = e;
        dp_ring_poke(h->ring);
    }
}

/* Notes a CSV record end at file position x as a place to cut slices. */
static void note_cut(hand_t *h, int64_t x)
{
    if (x - h->last_cut < SLICE)
        return;
    if (h->ncut == h->cutcap) {
        h->cutcap = h->cutcap ? 2 * h->cutcap : 64;
        h->cut = dp_xrealloc(h->cut, (size_t)h->cutcap * sizeof *h->cut);
    }
    h->cut[h->ncut++] = h->last_cut = x;
}

/* The boundaries in p[i..n) (piece at file position at) with the CSV automaton in state *q at
 * p[i]: *first the end of the first record, *last the end of the last record that starts before
 * b (or the end of the first one starting at or after b, then *stop is set); -1 when there is
 * none. */
static void boundaries(const dp_text_reader_t *r, hand_t *h, const char *p, int64_t i, int64_t n,
                       int64_t at, int64_t b, int *q, int64_t *first, int64_t *last, int *stop)
{
    *first = *last = -1;
    *stop = 0;
    if (r->csv) {
        int state = *q;
        for (int64_t j = i; j < n; j++) {
            const int ends = p[j] == '\n' && state != DP_CSV_QUOTED;
            state = dp_csv_step(state, (unsigned char)p[j], r->csv->delim);
            if (ends) {
                if (*first < 0)
                    *first = j + 1;
                *last = j + 1;
                note_cut(h, at + j + 1);
                if (at + j + 1 >= b) {
                    *stop = 1;
                    break;
                }
            }
        }
        *q = state;
        return;
    }
    const char *nl = memchr(p + i, '\n', (size_t)(n - i));
    if (!nl)
        return;
    *first = nl - p + 1;
    const int64_t lim = b - 1 - at; /* a newline at or after p[lim] ends the segment */
    if (lim < n) {
        const int64_t from = lim > i ? lim : i;
        const char *s = memchr(p + from, '\n', (size_t)(n - from));
        if (s) {
            *last = s - p + 1;
            *stop = 1;
            return;
        }
    }
    *last = (const char *)memrchr(p + i, '\n', (size_t)(n - i)) - p + 1;
}

/* Skips to the first record start at or after the piece's p[i]: its index, or -1. */
static int64_t skip_to_record(const dp_text_reader_t *r, const char *p, int64_t i, int64_t n,
                              int *q, int64_t *line)
{
    for (int64_t j = i; j < n; j++) {
        const int ends = p[j] == '\n' && (!r->csv || *q != DP_CSV_QUOTED);
        if (r->csv)
            *q = dp_csv_step(*q, (unsigned char)p[j], r->csv->delim);
        *line += p[j] == '\n';
        if (ends)
            return j + 1;
    }
    return -1;
}

dp_status_t dp_text_read(dp_text_reader_t *r, int64_t f, int64_t a, int64_t b, int state,
                         int64_t line)
{
    const int64_t size = r->files->size[f];
    if (a >= b || a >= size)
        return DP_OK;
    dp_ring_t ring;
    dp_status_t st = dp_ring_open(&ring, r->files->path[f], size, a > 0 ? a - 1 : 0, b, r->chunk,
                                  r->prefetch, r->overlap);
    carry_t c = {0};
    hand_t h = {.r = r, .ring = &ring, .file = f, .line = line};
    int q = state, skip = a > 0, done = 0;
    int64_t tail = 65536; /* reads past b to finish the last record: small, then growing */
    while (st == DP_OK && !done) {
        const char *p;
        int64_t n, at;
        st = dp_ring_next(&ring, &p, &n, &at);
        if (st != DP_OK)
            break;
        if (n == 0) {
            if (ring.end < size) { /* the last record runs on past b */
                dp_ring_extend(&ring, ring.end + tail);
                tail = tail < r->chunk / 2 ? 2 * tail : r->chunk;
                continue;
            }
            break;
        }
        int64_t i = 0;
        if (at == a - 1) { /* the byte before a: a record starts at a after a newline */
            i = 1;
            skip = !(p[0] == '\n' && (!r->csv || q != DP_CSV_QUOTED));
        }
        if (skip) {
            const int64_t k = skip_to_record(r, p, i, n, &q, &h.line);
            if (k < 0 && at + n >= b)
                break; /* a record end from here on starts a record at or after b */
            if (k < 0)
                continue;
            skip = 0;
            i = k;
            if (at + i >= b)
                break; /* no record starts in [a, b) */
        }
        int64_t first, last;
        int stop;
        h.ncut = 0;
        boundaries(r, &h, p, i, n, at, b, &q, &first, &last, &stop);
        if (c.len > 0) {
            if (first < 0) {
                st = carry_add(&c, p + i, n - i, at + i);
                continue;
            }
            st = carry_add(&c, p + i, first - i, at + i);
            if (st != DP_OK)
                break;
            hand(&h, c.data, c.len, c.at);
            c.len = 0;
            i = first;
        }
        if (last > i) {
            hand(&h, p + i, last - i, at + i);
            i = last;
        }
        done = stop;
        if (!done && i < n)
            st = carry_add(&c, p + i, n - i, at + i);
    }
    if (st == DP_OK && !done && c.len > 0)
        hand(&h, c.data, c.len, c.at); /* the file's last record, without a newline */
    r->wait += ring.wait;
    r->busy += ring.busy;
    r->bytes += ring.bytes;
    dp_ring_close(&ring);
    free(c.data);
    free(h.cut);
    return st;
}

dp_status_t dp_text_scan(dp_text_reader_t *r, int64_t f, int64_t a, int64_t b, uint8_t *vector,
                         int64_t *nl)
{
    *vector = DP_CSV_IDENTITY;
    *nl = 0;
    if (a >= b)
        return DP_OK;
    dp_ring_t ring;
    dp_status_t st = dp_ring_open(&ring, r->files->path[f], r->files->size[f], a, b, r->chunk,
                                  r->prefetch, r->overlap);
    while (st == DP_OK) {
        const char *p;
        int64_t n, at;
        st = dp_ring_next(&ring, &p, &n, &at);
        if (st != DP_OK || n == 0)
            break;
        *vector = dp_csv_run(r->csv, p, (size_t)n, *vector, nl);
    }
    r->wait += ring.wait;
    r->busy += ring.busy;
    r->bytes += ring.bytes;
    dp_ring_close(&ring);
    return st;
}
