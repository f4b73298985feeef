#include "csv.h"
#include "kernel.h"
#include "kvtable.h"
#include "xsum.h"
#include "xsum_ratio.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* groupby: aggregates a numeric column of CSV records by the value of a key column: count,
 * exact sum (so identical for any number of ranks and threads), mean, min, max. Rows with a
 * missing or non-numeric value are counted as bad (and listed), or stop the job with bad_rows =
 * error. With several threads, each run of records is cut at record ends (found with the CSV
 * automaton) into one part per thread, parsed into the thread's own table. */

enum { AGG_COUNT, AGG_SUM, AGG_MEAN, AGG_MIN, AGG_MAX, NAGGS };
#define AGG_NAMES "count|sum|mean|min|max"
static const char *const agg_names[NAGGS] = {"count", "sum", "mean", "min", "max"};

typedef struct {
    char *key, *value, *delimiter;
    unsigned aggs;
    int header;
    int bad_rows; /* 0 count, 1 error */
    int64_t top_k;
} gb_cfg_t;

static const dp_opt_t gb_opts[] = {
    {.key = "key",
     .type = DP_OPT_STRING,
     .required = 1,
     .offset = offsetof(gb_cfg_t, key),
     .help = "the column whose values form the groups: a name from the header, or a 0-based "
             "index with header = false"},
    {.key = "value",
     .type = DP_OPT_STRING,
     .offset = offsetof(gb_cfg_t, value),
     .help = "the numeric column aggregated (required unless aggs = count), as key"},
    {.key = "aggs",
     .type = DP_OPT_FLAGS,
     .def = "count,sum,mean",
     .allowed = AGG_NAMES,
     .offset = offsetof(gb_cfg_t, aggs),
     .help = "aggregates per group; sum is exact (rounded once), mean is that sum / count"},
    {.key = "delimiter",
     .type = DP_OPT_STRING,
     .def = ",",
     .offset = offsetof(gb_cfg_t, delimiter),
     .help = "field separator: one byte, or tab"},
    {.key = "header",
     .type = DP_OPT_BOOL,
     .def = "true",
     .offset = offsetof(gb_cfg_t, header),
     .help = "the first line of every file is a header naming the columns (the same in all)"},
    {.key = "bad_rows",
     .type = DP_OPT_CHOICE,
     .def = "count",
     .allowed = "count|error",
     .offset = offsetof(gb_cfg_t, bad_rows),
     .help = "rows with a missing or non-numeric value: count and list them, or stop the job"},
    {.key = "top_k",
     .type = DP_OPT_INT,
     .def = "10",
     .min = 0,
     .max = 1e6,
     .offset = offsetof(gb_cfg_t, top_k),
     .help = "groups listed in the report (in key order)"},
    {0},
};

typedef struct {
    gb_cfg_t cfg;
    char delim;
    int needs_value;
    int64_t key_col, val_col; /* val_col -1: no value column */
    char *header;             /* the header's fields, each followed by a NUL */
    size_t header_len;
    int header_fields;
} gb_state_t;

typedef struct {
    int64_t count;
    double min, max;
    int64_t nan;
    dp_xsum_t *sum;
} gb_value_t;

