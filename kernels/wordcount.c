#include "kernel.h"
#include "kvtable.h"

#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* wordcount: counts words in text. A word is a maximal run of ASCII letters, ASCII digits and
 * bytes >= 0x80 (so UTF-8 words stay whole); ASCII letters are lowercased unless lowercase =
 * false. Each thread counts into its own table; dproc combines the tables and the ranks. */

typedef struct {
    int lowercase;
    int64_t min_length;
    int64_t top_k;
} wc_cfg_t;

static const dp_opt_t wc_opts[] = {
    {.key = "lowercase",
     .type = DP_OPT_BOOL,
     .def = "true",
     .offset = offsetof(wc_cfg_t, lowercase),
     .help = "count ASCII letters lowercased (bytes >= 0x80 are kept as they are)"},
    {.key = "min_length",
     .type = DP_OPT_INT,
     .def = "1",
     .min = 1,
     .max = 1e9,
     .offset = offsetof(wc_cfg_t, min_length),
     .help = "shortest word counted, in bytes"},
    {.key = "top_k",
     .type = DP_OPT_INT,
     .def = "10",
     .min = 0,
     .max = 1e6,
     .offset = offsetof(wc_cfg_t, top_k),
     .help = "most frequent words listed in the report"},
    {0},
};

/* Byte classes: 0 separator, 1 word byte kept as is, 2 ASCII upper-case letter. */
static unsigned char word_class[256];

static void init_classes(void)
{
    for (int c = 0; c < 256; c++)
        word_class[c] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 ? 1
                        : c >= 'A' && c <= 'Z'                                        ? 2
                                                                                      : 0;
}

static void *wc_create(const void *cfg, const dp_shape_t *global)
{
    (void)global;
    init_classes();
    wc_cfg_t *st = malloc(sizeof *st);
    if (st)
        *st = *(const wc_cfg_t *)cfg;
    return st;
}

static void wc_destroy(void *st)
{
    free(st);
}

static size_t wc_value_size(const void *st)
{
    (void)st;
    return sizeof(int64_t);
}

/* Counts the words of p[0..n) into t; returns the number of words counted. */
static int64_t count_words(const wc_cfg_t *c, const unsigned char *p, size_t n, dp_kvt_t *t)
{
    enum { SMALL = 256 };
    unsigned char small[SMALL], *word = small;
    size_t wcap = SMALL;
    int64_t words = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && !word_class[p[i]])
            i++;
        const size_t s = i;
        int upper = 0;
        while (i < n && word_class[p[i]]) {
            upper |= word_class[p[i]] == 2;
            i++;
        }
        const size_t len = i - s;
        if (len == 0 || (int64_t)len < c->min_length)
            continue;
        const unsigned char *key = p + s;
        if (upper && c->lowercase) {
            if (len > wcap) {
                if (word != small)
                    free(word);
                wcap = len;
                word = malloc(wcap);
                if (!word)
                    abort();
            }
            for (size_t j = 0; j < len; j++)
                word[j] = word_class[p[s + j]] == 2 ? (unsigned char)(p[s + j] | 0x20) : p[s + j];
            key = word;
        }
        int created;
        int64_t *v = dp_kvt_get(t, key, len, dp_kv_hash(key, len), &created);
        (*v)++;
        words++;
    }
    if (word != small)
        free(word);
    return words;
}

/* Lines in p[0..n): its newlines, and one more for a last line without one (the text holds
 * whole lines, so that one ends its file). */
static int64_t count_lines(const char *p, size_t n)
{
    int64_t lines = 0;
    for (const char *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        lines++;
    return lines + (n > 0 && p[n - 1] != '\n');
}

/* Start of part k of nparts of p[0..n): cut at a separator byte so no word is split. */
static size_t part_start(const unsigned char *p, size_t n, int k, int nparts)
{
    size_t s = (size_t)((unsigned __int128)n * (unsigned)k / (unsigned)nparts);
    while (s > 0 && s < n && word_class[p[s - 1]])
        s++;
    return s;
}

static void wc_map(const void *st, const dp_text_t *text, dp_kvt_t *const *tables, int ntables,
                   dp_kv_tally_t *tally)
{
    const wc_cfg_t *c = st;
    const unsigned char *p = (const unsigned char *)text->data;
    int64_t words = 0;
    const int nparts = text->len < ((size_t)1 << 20) ? 1 : ntables;
#pragma omp parallel for num_threads(nparts) schedule(static, 1) reduction(+ : words)
    for (int k = 0; k < nparts; k++) {
        const size_t s = part_start(p, text->len, k, nparts);
        const size_t e = part_start(p, text->len, k + 1, nparts);
        if (e > s)
            words += count_words(c, p + s, e - s, tables[omp_get_thread_num()]);
    }
    tally->total += words;
    tally->records += count_lines(text->data, text->len);
}

static void wc_merge(const void *st, void *acc, const void *in)
{
    (void)st;
    *(int64_t *)acc += *(const int64_t *)in;
}

static int wc_columns(const void *st, dp_kv_column_t *cols)
{
    (void)st;
    cols[0] = (dp_kv_column_t){"word", 0};
    cols[1] = (dp_kv_column_t){"count", 1};
    return 1;
}

static void wc_row(const void *st, const void *v, dp_kv_cell_t *cells)
{
    (void)st;
    cells[0].i = *(const int64_t *)v;
}

static int64_t wc_count(const void *st, const void *v)
{
    (void)st;
    return *(const int64_t *)v;
}

static int64_t wc_top_k(const void *st)
{
    return ((const wc_cfg_t *)st)->top_k;
}

const dp_kernel_t dp_kernel_wordcount = {
    .name = "wordcount",
    .summary = "count words in text files (source = text): map, combine, shuffle by key, reduce",
    .kind = DP_KERNEL_KEYVALUE,
    .opts = wc_opts,
    .config_size = sizeof(wc_cfg_t),
    .create = wc_create,
    .kv_by_count = 1,
    .kv_value_size = wc_value_size,
    .kv_map = wc_map,
    .kv_merge = wc_merge,
    .kv_columns = wc_columns,
    .kv_row = wc_row,
    .kv_count = wc_count,
    .kv_top_k = wc_top_k,
    .destroy = wc_destroy,
};
