/* zipf_text: makes a large, deterministic, English-like text for the word-count benchmarks.
 *
 *   zipf_text --bytes N --vocab V --seed S [--s 1.0] OUT
 *
 * Writes exactly N bytes to OUT ("-" for stdout): lines of 5..20 words separated by single
 * spaces, each line ending in '\n'. The words come from a vocabulary of V distinct pseudo-words
 * (letters a-z in pronounceable consonant/vowel runs, 2..12 letters, the frequent ones shorter),
 * built from the seed alone, and are drawn independently with Zipf's law over their rank:
 * P(rank r) proportional to 1 / r^s. The first word of every line is capitalised (its first
 * letter, always ASCII), so lowercasing matters to a count. The 10th most frequent word and one
 * in 200 of those past rank 100 carry one non-ASCII letter inside (UTF-8, e.g. "é", "ï",
 * "ç"; about 1% of the running words at s = 1, V = 50,000). Bytes N may take a K, M or G suffix
 * (powers of 1024). The last line is shorter and padded with spaces before its '\n' so that the
 * file is exactly N bytes; the same seed, vocabulary and s always give the same bytes, and a
 * bigger N gives the same text up to its last line.
 *
 * A summary (bytes, lines, words, distinct words used, non-ASCII share, seconds) goes to stderr.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, also when built alone with -std=c17 */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LETTERS 12
#define MAX_WORD_BYTES (MAX_LETTERS + 1) /* one letter may be a 2-byte UTF-8 sequence */
#define MAX_LINE_WORDS 20
#define MIN_LINE_WORDS 5
#define OUT_BUF (1u << 22)

/* ---- PRNG: splitmix64 seeds xoshiro256** ---- */

