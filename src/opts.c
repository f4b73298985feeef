#include "opts.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Index of word in a '|'-separated list, or -1. Compares [b, e) of word. */
int dp_opts_word_index(const char *list, const char *b, size_t len)
{
    int i = 0;
    for (const char *p = list;; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, b, len))
            return i;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

static void list_commas(const char *allowed, char *buf, size_t size)
{
    size_t j = 0;
    for (const char *p = allowed; *p && j + 3 < size; p++) {
        if (*p == '|') {
            buf[j++] = ',';
            buf[j++] = ' ';
        } else {
            buf[j++] = *p;
        }
    }
    buf[j] = '\0';
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best =
                diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *dp_opts_suggest(const char *word, const char *candidates)
{
    static char best[64];
    int best_d = 99;
    const char *p = candidates;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        char cand[64];
        if (n < sizeof cand) {
            memcpy(cand, p, n);
            cand[n] = '\0';
            int d = edit_distance(word, cand);
            int limit = strlen(cand) <= 3 ? 1 : 2;
            if (d <= limit && d < best_d) {
                best_d = d;
                memcpy(best, cand, n + 1);
            }
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    return best_d < 99 ? best : NULL;
}

int dp_shape_parse(const char *text, dp_shape_t *shape, const char **why)
{
    shape->ndim = 0;
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!isdigit((unsigned char)*p)) {
            *why = "expected positive whole numbers separated by commas, e.g. 400,300";
            return 0;
        }
        if (shape->ndim == DP_MAX_DIMS) {
            *why = "more than 3 dimensions";
            return 0;
        }
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno == ERANGE) {
            *why = "an extent does not fit in 64 bits";
            return 0;
        }
        if (v <= 0) {
            *why = "every extent must be at least 1";
            return 0;
        }
        shape->n[shape->ndim++] = v;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        if (*p != ',') {
            *why = "expected positive whole numbers separated by commas, e.g. 400,300";
            return 0;
        }
        p++;
    }
    for (int d = shape->ndim; d < DP_MAX_DIMS; d++)
        shape->n[d] = 1;
    return 1;
}

const char *dp_shape_str(const dp_shape_t *shape, char *buf, size_t size)
{
    size_t j = 0;
    buf[0] = '\0';
    for (int d = 0; d < shape->ndim && j < size; d++)
        j += (size_t)snprintf(buf + j, size - j, d ? "x%" PRId64 : "%" PRId64, shape->n[d]);
    return buf;
}

static int parse_bool(const char *v, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = 1;
            return 1;
        }
        if (!strcasecmp(v, no[i])) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

/* Parses one finite number within the option's bounds; returns 0 after adding a diagnostic. */
static int parse_real(const dp_opt_t *o, const char *section, const char *v, dp_where_t where,
                      double *out, dp_diag_t *diag)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == v || *end != '\0') {
        dp_diag_add(diag, where, section, o->key, "'%.64s' is not a number", v);
        return 0;
    }
    if (errno == ERANGE && fabs(x) > 1.0) {
        dp_diag_add(diag, where, section, o->key, "%.64s overflows a double", v);
        return 0;
    }
    if (!isfinite(x) || x < o->min || x > o->max) {
        dp_diag_add(diag, where, section, o->key, "%.64s is out of range (%g to %g)", v, o->min,
                    o->max);
        return 0;
    }
    *out = x;
    return 1;
}

/* Parses a comma-separated list of numbers. */
static int parse_reals(const dp_opt_t *o, const char *section, const char *v, dp_where_t where,
                       dp_reals_t *out, dp_diag_t *diag)
{
    out->n = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (out->n == DP_MAX_REALS) {
            dp_diag_add(diag, where, section, o->key, "more than %d values", DP_MAX_REALS);
            return 0;
        }
        char item[128];
        if (len >= sizeof item) {
            dp_diag_add(diag, where, section, o->key, "a value is too long");
            return 0;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *b = item;
        while (isspace((unsigned char)*b))
            b++;
        if (!parse_real(o, section, b, where, &out->v[out->n], diag))
            return 0;
        out->n++;
        if (!e)
            return 1;
        p = e + 1;
    }
}

