/* wc_plain: the plain single-threaded word count that bench/kv.py sets beside dproc's
 * wordcount kernel: one pass over one file with read(2) into a 16 MiB buffer, one open-addressing
 * hash table, no MPI, no threads.
 *
 *   wc_plain FILE [OUT.tsv]
 *
 * Counts words as dproc's wordcount does by default: a word is a maximal run of ASCII letters,
 * ASCII digits and bytes >= 0x80, ASCII A-Z lowercased; lines are the '\n' bytes plus one if the
 * last byte is not '\n'. With OUT.tsv, writes the table in dproc's TSV order ("word<TAB>count"
 * header, count descending, then word ascending by bytes) so that the two outputs compare byte
 * for byte. Prints one JSON object on stdout: bytes, lines, words, distinct, and seconds (the
 * whole job: read, count, sort and write). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF (16u << 20)

typedef struct {
    uint64_t hash; /* 0 = empty slot */
    uint64_t count;
    uint64_t off; /* key bytes in the arena */
    uint32_t len;
} entry_t;

static entry_t *tab;
static size_t cap, used;
static unsigned char *arena;
static size_t arena_n, arena_cap;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "wc_plain: out of memory\n");
        exit(1);
    }
    return p;
}

static void grow(void)
{
    entry_t *old = tab;
    const size_t old_cap = cap;
    cap = cap ? 2 * cap : 1u << 16;
    tab = calloc(cap, sizeof *tab);
    if (!tab) {
        fprintf(stderr, "wc_plain: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].hash)
            continue;
        size_t h = old[i].hash & (cap - 1);
        while (tab[h].hash)
            h = (h + 1) & (cap - 1);
        tab[h] = old[i];
    }
    free(old);
}

static void add(const unsigned char *w, uint32_t len, uint64_t hash)
{
    hash |= 1; /* never 0 */
    size_t h = hash & (cap - 1);
    for (;;) {
        entry_t *e = &tab[h];
        if (!e->hash)
            break;
        if (e->hash == hash && e->len == len && !memcmp(arena + e->off, w, len)) {
            e->count++;
            return;
        }
        h = (h + 1) & (cap - 1);
    }
    if (arena_n + len > arena_cap) {
        arena_cap = 2 * (arena_n + len) + (1u << 20);
        arena = xrealloc(arena, arena_cap);
    }
    memcpy(arena + arena_n, w, len);
    tab[h] = (entry_t){hash, 1, arena_n, len};
    arena_n += len;
    if (++used * 2 > cap)
        grow();
}

static int by_count_then_key(const void *pa, const void *pb)
{
    const entry_t *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    const uint32_t n = a->len < b->len ? a->len : b->len;
    const int c = memcmp(arena + a->off, arena + b->off, n);
    if (c)
        return c;
    return (a->len > b->len) - (a->len < b->len); /* a prefix sorts first */
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: wc_plain FILE [OUT.tsv]\n");
        return 2;
    }
    const double t0 = now();
    /* cls[c]: 0 for a separator, else the byte as counted (A-Z lowercased) */
    unsigned char cls[256];
    for (int c = 0; c < 256; c++)
        cls[c] = (unsigned char)((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 ? c
                                 : c >= 'A' && c <= 'Z' ? c - 'A' + 'a'
                                                        : 0);
    const int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "wc_plain: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    grow();
    unsigned char *buf = xrealloc(NULL, BUF);
    unsigned char *word = NULL; /* the word being read, across buffer boundaries */
    size_t wlen = 0, wcap = 0;
    uint64_t hash = 0xcbf29ce484222325ULL, bytes = 0, lines = 0, words = 0;
    unsigned char last = '\n';
    for (;;) {
        const ssize_t got = read(fd, buf, BUF);
        if (got < 0) {
            fprintf(stderr, "wc_plain: %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
        if (got == 0)
            break;
        bytes += (uint64_t)got;
        last = buf[got - 1];
        for (ssize_t i = 0; i < got; i++) {
            const unsigned char c = cls[buf[i]];
            if (c) {
                if (wlen == wcap)
                    word = xrealloc(word, wcap = wcap ? 2 * wcap : 64);
                word[wlen++] = c;
                hash = (hash ^ c) * 0x100000001b3ULL;
            } else {
                lines += buf[i] == '\n';
                if (wlen) {
                    add(word, (uint32_t)wlen, hash ^ (hash >> 32));
                    words++;
                    wlen = 0;
                    hash = 0xcbf29ce484222325ULL;
                }
            }
        }
    }
    close(fd);
    if (wlen) {
        add(word, (uint32_t)wlen, hash ^ (hash >> 32));
        words++;
    }
    lines += bytes > 0 && last != '\n';

    /* compact the table and sort it */
    size_t n = 0;
    for (size_t i = 0; i < cap; i++)
        if (tab[i].hash)
            tab[n++] = tab[i];
    qsort(tab, n, sizeof *tab, by_count_then_key);
    if (argc == 3) {
        FILE *f = fopen(argv[2], "w");
        if (!f) {
            fprintf(stderr, "wc_plain: %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
        /* words hold no TAB, newline, CR or backslash: nothing to escape */
        fputs("word\tcount\n", f);
        for (size_t i = 0; i < n; i++) {
            fwrite(arena + tab[i].off, 1, tab[i].len, f);
            fprintf(f, "\t%llu\n", (unsigned long long)tab[i].count);
        }
        if (fclose(f)) {
            fprintf(stderr, "wc_plain: %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
    }
    printf("{\"bytes\": %llu, \"lines\": %llu, \"words\": %llu, \"distinct\": %zu, "
           "\"seconds\": %.6f}\n",
           (unsigned long long)bytes, (unsigned long long)lines, (unsigned long long)words, n,
           now() - t0);
    free(buf);
    free(word);
    free(tab);
    free(arena);
    return 0;
}