typedef struct {
    uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static inline double rng_unit(rng_t *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline uint32_t rng_below(rng_t *r, uint32_t n) /* [0, n) */
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* ---- the vocabulary ---- */

/* English letter frequencies (per mille), split into consonants and vowels. */
static const char CONS[] = "tnshrdlcmwfgypbvkjxqz";
static const int CONS_W[] = {91, 67, 63, 61, 60, 43, 40, 28, 24, 24, 22,
                             20, 20, 19, 15, 10, 8,  2,  2,  1,  1};
static const char VOWS[] = "eaoiu";
static const int VOWS_W[] = {127, 82, 75, 70, 28};

static char pick(rng_t *r, const char *set, const int *w, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    int x = (int)rng_below(r, (uint32_t)total);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return set[i];
        x -= w[i];
    }
    return set[n - 1];
}

/* The UTF-8 accented forms of a letter (2 bytes each) and their number, or NULL. */
static const char *const *accents(char c, int *n)
{
    static const char *const A[] = {"\xc3\xa0", "\xc3\xa1", "\xc3\xa2", "\xc3\xa4", "\xc3\xa5"};
    static const char *const E[] = {"\xc3\xa9", "\xc3\xa8", "\xc3\xaa", "\xc3\xab"};
    static const char *const I[] = {"\xc3\xad", "\xc3\xae", "\xc3\xaf"};
    static const char *const O[] = {"\xc3\xb3", "\xc3\xb4", "\xc3\xb6", "\xc3\xb8"};
    static const char *const U[] = {"\xc3\xba", "\xc3\xbb", "\xc3\xbc"};
    static const char *const C[] = {"\xc3\xa7"};
    static const char *const N[] = {"\xc3\xb1"};
    switch (c) {
    case 'a':
        *n = 5;
        return A;
    case 'e':
        *n = 4;
        return E;
    case 'i':
        *n = 3;
        return I;
    case 'o':
        *n = 4;
        return O;
    case 'u':
        *n = 3;
        return U;
    case 'c':
        *n = 1;
        return C;
    case 'n':
        *n = 1;
        return N;
    default:
        *n = 0;
        return NULL;
    }
}

/* Writes one pseudo-word of `len` letters to w; returns its length in bytes. With `accent`, one
 * letter after the first becomes a 2-byte UTF-8 letter. */
static int make_word(rng_t *r, int len, int accent, char *w)
{
    char letters[MAX_LETTERS];
    int vowel = rng_unit(r) < 0.3; /* most words start with a consonant */
    for (int i = 0; i < len; i++) {
        letters[i] = vowel ? pick(r, VOWS, VOWS_W, 5) : pick(r, CONS, CONS_W, 21);
        /* mostly alternate; sometimes a cluster (two consonants) or a diphthong */
        vowel = vowel ? rng_unit(r) < 0.12 : rng_unit(r) < (i == 0 ? 0.95 : 0.85);
    }
    int where = -1;
    if (accent) {
        for (int i = 1; i < len; i++) { /* the first accentable letter after the first */
            int n;
            if (accents(letters[i], &n)) {
                where = i;
                break;
            }
        }
        if (where < 0) { /* none: the last letter becomes an accented vowel */
            where = len - 1;
            letters[where] = "aeiou"[rng_below(r, 5)];
        }
    }
    int b = 0;
    for (int i = 0; i < len; i++) {
        if (i == where) {
            int n;
            const char *const *forms = accents(letters[i], &n);
            const char *f = forms[rng_below(r, (uint32_t)n)];
            w[b++] = f[0];
            w[b++] = f[1];
        } else {
            w[b++] = letters[i];
        }
    }
    return b;
}

typedef struct {
    char *bytes;     /* the words, packed */
    uint32_t *off;   /* word i is bytes[off[i] .. off[i] + len[i]) */
    uint8_t *len;    /* bytes */
    uint8_t *accent; /* 1 if the word has a non-ASCII letter */
    size_t n;
} vocab_t;

static uint64_t hash_bytes(const char *p, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static int accented_rank(size_t i)
{
    return i == 9 || (i >= 100 && i % 200 == 150);
}

/* V distinct words in rank order (index 0 the most frequent). */
static int build_vocab(vocab_t *v, size_t n, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed, 1);
    v->n = n;
    v->bytes = malloc(n * MAX_WORD_BYTES);
    v->off = malloc(n * sizeof *v->off);
    v->len = malloc(n);
    v->accent = malloc(n);
    size_t cap = 1;
    while (cap < 2 * n)
        cap <<= 1;
    uint32_t *table = calloc(cap, sizeof *table); /* word index + 1, 0 = empty */
    if (!v->bytes || !v->off || !v->len || !v->accent || !table) {
        free(table);
        return -1;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        /* frequent words short: ~2..5 letters at the top, ~7..12 at rank 50,000 */
        const double u = rng_unit(&r);
        int len = 2 + (int)(0.5 * log((double)i + 1.0) + 5.0 * u * u);
        int tries = 0;
        for (;;) {
            if (len > MAX_LETTERS)
                len = MAX_LETTERS;
            char *w = v->bytes + used;
            const int b = make_word(&r, len, accented_rank(i), w);
            size_t h = hash_bytes(w, b) & (cap - 1);
            int dup = 0;
            while (table[h]) {
                const uint32_t j = table[h] - 1;
                if (v->len[j] == b && !memcmp(v->bytes + v->off[j], w, (size_t)b)) {
                    dup = 1;
                    break;
                }
                h = (h + 1) & (cap - 1);
            }
            if (!dup) {
                table[h] = (uint32_t)i + 1;
                v->off[i] = (uint32_t)used;
                v->len[i] = (uint8_t)b;
                v->accent[i] = (uint8_t)accented_rank(i);
                used += (size_t)b;
                break;
            }
            if (++tries % 8 == 0) /* short lengths run out of words: go longer */
                len++;
        }
    }
    free(table);
    return 0;
}

/* Cumulative Zipf weights, normalised so that cdf[n - 1] = 1. */
static double *zipf_cdf(size_t n, double s)
{
    double *cdf = malloc(n * sizeof *cdf);
    if (!cdf)
        return NULL;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        acc += pow((double)(i + 1), -s);
        cdf[i] = acc;
    }
    for (size_t i = 0; i < n; i++)
        cdf[i] /= acc;
    cdf[n - 1] = 1.0;
    return cdf;
}