static int delimiter_of(const char *d, char *out)
{
    if (!strcmp(d, "tab") || !strcmp(d, "\\t") || !strcmp(d, "\t")) {
        *out = '\t';
        return 1;
    }
    if (strlen(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r')
        return 0;
    *out = d[0];
    return 1;
}

/* A 0-based column index, or -1 when s is not one. */
static int64_t index_of(const char *s)
{
    char *end;
    if (!s[0] || s[0] < '0' || s[0] > '9')
        return -1;
    long long v = strtoll(s, &end, 10);
    return *end || v > 1000000 ? -1 : v;
}

static const char *gb_check(const void *cfg, const char **key, int *column)
{
    (void)column;
    const gb_cfg_t *c = cfg;
    char d;
    const int needs_value = (c->aggs & ~(1u << AGG_COUNT)) != 0;
    if (!delimiter_of(c->delimiter, &d)) {
        *key = "delimiter";
        return "must be one byte (not a quote or a line end), or tab";
    }
    if (needs_value && !c->value) {
        *key = "value";
        return "missing: aggs other than count need the column to aggregate";
    }
    if (!needs_value && c->value) {
        *key = "value";
        return "not used when aggs = count (remove it, or ask for sum, mean, min or max)";
    }
    if (!c->header && index_of(c->key) < 0) {
        *key = "key";
        return "must be a 0-based column index with header = false";
    }
    if (!c->header && c->value && index_of(c->value) < 0) {
        *key = "value";
        return "must be a 0-based column index with header = false";
    }
    if (c->value && !strcmp(c->key, c->value)) {
        *key = "value";
        return "is the key column";
    }
    return NULL;
}

static void *gb_create(const void *cfg, const dp_shape_t *global)
{
    (void)global;
    gb_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cfg = *(const gb_cfg_t *)cfg;
    delimiter_of(st->cfg.delimiter, &st->delim);
    st->needs_value = (st->cfg.aggs & ~(1u << AGG_COUNT)) != 0;
    st->key_col = st->cfg.header ? -1 : index_of(st->cfg.key);
    st->val_col = st->cfg.value && !st->cfg.header ? index_of(st->cfg.value) : -1;
    return st;
}

static void gb_destroy(void *p)
{
    gb_state_t *st = p;
    if (st)
        free(st->header);
    free(st);
}

static int64_t column_named(const dp_csv_t *c, const char *name)
{
    for (int i = 0; i < c->nfields; i++)
        if (c->len[i] == strlen(name) && !memcmp(c->field[i], name, c->len[i]))
            return i;
    return -1;
}

static const char *gb_header(void *p, const char *rec, size_t len, const char **key)
{
    gb_state_t *st = p;
    static char msg[600];
    if (!st->cfg.header)
        return NULL;
    dp_csv_t c = {0};
    size_t pos = 0;
    const dp_csv_kind_t kind = dp_csv_record(&c, rec, len, &pos, st->delim);
    const char *why = NULL;
    if (kind == DP_CSV_BLANK)
        why = "the first line of the input is empty, not a header (header = true)";
    else if (kind == DP_CSV_BAD)
        snprintf(msg, sizeof msg, "the header of the input is not valid CSV: %s", c.why), why = msg;
    if (!why) {
        size_t n = 0;
        for (int i = 0; i < c.nfields; i++)
            n += c.len[i] + 1;
        st->header = malloc(n ? n : 1);
        if (!st->header)
            abort(); /* a copy of the header line, once */
        for (int i = 0; i < c.nfields; i++) {
            memcpy(st->header + st->header_len, c.field[i], c.len[i]);
            st->header_len += c.len[i];
            st->header[st->header_len++] = '\0';
        }
        st->header_fields = c.nfields;
        st->key_col = column_named(&c, st->cfg.key);
        st->val_col = st->cfg.value ? column_named(&c, st->cfg.value) : -1;
        const char *missing = st->key_col < 0                    ? "key"
                              : st->cfg.value && st->val_col < 0 ? "value"
                                                                 : NULL;
        if (missing) {
            int j = snprintf(msg, sizeof msg, "'%.64s' is not a column of the header (columns:",
                             missing[0] == 'k' ? st->cfg.key : st->cfg.value);
            for (int i = 0; i < c.nfields && j < (int)sizeof msg - 80; i++)
                j += snprintf(msg + j, sizeof msg - (size_t)j, "%s %.*s", i ? "," : "",
                              (int)(c.len[i] > 40 ? 40 : c.len[i]), c.field[i]);
            snprintf(msg + j, sizeof msg - (size_t)j, ")");
            *key = missing;
            why = msg;
        }
    }
    dp_csv_free(&c);
    return why;
}

/* Whether the fields of c are the header of the first file. */
static int same_header(const gb_state_t *st, const dp_csv_t *c)
{
    if (c->nfields != st->header_fields)
        return 0;
    const char *h = st->header;
    for (int i = 0; i < c->nfields; i++) {
        const size_t n = strlen(h); /* header fields hold no NUL: they came from the same rule */
        if (n != c->len[i] || memcmp(h, c->field[i], n))
            return 0;
        h += n + 1;
    }
    return 1;
}

/* The number in a field: all of it, spaces around allowed, as strtod reads it. */
static int parse_value(const char *f, size_t len, double *x)
{
    char small[128];
    if (len == 0 || memchr(f, '\0', len))
        return 0;
    char *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf)
        abort(); /* a field's copy: out of memory here is not recoverable mid-pass */
    memcpy(buf, f, len);
    buf[len] = '\0';
    char *end;
    *x = strtod(buf, &end);
    int ok = end != buf;
    while (*end == ' ' || *end == '\t')
        end++;
    ok = ok && *end == '\0';
    if (buf != small)
        free(buf);
    return ok;
}

/* a < b for min, with -0 below +0 so that the result does not depend on the order. */
static int below(double a, double b)
{
    return a < b || (a == b && signbit(a) && !signbit(b));
}

static void bad_row(const gb_state_t *st, const dp_text_t *t, int64_t line, const char *why,
                    dp_kv_tally_t *tally)
{
    tally->bad++;
    if (tally->nlisted < DP_KV_LISTED) {
        tally->bad_file[tally->nlisted] = t->file;
        tally->bad_line[tally->nlisted] = line;
        tally->nlisted++;
    }
    if (st->cfg.bad_rows == 1 && !tally->error[0]) {
        snprintf(tally->error, sizeof tally->error, "bad row (bad_rows = error): %s", why);
        tally->error_file = t->file;
        tally->error_line = line;
    }
}

static void add_value(const gb_state_t *st, gb_value_t *v, double x)
{
    if (v->count == 0 || below(x, v->min))
        v->min = x;
    if (v->count == 0 || below(v->max, x))
        v->max = x;
    v->nan += isnan(x);
    if (st->cfg.aggs & ((1u << AGG_SUM) | (1u << AGG_MEAN))) {
        if (!v->sum) {
            v->sum = malloc(sizeof *v->sum);
            if (!v->sum)
                abort(); /* a group's accumulator: the table's memory, as in kvtable.c */
            dp_xsum_init(v->sum);
        }
        dp_xsum_add(v->sum, x);
    }
    v->count++;
}

/* Parses the records of t into table, counting into tally. */
static void parse(const gb_state_t *st, const dp_text_t *t, dp_kvt_t *table, dp_kv_tally_t *tally)
{
    dp_csv_t c = {0};
    size_t pos = 0;
    int64_t line = t->line;
    const int64_t need = st->key_col > st->val_col ? st->key_col : st->val_col;
    for (int first = t->file_start; pos < t->len; first = 0) {
        const int64_t at = line;
        const dp_csv_kind_t kind = dp_csv_record(&c, t->data, t->len, &pos, st->delim);
        line += c.newlines;
        if (first && st->cfg.header) {
            if ((kind != DP_CSV_ROW || !same_header(st, &c)) && !tally->error[0]) {
                snprintf(tally->error, sizeof tally->error,
                         "the first line is not the header of the first file (header = true: "
                         "every file starts with the same header)");
                tally->error_file = t->file;
                tally->error_line = at;
            }
            continue;
        }
        if (kind == DP_CSV_BLANK)
            continue;
        tally->records++;
        if (kind == DP_CSV_BAD) {
            bad_row(st, t, at, c.why, tally);
            continue;
        }
        if (c.nfields <= need) {
            bad_row(st, t, at, "too few fields", tally);
            continue;
        }
        double x = 0;
        if (st->val_col >= 0 && !parse_value(c.field[st->val_col], c.len[st->val_col], &x)) {
            bad_row(st, t, at, "the value is not a number", tally);
            continue;
        }
        const char *k = c.field[st->key_col];
        const size_t klen = c.len[st->key_col];
        int created;
        gb_value_t *v = dp_kvt_get(table, k, klen, dp_kv_hash(k, klen), &created);
        if (st->val_col >= 0)
            add_value(st, v, x);
        else
            v->count++;
        tally->total++;
    }
    dp_csv_free(&c);
}

/* to += from, where from counted the records after those of to. */
static void add_tally(dp_kv_tally_t *to, const dp_kv_tally_t *from)
{
    to->records += from->records;
    to->total += from->total;
    to->bad += from->bad;
    for (int i = 0; i < from->nlisted && to->nlisted < DP_KV_LISTED; i++, to->nlisted++) {
        to->bad_file[to->nlisted] = from->bad_file[i];
        to->bad_line[to->nlisted] = from->bad_line[i];
    }
    if (!to->error[0] && from->error[0]) {
        memcpy(to->error, from->error, sizeof to->error);
        to->error_file = from->error_file;
        to->error_line = from->error_line;
    }
}

enum { MAX_PARTS = 64 };

/* Cuts t into nparts runs of whole records of about equal size: the automaton finds the first
 * record end after each equal share, and the newlines before it give the part's first line. */
static int cut_parts(const gb_state_t *st, const dp_text_t *t, int nparts, dp_text_t *part)
{
    int n = 0, state = DP_CSV_FIELD;
    size_t from = 0;
    int64_t line = t->line, from_line = t->line;
    for (size_t i = 0; i < t->len && n < nparts - 1; i++) {
        const unsigned char c = (unsigned char)t->data[i];
        const int ends = c == '\n' && state != DP_CSV_QUOTED;
        state = dp_csv_step(state, c, st->delim);
        line += c == '\n';
        if (ends && i + 1 >= t->len * (size_t)(n + 1) / (size_t)nparts && i + 1 < t->len) {
            part[n++] = (dp_text_t){.data = t->data + from,
                                    .len = i + 1 - from,
                                    .file = t->file,
                                    .line = from_line,
                                    .file_start = t->file_start && !from};
            from = i + 1;
            from_line = line;
        }
    }
    part[n++] = (dp_text_t){.data = t->data + from,
                            .len = t->len - from,
                            .file = t->file,
                            .line = from_line,
                            .file_start = t->file_start && !from};
    return n;
}

static void gb_map(const void *p, const dp_text_t *t, dp_kvt_t *const *tables, int ntables,
                   dp_kv_tally_t *tally)
{
    const gb_state_t *st = p;
    if (ntables == 1 || t->len < ((size_t)1 << 20)) {
        parse(st, t, tables[0], tally);
        return;
    }
    dp_text_t part[MAX_PARTS];
    dp_kv_tally_t sub[MAX_PARTS];
    const int nparts = cut_parts(st, t, ntables < MAX_PARTS ? ntables : MAX_PARTS, part);
#pragma omp parallel for num_threads(nparts) schedule(static, 1)
    for (int k = 0; k < nparts; k++) {
        sub[k] = (dp_kv_tally_t){0};
        parse(st, &part[k], tables[omp_get_thread_num()], &sub[k]);
    }
    for (int k = 0; k < nparts; k++)
        add_tally(tally, &sub[k]);
}

static size_t gb_value_size(const void *st)
{
    (void)st;
    return sizeof(gb_value_t);
}

static void gb_merge(const void *p, void *acc, const void *in)
{
    (void)p;
    gb_value_t *a = acc;
    const gb_value_t *b = in;
    if (b->count && (a->count == 0 || below(b->min, a->min)))
        a->min = b->min;
    if (b->count && (a->count == 0 || below(a->max, b->max)))
        a->max = b->max;
    a->count += b->count;
    a->nan += b->nan;
    if (b->sum) {
        if (!a->sum) {
            a->sum = malloc(sizeof *a->sum);
            if (!a->sum)
                abort();
            dp_xsum_init(a->sum);
        }
        dp_xsum_merge(a->sum, b->sum);
    }
}

static size_t gb_pack_max(const void *st)
{
    (void)st;
    return 4 * sizeof(int64_t) + 1 + DP_XSUM_PACK_MAX;
}

static size_t gb_pack(const void *st, const void *pv, unsigned char *out)
{
    (void)st;
    const gb_value_t *v = pv;
    memcpy(out, &v->count, 8);
    memcpy(out + 8, &v->min, 8);
    memcpy(out + 16, &v->max, 8);
    memcpy(out + 24, &v->nan, 8);
    out[32] = v->sum != NULL;
    return 33 + (v->sum ? dp_xsum_pack(v->sum, out + 33) : 0);
}

static size_t gb_unpack(const void *st, const unsigned char *in, void *pv)
{
    (void)st;
    gb_value_t *v = pv;
    memcpy(&v->count, in, 8);
    memcpy(&v->min, in + 8, 8);
    memcpy(&v->max, in + 16, 8);
    memcpy(&v->nan, in + 24, 8);
    if (!in[32])
        return 33;
    v->sum = malloc(sizeof *v->sum);
    if (!v->sum)
        abort();
    return 33 + dp_xsum_unpack(v->sum, in + 33);
}

static void gb_free_value(const void *st, void *pv)
{
    (void)st;
    free(((gb_value_t *)pv)->sum);
}

static int gb_columns(const void *p, dp_kv_column_t *cols)
{
    const gb_state_t *st = p;
    cols[0] = (dp_kv_column_t){st->cfg.header ? st->cfg.key : "key", 0};
    int n = 0;
    for (int a = 0; a < NAGGS; a++)
        if (st->cfg.aggs & (1u << a))
            cols[++n] = (dp_kv_column_t){agg_names[a], a == AGG_COUNT};
    return n;
}

/* The exact sum divided by the count, correctly rounded; Inf or NaN when the sum has them. */
static double mean_of(const dp_xsum_t *s, int64_t count)
{
    if (s->pinf || s->ninf || s->nan)
        return dp_xsum_round(s);
    double hi, lo;
    dp_xsum_mean(s, count, &hi, &lo);
    return hi;
}

static void gb_row(const void *p, const void *pv, dp_kv_cell_t *cells)
{
    const gb_state_t *st = p;
    const gb_value_t *v = pv;
    int n = 0;
    const double sum = v->sum ? dp_xsum_round(v->sum) : 0;
    for (int a = 0; a < NAGGS; a++) {
        if (!(st->cfg.aggs & (1u << a)))
            continue;
        switch (a) {
        case AGG_COUNT:
            cells[n].i = v->count;
            break;
        case AGG_SUM:
            cells[n].r = sum;
            break;
        case AGG_MEAN:
            cells[n].r = v->count ? mean_of(v->sum, v->count) : NAN;
            break;
        case AGG_MIN:
            cells[n].r = v->nan ? NAN : v->min;
            break;
        default:
            cells[n].r = v->nan ? NAN : v->max;
            break;
        }
        n++;
    }
}

static int64_t gb_count(const void *st, const void *v)
{
    (void)st;
    return ((const gb_value_t *)v)->count;
}

static char gb_csv(const void *st)
{
    return ((const gb_state_t *)st)->delim;
}

static int64_t gb_top_k(const void *st)
{
    return ((const gb_state_t *)st)->cfg.top_k;
}

const dp_kernel_t dp_kernel_groupby = {
    .name = "groupby",
    .summary = "count, exact sum, mean, min, max of a CSV column per key (source = text)",
    .kind = DP_KERNEL_KEYVALUE,
    .opts = gb_opts,
    .config_size = sizeof(gb_cfg_t),
    .check = gb_check,
    .create = gb_create,
    .kv_csv = gb_csv,
    .kv_header = gb_header,
    .kv_value_size = gb_value_size,
    .kv_map = gb_map,
    .kv_merge = gb_merge,
    .kv_pack = gb_pack,
    .kv_pack_max = gb_pack_max,
    .kv_unpack = gb_unpack,
    .kv_free_value = gb_free_value,
    .kv_columns = gb_columns,
    .kv_row = gb_row,
    .kv_count = gb_count,
    .kv_top_k = gb_top_k,
    .destroy = gb_destroy,
};
