#include "diag.h"

#include "err.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void dp_diag_add(dp_diag_t *d, dp_where_t where, const char *section, const char *key,
                 const char *fmt, ...)
{
    char what[768], place[512], head[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (where.set)
        snprintf(place, sizeof place, "--set %s", where.set);
    else if (where.line > 0 && where.col > 0)
        snprintf(place, sizeof place, "%s:%d:%d", where.file, where.line, where.col);
    else if (where.line > 0)
        snprintf(place, sizeof place, "%s:%d", where.file, where.line);
    else
        snprintf(place, sizeof place, "%s", where.file);
    /* names are cut to 64 bytes (with "...") so that the form "[section] key:" survives */
    const char *sdots = section && strlen(section) > 64 ? "..." : "";
    const char *kdots = key && strlen(key) > 64 ? "..." : "";
    if (section && key)
        snprintf(head, sizeof head, " [%.64s%s] %.64s%s:", section, sdots, key, kdots);
    else if (section)
        snprintf(head, sizeof head, " [%.64s%s]:", section, sdots);
    else
        head[0] = '\0';
    size_t len = strlen(place) + strlen(head) + strlen(what) + 4;
    char *msg = dp_xmalloc(len);
    snprintf(msg, len, "%s:%s %s", place, head, what);
    dp_diag_add_text(d, where.set ? 0 : where.line, msg);
    free(msg);
}

void dp_diag_add_text(dp_diag_t *d, int line, const char *text)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 8;
        d->msg = dp_xrealloc(d->msg, d->cap * sizeof *d->msg);
        d->line = dp_xrealloc(d->line, d->cap * sizeof *d->line);
    }
    d->line[d->n] = line;
    d->msg[d->n] = dp_xstrdup(text);
    d->n++;
}

/* Messages of job-file lines by line, then the others; equal keys in the order found. */
static int by_line(const void *a, const void *b)
{
    const long long *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

void dp_diag_print(const dp_diag_t *d, FILE *f)
{
    long long(*key)[2] = dp_xmalloc((d->n ? d->n : 1) * sizeof *key);
    for (size_t i = 0; i < d->n; i++) {
        key[i][0] = d->line[i] > 0 ? d->line[i] : LLONG_MAX;
        key[i][1] = (long long)i;
    }
    qsort(key, d->n, sizeof *key, by_line);
    for (size_t i = 0; i < d->n; i++)
        fprintf(f, "%s\n", d->msg[key[i][1]]);
    free(key);
}

void dp_diag_free(dp_diag_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->msg[i]);
    free(d->msg);
    free(d->line);
    d->msg = NULL;
    d->line = NULL;
    d->n = d->cap = 0;
}