/* Parses one value; returns 0 after adding a diagnostic. */
static int parse_value(const dp_opt_t *o, const char *section, const char *v, dp_where_t where,
                       void *dst, dp_diag_t *diag)
{
    char *field = (char *)dst + o->offset;
    char allowed[512];
    switch (o->type) {
    case DP_OPT_STRING:
        if (!*v) {
            dp_diag_add(diag, where, section, o->key, "empty value");
            return 0;
        }
        *(char **)field = dp_xstrdup(v);
        return 1;
    case DP_OPT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end != '\0') {
            dp_diag_add(diag, where, section, o->key, "'%.64s' is not a whole number", v);
            return 0;
        }
        if (errno == ERANGE || (double)x < o->min || (double)x > o->max) {
            dp_diag_add(diag, where, section, o->key, "%.64s is out of range (%.0f to %.0f)", v,
                        o->min, o->max);
            return 0;
        }
        *(int64_t *)field = x;
        return 1;
    }
    case DP_OPT_REAL:
        return parse_real(o, section, v, where, (double *)field, diag);
    case DP_OPT_BOOL:
        if (!parse_bool(v, (int *)field)) {
            dp_diag_add(diag, where, section, o->key, "'%.64s' is not a boolean (true or false)",
                        v);
            return 0;
        }
        return 1;
    case DP_OPT_CHOICE: {
        int i = dp_opts_word_index(o->allowed, v, strlen(v));
        if (i < 0) {
            const char *s = dp_opts_suggest(v, o->allowed);
            list_commas(o->allowed, allowed, sizeof allowed);
            dp_diag_add(diag, where, section, o->key, "unknown value '%.64s'%s%s%s (allowed: %s)",
                        v, s ? ", did you mean '" : "", s ? s : "", s ? "'?" : "", allowed);
            return 0;
        }
        *(int *)field = i;
        return 1;
    }
    case DP_OPT_FLAGS: {
        unsigned bits = 0;
        const char *p = v;
        for (;;) {
            while (isspace((unsigned char)*p))
                p++;
            const char *e = p;
            while (*e && *e != ',')
                e++;
            const char *we = e;
            while (we > p && isspace((unsigned char)we[-1]))
                we--;
            int i = dp_opts_word_index(o->allowed, p, (size_t)(we - p));
            if (i < 0) {
                char word[64];
                snprintf(word, sizeof word, "%.*s", (int)(we - p), p);
                const char *s = dp_opts_suggest(word, o->allowed);
                list_commas(o->allowed, allowed, sizeof allowed);
                dp_diag_add(diag, where, section, o->key,
                            "unknown value '%s'%s%s%s (allowed: comma-separated %s)", word,
                            s ? ", did you mean '" : "", s ? s : "", s ? "'?" : "", allowed);
                return 0;
            }
            if (bits & (1u << i)) {
                dp_diag_add(diag, where, section, o->key, "'%.*s' is listed twice", (int)(we - p),
                            p);
                return 0;
            }
            bits |= 1u << i;
            if (!*e)
                break;
            p = e + 1;
        }
        *(unsigned *)field = bits;
        return 1;
    }
    case DP_OPT_REALS:
        return parse_reals(o, section, v, where, (dp_reals_t *)field, diag);
    case DP_OPT_SHAPE: {
        const char *why = NULL;
        if (!dp_shape_parse(v, (dp_shape_t *)field, &why)) {
            dp_diag_add(diag, where, section, o->key, "'%.64s': %s", v, why);
            return 0;
        }
        return 1;
    }
    case DP_OPT_NAMED: /* many keys: parse_named() */
        break;
    }
    return 0;
}

/* Whether key is the key of a row of table other than a DP_OPT_NAMED one. */
static int table_has(const dp_opt_t *table, const char *key)
{
    for (const dp_opt_t *o = table; o->key; o++)
        if (o->type != DP_OPT_NAMED && !strcmp(o->key, key))
            return 1;
    return 0;
}

/* A DP_OPT_NAMED row: every key of the section that no other row of table names. */
static void parse_named(const dp_opt_t *table, const dp_opt_t *o, const char *section,
                        dp_ini_t *ini, void *dst, dp_diag_t *diag)
{
    dp_named_t *out = (dp_named_t *)((char *)dst + o->offset);
    out->n = 0;
    for (size_t i = 0; i < ini->n; i++) {
        dp_ini_entry_t *e = &ini->e[i];
        if (strcmp(e->section, section) || table_has(table, e->key))
            continue;
        e->used = 1;
        const char *k = e->key;
        size_t len = strlen(k), j = 0;
        if (isalpha((unsigned char)k[0]) || k[0] == '_')
            while (j < len && (isalnum((unsigned char)k[j]) || k[j] == '_'))
                j++;
        dp_opt_t row = *o;
        row.key = k;
        if (!len || j < len || len >= DP_NAME_MAX) {
            dp_diag_add(diag, e->where, section, k,
                        "not a name (a letter or '_', then letters, digits, '_'; at most %d)",
                        DP_NAME_MAX - 1);
        } else if (out->n == DP_MAX_NAMED) {
            dp_diag_add(diag, e->where, section, k, "more than %d named values", DP_MAX_NAMED);
        } else if (parse_real(&row, section, e->value, e->where, &out->v[out->n], diag)) {
            memcpy(out->name[out->n], k, len + 1);
            out->n++;
        }
    }
}

int dp_opts_parse(const dp_opt_t *table, const char *section, dp_ini_t *ini, void *dst,
                  dp_diag_t *diag)
{
    size_t before = diag->n;
    for (const dp_opt_t *o = table; o->key; o++) {
        if (o->type == DP_OPT_NAMED) {
            parse_named(table, o, section, ini, dst, diag);
            continue;
        }
        dp_ini_entry_t *e = dp_ini_find(ini, section, o->key);
        if (e) {
            e->used = 1;
            parse_value(o, section, e->value, e->where, dst, diag);
        } else if (o->required && !ini->bad_lines) { /* else it may be on a refused line */
            dp_diag_add(diag, dp_opts_where(ini, section, NULL), section, o->key,
                        "missing (required: %s)", o->help);
        } else if (o->def) {
            dp_where_t w = {.file = ini->file, .line = 0, .set = NULL};
            parse_value(o, section, o->def, w, dst, diag);
        }
    }
    return (int)(diag->n - before);
}

