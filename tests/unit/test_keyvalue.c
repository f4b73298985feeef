/* Key-value building blocks against plain references: the hash table against a sorted list of
 * keys, the CSV parser against hand-worked records, the packed exact sum against the unpacked
 * one, and the wordcount and groupby kernels against direct counts. */
#include "csv.h"
#include "dp_test.h"
#include "kernel.h"
#include "kvtable.h"
#include "xsum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_table_counts(void)
{
    enum { N = 200000, DISTINCT = 5003 };
    dp_kvt_t t;
    dp_kvt_init(&t, sizeof(int64_t));
    static int64_t want[DISTINCT];
    memset(want, 0, sizeof want);
    char key[32];
    for (int i = 0; i < N; i++) {
        const int k = (int)((i * 7919LL) % DISTINCT);
        const int len = snprintf(key, sizeof key, "k%d", k);
        int created;
        int64_t *v = dp_kvt_get(&t, key, (size_t)len, dp_kv_hash(key, (size_t)len), &created);
        CU_ASSERT_EQUAL(created, want[k] == 0);
        ++*v;
        want[k]++;
    }
    CU_ASSERT_EQUAL(t.n, DISTINCT);
    int wrong = 0;
    for (size_t i = 0; i < t.nslots; i++) {
        if (!dp_kvt_full(&t, i))
            continue;
        char k[32];
        memcpy(k, dp_kvt_key(&t, i), dp_kvt_entry(&t, i)->klen);
        k[dp_kvt_entry(&t, i)->klen] = '\0';
        wrong += *(int64_t *)dp_kvt_value(&t, i) != want[atoi(k + 1)];
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* keys that differ only in length or in their last bytes stay apart */
    int created;
    dp_kvt_get(&t, "k1", 2, dp_kv_hash("k1", 2), &created);
    CU_ASSERT_EQUAL(created, 0);
    dp_kvt_get(&t, "k1\0", 3, dp_kv_hash("k1\0", 3), &created);
    CU_ASSERT_EQUAL(created, 1);
    dp_kvt_get(&t, "", 0, dp_kv_hash("", 0), &created);
    CU_ASSERT_EQUAL(created, 1);
    dp_kvt_free(&t);
}

static void test_hash_spreads(void)
{
    /* owners are picked from the hash's high bits: sequential keys must spread over them */
    int bins[8] = {0};
    char key[32];
    for (int i = 0; i < 80000; i++) {
        const int len = snprintf(key, sizeof key, "word%d", i);
        bins[dp_kv_hash(key, (size_t)len) >> 61]++;
    }
    for (int b = 0; b < 8; b++)
        CU_ASSERT(bins[b] > 9000 && bins[b] < 11000);
}

/* Parses text fully; returns the kinds and joins the fields of each row with '|'. */
static int parse_all(const char *text, char delim, char out[][64], int *kinds)
{
    dp_csv_t c = {0};
    size_t pos = 0, n = strlen(text);
    int rows = 0;
    while (pos < n) {
        kinds[rows] = dp_csv_record(&c, text, n, &pos, delim);
        out[rows][0] = '\0';
        for (int f = 0; f < c.nfields; f++) {
            strncat(out[rows], c.field[f], c.len[f]);
            if (f + 1 < c.nfields)
                strcat(out[rows], "|");
        }
        rows++;
    }
    dp_csv_free(&c);
    return rows;
}

static void test_csv_records(void)
{
    char rows[16][64];
    int kinds[16];
    const char *text = "a,b,c\n"
                       "\"x,y\",\"say \"\"hi\"\"\",z\r\n"
                       "\n"
                       "\"two\nlines\",2\n"
                       "bad\"quote\",1\n"
                       "\"closed\"junk,1\n"
                       "trailing,\n"
                       ",\n"
                       "last";
    const int n = parse_all(text, ',', rows, kinds);
    CU_ASSERT_EQUAL_FATAL(n, 9);
    CU_ASSERT(kinds[0] == DP_CSV_ROW && !strcmp(rows[0], "a|b|c"));
    CU_ASSERT(kinds[1] == DP_CSV_ROW && !strcmp(rows[1], "x,y|say \"hi\"|z"));
    CU_ASSERT(kinds[2] == DP_CSV_BLANK);
    CU_ASSERT(kinds[3] == DP_CSV_ROW && !strcmp(rows[3], "two\nlines|2"));
    CU_ASSERT(kinds[4] == DP_CSV_BAD);
    CU_ASSERT(kinds[5] == DP_CSV_BAD);
    CU_ASSERT(kinds[6] == DP_CSV_ROW && !strcmp(rows[6], "trailing|"));
    CU_ASSERT(kinds[7] == DP_CSV_ROW && !strcmp(rows[7], "|"));
    CU_ASSERT(kinds[8] == DP_CSV_ROW && !strcmp(rows[8], "last"));
    /* an unclosed quote runs to the end of the text */
    const int m = parse_all("\"open,1\nnext,2\n", ',', rows, kinds);
    CU_ASSERT(m == 1 && kinds[0] == DP_CSV_BAD);
    /* a stray quote spoils its row only: the row still ends at its newline */
    const int q = parse_all("Os\"lo,1\nOslo,2\n\"x\"y,3\nz,4\n", ',', rows, kinds);
    CU_ASSERT_EQUAL_FATAL(q, 4);
    CU_ASSERT(kinds[0] == DP_CSV_BAD && kinds[1] == DP_CSV_ROW && !strcmp(rows[1], "Oslo|2"));
    CU_ASSERT(kinds[2] == DP_CSV_BAD && kinds[3] == DP_CSV_ROW && !strcmp(rows[3], "z|4"));
    const int t = parse_all("k\tv w\n", '\t', rows, kinds);
    CU_ASSERT(t == 1 && !strcmp(rows[0], "k|v w"));
}

static void test_csv_newlines(void)
{
    dp_csv_t c = {0};
    const char *text = "\"a\nb\nc\",1\nd,2\n";
    size_t pos = 0;
    dp_csv_record(&c, text, strlen(text), &pos, ',');
    CU_ASSERT_EQUAL(c.newlines, 3);
    dp_csv_record(&c, text, strlen(text), &pos, ',');
    CU_ASSERT_EQUAL(c.newlines, 1);
    CU_ASSERT_EQUAL(pos, strlen(text));
    dp_csv_free(&c);
}

/* The automaton run from all states at once equals four runs of one state each, on text made
 * of the bytes that matter, for delimiters that are punctuation, a letter or a tab. */
static void test_csv_machine(void)
{
    static const char alphabet[] = "\"\",;\n\rabx\t";
    static const char delims[] = ",;x\ta";
    uint64_t x = 88172645463325252u;
    int wrong = 0;
    for (size_t d = 0; d < sizeof delims - 1; d++) {
        dp_csv_machine_t m;
        dp_csv_machine(&m, delims[d]);
        for (int trial = 0; trial < 1000; trial++) {
            char text[64];
            const size_t n = (size_t)(trial % 60);
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                text[i] = alphabet[x % (sizeof alphabet - 1)];
            }
            int64_t nl = 0, want_nl = 0;
            const uint8_t v = dp_csv_run(&m, text, n, DP_CSV_IDENTITY, &nl);
            for (int s = 0; s < 4; s++) {
                int state = s;
                for (size_t i = 0; i < n; i++)
                    state = dp_csv_step(state, (unsigned char)text[i], delims[d]);
                wrong += dp_csv_apply(v, s) != state;
            }
            for (size_t i = 0; i < n; i++)
                want_nl += text[i] == '\n';
            wrong += nl != want_nl;
            /* composing the runs of two halves gives the run of the whole */
            int64_t ignore = 0;
            const uint8_t a = dp_csv_run(&m, text, n / 2, DP_CSV_IDENTITY, &ignore);
            const uint8_t b = dp_csv_run(&m, text + n / 2, n - n / 2, DP_CSV_IDENTITY, &ignore);
            for (int s = 0; s < 4; s++)
                wrong += dp_csv_apply(b, dp_csv_apply(a, s)) != dp_csv_apply(v, s);
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

static void test_xsum_pack(void)
{
    const double v[] = {1e16, 1.0, -1e16, 0.1, 3e-300, -2.5e200, 7.0, INFINITY};
    dp_xsum_t a, b;
    dp_xsum_init(&a);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        dp_xsum_add(&a, v[i]);
    unsigned char buf[DP_XSUM_PACK_MAX];
    const size_t n = dp_xsum_pack(&a, buf);
    CU_ASSERT_EQUAL(dp_xsum_unpack(&b, buf), n);
    CU_ASSERT(isinf(dp_xsum_round(&b)) && dp_xsum_round(&b) > 0);
    /* without the infinity: the same exact sum as adding the values to a fresh accumulator */
    dp_xsum_init(&a);
    for (size_t i = 0; i + 1 < sizeof v / sizeof *v; i++)
        dp_xsum_add(&a, v[i]);
    dp_xsum_unpack(&b, buf);
    dp_xsum_t c;
    dp_xsum_pack(&a, buf);
    dp_xsum_unpack(&c, buf);
    CU_ASSERT_EQUAL(dp_xsum_round(&c), dp_xsum_round(&a));
    CU_ASSERT_EQUAL(dp_xsum_round(&c), -2.5e200);
    /* values of one magnitude pack into a few digits: 53 bits span at most three */
    dp_xsum_init(&a);
    dp_xsum_add(&a, 1.0);
    dp_xsum_add(&a, 0.75);
    CU_ASSERT(dp_xsum_pack(&a, buf) <= 4 + 24 + 3 * 8);
    dp_xsum_unpack(&b, buf);
    CU_ASSERT_EQUAL(dp_xsum_round(&b), 1.75);
}

/* The kernel of that name configured from job-file text through its option table. */
static void *kernel_state(const dp_kernel_t *k, void *cfg)
{
    return k->create(cfg, NULL);
}

typedef struct {
    int lowercase;
    int64_t min_length, top_k;
} wc_cfg_t; /* the layout of wordcount's options (kernels/wordcount.c) */

/* The count of word w in t, found by walking the entries (not through the hash). */
static int64_t count_of(const dp_kvt_t *t, const char *w)
{
    for (size_t i = 0; i < t->nslots; i++)
        if (dp_kvt_full(t, i) && dp_kvt_entry(t, i)->klen == strlen(w) &&
            !memcmp(dp_kvt_key(t, i), w, strlen(w)))
            return *(const int64_t *)dp_kvt_value(t, i);
    return 0;
}

static void test_wordcount_map(void)
{
    const dp_kernel_t *k = dp_kernel_find("wordcount");
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    wc_cfg_t cfg = {.lowercase = 1, .min_length = 2, .top_k = 10};
    void *st = kernel_state(k, &cfg);
    dp_kvt_t t;
    dp_kvt_init(&t, k->kv_value_size(st));
    dp_kvt_t *tp[1] = {&t};
    const char *text = "The the THE, caf\xc3\xa9!a b2 under_score x\nno-newline";
    dp_text_t tx = {.data = text, .len = strlen(text)};
    dp_kv_tally_t tally = {0};
    k->kv_map(st, &tx, tp, 1, &tally);
    CU_ASSERT_EQUAL(tally.records, 2);
    /* the, the, the, café, b2, under, score, no, newline; "a" and "x" are too short */
    CU_ASSERT_EQUAL(tally.total, 9);
    CU_ASSERT_EQUAL(count_of(&t, "the"), 3);
    CU_ASSERT_EQUAL(count_of(&t, "caf\xc3\xa9"), 1);
    CU_ASSERT_EQUAL(count_of(&t, "under"), 1);
    CU_ASSERT_EQUAL(count_of(&t, "a"), 0);
    CU_ASSERT_EQUAL(t.n, 7);
    dp_kvt_free(&t);
    k->destroy(st);
}

int main(void)
{
    static const dp_test_case_t cases[] = {
        {"hash table counts", test_table_counts}, {"hash spreads owners", test_hash_spreads},
        {"csv records", test_csv_records},        {"csv newlines", test_csv_newlines},
        {"csv automaton", test_csv_machine},      {"xsum pack", test_xsum_pack},
        {"wordcount map", test_wordcount_map},    {NULL, NULL},
    };
    return dp_test_main("keyvalue", cases);
}