/* Draws by binary search over the cumulative weights, started from a guide table: guide[b] is
 * the first index with cdf[i] > b / GUIDE, so the answer for u in [b, b + 1) / GUIDE lies in
 * guide[b] .. guide[b + 1] and the search takes a few steps instead of log2(V). */
#define GUIDE_BITS 16
#define GUIDE (1u << GUIDE_BITS)

typedef struct {
    const double *cdf;
    size_t n;
    uint32_t *guide; /* GUIDE + 1 entries */
} sampler_t;

/* The first index in [lo, hi] with cdf[i] > u (cdf[hi] > u is known). */
static inline uint32_t search(const double *cdf, size_t lo, size_t hi, double u)
{
    size_t len = hi - lo + 1;
    while (len > 1) { /* branchless: the comparison becomes a conditional move */
        const size_t half = len / 2;
        lo = cdf[lo + half - 1] > u ? lo : lo + half;
        len -= half;
    }
    return (uint32_t)lo;
}

static int sampler_init(sampler_t *z, const double *cdf, size_t n)
{
    z->cdf = cdf;
    z->n = n;
    z->guide = malloc((GUIDE + 1) * sizeof *z->guide);
    if (!z->guide)
        return -1;
    size_t i = 0;
    for (uint32_t b = 0; b <= GUIDE; b++) {
        const double u = (double)b / GUIDE;
        while (i < n - 1 && !(cdf[i] > u))
            i++;
        z->guide[b] = (uint32_t)i;
    }
    return 0;
}

static inline uint32_t draw(const sampler_t *z, double u)
{
    const uint32_t b = (uint32_t)(u * GUIDE);
    return search(z->cdf, z->guide[b], z->guide[b + 1], u);
}

/* ---- output ---- */

typedef struct {
    FILE *f;
    char *buf;
    size_t n;
    int failed;
} out_t;

static void out_write(out_t *o, const char *p, size_t n)
{
    if (o->n + n > OUT_BUF) {
        if (fwrite(o->buf, 1, o->n, o->f) != o->n)
            o->failed = 1;
        o->n = 0;
    }
    memcpy(o->buf + o->n, p, n);
    o->n += n;
}

typedef struct {
    uint64_t lines, words, accented;
    unsigned char *seen; /* per vocabulary word */
} stats_t;

/* Appends word k to line (capitalised if first); returns the new line length. */
static size_t put_word(const vocab_t *v, uint32_t k, int first, char *line, size_t n)
{
    if (!first)
        line[n++] = ' ';
    memcpy(line + n, v->bytes + v->off[k], v->len[k]);
    if (first)
        line[n] = (char)(line[n] - 'a' + 'A'); /* the first letter is always ASCII a-z */
    return n + v->len[k];
}

/* Counts a line's words once it is written. */
static void count_line(stats_t *st, const vocab_t *v, const uint32_t *ks, uint32_t nk)
{
    st->lines++;
    st->words += nk;
    for (uint32_t i = 0; i < nk; i++) {
        st->accented += v->accent[ks[i]];
        st->seen[ks[i]] = 1;
    }
}

static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    const unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    uint64_t m = 1;
    if (*end == 'K' || *end == 'k')
        m = 1ULL << 10;
    else if (*end == 'M' || *end == 'm')
        m = 1ULL << 20;
    else if (*end == 'G' || *end == 'g')
        m = 1ULL << 30;
    if (m != 1)
        end++;
    if (*end)
        return -1;
    *out = (uint64_t)x * m;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: zipf_text --bytes N[K|M|G] --vocab V --seed S [--s 1.0] OUT\n");
}

