#include "csv.h"

#include <stdlib.h>
#include <string.h>

static void *grow(void *p, size_t bytes)
{
    void *q = realloc(p, bytes);
    if (!q)
        abort(); /* parser scratch: a few records' worth, out of memory is not recoverable */
    return q;
}

void dp_csv_machine(dp_csv_machine_t *m, char delim)
{
    unsigned char rep[5] = {0}; /* a byte of each class: the automaton treats a class alike */
    m->delim = delim;
    for (int c = 255; c >= 0; c--) {
        m->cls[c] = c == '"'                    ? 0
                    : c == (unsigned char)delim ? 1
                    : c == '\n'                 ? 2
                    : c == '\r'                 ? 3
                                                : 4;
        rep[m->cls[c]] = (unsigned char)c;
    }
    for (int k = 0; k < 5; k++)
        for (int v = 0; v < 256; v++) {
            int out = 0;
            for (int s = 0; s < 4; s++)
                out |= dp_csv_step(dp_csv_apply((uint8_t)v, s), rep[k], delim) << (2 * s);
            m->next[k][v] = (uint8_t)out;
        }
}

uint8_t dp_csv_run(const dp_csv_machine_t *m, const char *p, size_t n, uint8_t v, int64_t *newlines)
{
    int64_t nl = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t k = m->cls[(unsigned char)p[i]];
        nl += k == 2;
        v = m->next[k][v];
    }
    *newlines += nl;
    return v;
}

/* The end of the record that starts at p[s]: the index after its terminating newline, or n;
 * counts its newlines. */
static size_t record_end(const char *p, size_t n, size_t s, char delim, int64_t *newlines)
{
    int state = DP_CSV_FIELD;
    int64_t nl = 0;
    for (size_t i = s; i < n; i++) {
        if (p[i] == '\n') {
            nl++;
            if (state != DP_CSV_QUOTED) {
                *newlines = nl;
                return i + 1;
            }
        }
        state = dp_csv_step(state, (unsigned char)p[i], delim);
    }
    *newlines = nl;
    return n;
}

static void add_field(dp_csv_t *c, const char *f, size_t len)
{
    if (c->nfields == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->field = grow(c->field, (size_t)c->cap * sizeof *c->field);
        c->len = grow(c->len, (size_t)c->cap * sizeof *c->len);
    }
    c->field[c->nfields] = f;
    c->len[c->nfields] = len;
    c->nfields++;
}

dp_csv_kind_t dp_csv_record(dp_csv_t *c, const char *p, size_t n, size_t *pos, char delim)
{
    const size_t s = *pos;
    size_t e = record_end(p, n, s, delim, &c->newlines);
    *pos = e;
    if (e > s && p[e - 1] == '\n')
        e--;
    if (e > s && p[e - 1] == '\r')
        e--;
    c->nfields = 0;
    c->why = NULL;
    if (e == s)
        return DP_CSV_BLANK;
    if (c->bufcap < e - s) {
        c->bufcap = 2 * (e - s);
        c->buf = grow(c->buf, c->bufcap);
    }
    size_t used = 0; /* bytes of buf taken by earlier fields of this record */
    size_t i = s;
    for (;;) {
        if (i < e && p[i] == '"') {
            const size_t start = ++i;
            char *out = c->buf + used;
            size_t len = 0;
            int copied = 0;
            for (;;) {
                if (i >= e) {
                    c->why = "a quoted field is not closed";
                    return DP_CSV_BAD;
                }
                if (p[i] == '"') {
                    if (i + 1 < e && p[i + 1] == '"') {
                        if (!copied) { /* first doubled quote: copy what came before it */
                            memcpy(out, p + start, i - start);
                            len = i - start;
                            copied = 1;
                        }
                        out[len++] = '"';
                        i += 2;
                        continue;
                    }
                    break;
                }
                if (copied)
                    out[len++] = p[i];
                i++;
            }
            if (copied) {
                add_field(c, out, len);
                used += len;
            } else {
                add_field(c, p + start, i - start);
            }
            i++; /* the closing quote */
            if (i < e && p[i] != delim) {
                c->why = "text after the closing quote of a field";
                return DP_CSV_BAD;
            }
        } else {
            const size_t start = i;
            while (i < e && p[i] != delim) {
                if (p[i] == '"') {
                    c->why = "a quote inside a field that is not quoted";
                    return DP_CSV_BAD;
                }
                i++;
            }
            add_field(c, p + start, i - start);
        }
        if (i >= e)
            return DP_CSV_ROW;
        i++; /* the delimiter */
        if (i == e) {
            add_field(c, p + e, 0); /* a trailing delimiter: one more, empty field */
            return DP_CSV_ROW;
        }
    }
}

void dp_csv_free(dp_csv_t *c)
{
    free(c->field);
    free(c->len);
    free(c->buf);
    *c = (dp_csv_t){0};
}