int dp_opts_parse_as(const dp_opt_t *table, const char *key, const char *section,
                     const char *as_key, const char *value, dp_where_t where, void *dst,
                     dp_diag_t *diag)
{
    size_t before = diag->n;
    for (const dp_opt_t *o = table; o->key; o++)
        if (!strcmp(o->key, key)) {
            dp_opt_t row = *o;
            row.key = as_key;
            parse_value(&row, section, value, where, dst, diag);
        }
    return (int)(diag->n - before);
}

void dp_opts_free(const dp_opt_t *table, void *dst)
{
    for (const dp_opt_t *o = table; o->key; o++)
        if (o->type == DP_OPT_STRING) {
            char **s = (char **)((char *)dst + o->offset);
            free(*s);
            *s = NULL;
        }
}

dp_where_t dp_opts_where(const dp_ini_t *ini, const char *section, const char *key)
{
    if (key) {
        const dp_ini_entry_t *e = dp_ini_find(ini, section, key);
        if (e)
            return e->where;
    }
    const dp_ini_section_t *s = dp_ini_section(ini, section);
    if (s)
        return s->where;
    return (dp_where_t){.file = ini->file, .line = 0, .set = NULL};
}

int dp_opts_given(const dp_ini_t *ini, const char *section, const char *key)
{
    return dp_ini_find(ini, section, key) != NULL;
}

static const char *type_name(dp_opt_type_t t)
{
    switch (t) {
    case DP_OPT_STRING:
        return "text";
    case DP_OPT_INT:
        return "integer";
    case DP_OPT_REAL:
        return "number";
    case DP_OPT_BOOL:
        return "boolean";
    case DP_OPT_CHOICE:
        return "one of";
    case DP_OPT_FLAGS:
        return "list of";
    case DP_OPT_SHAPE:
        return "extents";
    case DP_OPT_REALS:
        return "numbers";
    case DP_OPT_NAMED:
        return "number";
    }
    return "?";
}

/* The allowed values of a row, in words. */
static void allowed_text(const dp_opt_t *o, char *allowed, size_t size)
{
    allowed[0] = '\0';
    if (o->allowed)
        list_commas(o->allowed, allowed, size);
    else if (o->type == DP_OPT_INT)
        snprintf(allowed, size, "%.0f to %.0f", o->min, o->max);
    else if (o->type == DP_OPT_REAL)
        snprintf(allowed, size, "%g to %g", o->min, o->max);
    else if (o->type == DP_OPT_REALS)
        snprintf(allowed, size, "comma-separated, each %g to %g", o->min, o->max);
    else if (o->type == DP_OPT_BOOL)
        snprintf(allowed, size, "true, false");
    else if (o->type == DP_OPT_SHAPE)
        snprintf(allowed, size, "1 to 3 positive integers, e.g. 400,300");
    else if (o->type == DP_OPT_NAMED)
        snprintf(allowed, size, "any other key: a name, %g to %g", o->min, o->max);
}

void dp_opts_print_markdown(const dp_opt_t *table, FILE *f)
{
    fprintf(f, "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for (const dp_opt_t *o = table; o->key; o++) {
        char allowed[512];
        allowed_text(o, allowed, sizeof allowed);
        fprintf(f, "| `%s` | %s | %s | %s | %s |\n", o->key, type_name(o->type),
                o->required ? "required" : (o->def ? o->def : "none"), allowed, o->help);
    }
}

void dp_opts_print_troff(const char *text, FILE *f)
{
    int bol = 1;
    for (const char *p = text; *p; p++) {
        if (bol && (*p == '.' || *p == '\''))
            fputs("\\&", f);
        if (*p == '\\')
            fputs("\\e", f);
        else if (*p == '-')
            fputs("\\-", f);
        else
            fputc(*p, f);
        bol = *p == '\n';
    }
}

void dp_opts_print_man(const dp_opt_t *table, FILE *f)
{
    for (const dp_opt_t *o = table; o->key; o++) {
        char allowed[512], head[1024];
        allowed_text(o, allowed, sizeof allowed);
        snprintf(
            head, sizeof head, "%s%s%s; %s%s", type_name(o->type), allowed[0] ? ": " : "", allowed,
            o->required ? "required" : "default: ", o->required ? "" : (o->def ? o->def : "none"));
        fputs(".TP\n\\fB", f);
        dp_opts_print_troff(o->key, f);
        fputs("\\fR \\(em ", f);
        dp_opts_print_troff(head, f);
        fputs("\n", f);
        dp_opts_print_troff(o->help, f);
        fputs("\n", f);
    }
}