int main(int argc, char **argv)
{
    uint64_t bytes = 0, seed = 0;
    long vocab_n = 0;
    double s = 1.0;
    const char *path = NULL;
    int have_bytes = 0, have_seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int more = i + 1 < argc;
        if (!strcmp(a, "--bytes") && more) {
            if (parse_bytes(argv[++i], &bytes)) {
                fprintf(stderr, "zipf_text: bad --bytes '%s'\n", argv[i]);
                return 2;
            }
            have_bytes = 1;
        } else if (!strcmp(a, "--vocab") && more) {
            vocab_n = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--seed") && more) {
            seed = strtoull(argv[++i], NULL, 10);
            have_seed = 1;
        } else if (!strcmp(a, "--s") && more) {
            s = strtod(argv[++i], NULL);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "zipf_text: unknown or incomplete option '%s'\n", a);
            usage();
            return 2;
        } else if (!path) {
            path = a;
        } else {
            usage();
            return 2;
        }
    }
    if (!have_bytes || !have_seed || !path || vocab_n < 1 || vocab_n > 10000000 || !(s >= 0.0) ||
        s > 10.0) {
        usage();
        fprintf(stderr, "  --vocab 1..10000000, --s 0..10; --bytes and --seed are required\n");
        return 2;
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vocab_t v;
    double *cdf = zipf_cdf((size_t)vocab_n, s);
    stats_t st = {0, 0, 0, calloc((size_t)vocab_n, 1)};
    out_t o = {NULL, malloc(OUT_BUF), 0, 0};
    if (!cdf || !st.seen || !o.buf || build_vocab(&v, (size_t)vocab_n, seed)) {
        fprintf(stderr, "zipf_text: out of memory\n");
        return 1;
    }
    o.f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
    if (!o.f) {
        fprintf(stderr, "zipf_text: %s: %s\n", path, strerror(errno));
        return 1;
    }

    sampler_t z;
    if (sampler_init(&z, cdf, v.n)) {
        fprintf(stderr, "zipf_text: out of memory\n");
        return 1;
    }
    rng_t r;
    rng_seed(&r, seed, 2);
    char line[MAX_LINE_WORDS * (MAX_WORD_BYTES + 1) + 1];
    uint32_t ks[MAX_LINE_WORDS];
    uint64_t left = bytes;
    for (;;) {
        const uint32_t words = MIN_LINE_WORDS + rng_below(&r, MAX_LINE_WORDS - MIN_LINE_WORDS + 1);
        size_t n = 0;
        for (uint32_t w = 0; w < words; w++) {
            ks[w] = draw(&z, rng_unit(&r));
            n = put_word(&v, ks[w], w == 0, line, n);
        }
        line[n++] = '\n';
        if (n > left)
            break;
        out_write(&o, line, n);
        count_line(&st, &v, ks, words);
        left -= n;
    }
    /* The last line: whole words that fit, then spaces, then '\n', to exactly N bytes. */
    if (left > 0) {
        size_t n = 0;
        uint32_t nk = 0;
        for (int tries = 0; tries < 64 && nk < MAX_LINE_WORDS;) {
            const uint32_t k = draw(&z, rng_unit(&r));
            if (n + v.len[k] + (n > 0) + 1 > left) { /* the word, its separator and the '\n' */
                tries++;
                continue;
            }
            ks[nk] = k;
            n = put_word(&v, k, nk++ == 0, line, n);
        }
        while (n + 1 < left)
            line[n++] = ' ';
        line[n++] = '\n';
        out_write(&o, line, n);
        count_line(&st, &v, ks, nk);
    }
    if (o.n && fwrite(o.buf, 1, o.n, o.f) != o.n)
        o.failed = 1;
    if ((o.f == stdout ? fflush(o.f) : fclose(o.f)) != 0 || o.failed) {
        fprintf(stderr, "zipf_text: writing %s: %s\n", path, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    uint64_t distinct = 0;
    for (long i = 0; i < vocab_n; i++)
        distinct += st.seen[i];
    fprintf(stderr,
            "zipf_text: %llu bytes, %llu lines, %llu words, %llu distinct of %ld, s = %g, "
            "%.2f%% non-ASCII words, %.2f s\n",
            (unsigned long long)bytes, (unsigned long long)st.lines, (unsigned long long)st.words,
            (unsigned long long)distinct, vocab_n, s,
            st.words ? 100.0 * (double)st.accented / (double)st.words : 0.0,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    free(cdf);
    free(z.guide);
    free(st.seen);
    free(o.buf);
    free(v.bytes);
    free(v.off);
    free(v.len);
    free(v.accent);
    return 0;
}
