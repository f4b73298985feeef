#include "trace_svg.h"

#include "err.h"
#include "publish.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The phases dproc writes, each with its colour; any other name gets other_colour. */
static const struct {
    const char *name, *colour;
} known[] = {
    {"setup", "#8c8c8c"},      {"read", "#1f77b4"},        {"read wait", "#aec7e8"},
    {"read issue", "#17456b"}, {"write issue", "#7f1414"}, {"compute", "#2ca02c"},
    {"halo", "#ff7f0e"},       {"halo wait", "#ffbb78"},   {"reduce", "#9467bd"},
    {"shuffle", "#8c564b"},    {"write", "#d62728"},       {"write wait", "#ff9896"},
    {"checkpoint", "#e377c2"}, {"preview", "#17becf"},
};
enum { NKNOWN = sizeof known / sizeof known[0] };
static const double MAX_US = 1e15;
static const char other_colour[] = "#bcbd22";

/* The names of lanes without a thread_name record, by tid. */
static const char *const default_lanes[] = {"main", "reads in flight", "halo in flight",
                                            "writes in flight"};

/* Drawing, in SVG pixels. GAP: consecutive events of a phase closer than this are one run;
 * TINY: events shorter than this inside a drawn rect are left out. */
#define GAP 0.5
#define TINY 0.2
enum {
    WIDTH = 1200,
    LEFT = 170,
    RIGHT = 30,
    PLOT_W = WIDTH - LEFT - RIGHT,
    HEADER_H = 18,
    LANE_H = 14,
    RANK_GAP = 6,
    LEGEND_ROW = 18,
    MAX_DECLARED_RANKS = 1 << 20,
};

typedef struct {
    double t0, t1; /* microseconds */
    int phase;     /* < NKNOWN: known[phase]; otherwise other[phase - NKNOWN] */
    int pid, tid, lane;
} event_t;

typedef struct {
    int pid, tid; /* tid -1: the process (rank) name */
    char *name;
} name_t;

typedef struct {
    int pid, tid;
} lane_t;

typedef struct {
    const char *text, *end; /* the file */
    event_t *ev;
    size_t nev, evcap;
    char **other; /* names of phases not in known[] */
    int nother;
    int present[NKNOWN];
    name_t *names;
    size_t nnames, namecap;
    lane_t *lanes;
    size_t nlanes;
    int *ranks;
    size_t nranks;
    int declared_ranks, threads;
    char *job, *version, *host, *start, *status;
    double tmin, tmax;
} trace_t;

static void trace_free(trace_t *t)
{
    free(t->ev);
    for (int i = 0; i < t->nother; i++)
        free(t->other[i]);
    free(t->other);
    for (size_t i = 0; i < t->nnames; i++)
        free(t->names[i].name);
    free(t->names);
    free(t->lanes);
    free(t->ranks);
    free(t->job);
    free(t->version);
    free(t->host);
    free(t->start);
    free(t->status);
}

/* The line number of position p of the file. */
static int line_of(const trace_t *t, const char *p)
{
    int line = 1;
    for (const char *q = t->text; q < p && q < t->end; q++)
        line += *q == '\n';
    return line;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at an opening quote: the position after the closing one, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* The end of the JSON value starting at p (its syntax is checked by cJSON later), or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *q = p;
    while (q < end && !strchr(",}] \t\r\n", *q))
        q++;
    return q > p ? q : NULL;
}

/* A whole number from 0 to INT_MAX at key of o, into *out; 0 when absent or not one. */
static int int_field(const cJSON *o, const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > INT_MAX ||
        v->valuedouble != floor(v->valuedouble))
        return 0;
    *out = (int)v->valuedouble;
    return 1;
}

static const char *string_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_field(const cJSON *o, const char *key)
{
    const char *s = string_field(o, key);
    return s ? dp_xstrdup(s) : NULL;
}

static int phase_of(trace_t *t, const char *name)
{
    for (int i = 0; i < NKNOWN; i++)
        if (!strcmp(known[i].name, name)) {
            t->present[i] = 1;
            return i;
        }
    for (int i = 0; i < t->nother; i++)
        if (!strcmp(t->other[i], name))
            return NKNOWN + i;
    t->other = dp_xrealloc(t->other, (size_t)(t->nother + 1) * sizeof *t->other);
    t->other[t->nother] = dp_xstrdup(name);
    return NKNOWN + t->nother++;
}

static void set_name(trace_t *t, int pid, int tid, const char *name)
{
    for (size_t i = 0; i < t->nnames; i++)
        if (t->names[i].pid == pid && t->names[i].tid == tid) {
            free(t->names[i].name);
            t->names[i].name = dp_xstrdup(name);
            return;
        }
    if (t->nnames == t->namecap) {
        t->namecap = t->namecap ? 2 * t->namecap : 16;
        t->names = dp_xrealloc(t->names, t->namecap * sizeof *t->names);
    }
    t->names[t->nnames++] = (name_t){pid, tid, dp_xstrdup(name)};
}

static const char *name_of(const trace_t *t, int pid, int tid)
{
    for (size_t i = 0; i < t->nnames; i++)
        if (t->names[i].pid == pid && t->names[i].tid == tid)
            return t->names[i].name;
    return NULL;
}

/* One element of traceEvents: "X" events are kept, process and thread names noted, anything
 * else ignored. 0, or -1 for an "X" event without what it needs. */
static int take_event(trace_t *t, const cJSON *e, const char *at, char *err, size_t errsz)
{
    const char *ph = string_field(e, "ph"), *name = string_field(e, "name");
    if (!ph || !name)
        return 0;
    int pid, tid = 0;
    if (!strcmp(ph, "M")) {
        const char *value = string_field(cJSON_GetObjectItemCaseSensitive(e, "args"), "name");
        if (!value || !int_field(e, "pid", &pid))
            return 0;
        if (!strcmp(name, "process_name"))
            set_name(t, pid, -1, value);
        else if (!strcmp(name, "thread_name") && int_field(e, "tid", &tid))
            set_name(t, pid, tid, value);
        return 0;
    }
    if (strcmp(ph, "X"))
        return 0;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(e, "ts");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(e, "dur");
    const int has_tid = cJSON_GetObjectItemCaseSensitive(e, "tid") != NULL;
    /* within 10^15 us (31 years) of 0, so that sums and differences of times stay finite */
    if (!cJSON_IsNumber(ts) || !cJSON_IsNumber(dur) || !(fabs(ts->valuedouble) <= MAX_US) ||
        !(dur->valuedouble >= 0 && dur->valuedouble <= MAX_US) || !int_field(e, "pid", &pid) ||
        (has_tid && !int_field(e, "tid", &tid))) {
        snprintf(err, errsz,
                 "line %d: the \"X\" event \"%.64s\" needs a number ts within +-1e15 us, a "
                 "dur from 0 to 1e15 us, a whole-number pid and (if given) tid",
                 line_of(t, at), name);
        return -1;
    }
    if (t->nev == t->evcap) {
        t->evcap = t->evcap ? 2 * t->evcap : 1024;
        t->ev = dp_xrealloc(t->ev, t->evcap * sizeof *t->ev);
    }
    t->ev[t->nev++] = (event_t){.t0 = ts->valuedouble,
                                .t1 = ts->valuedouble + dur->valuedouble,
                                .phase = phase_of(t, name),
                                .pid = pid,
                                .tid = tid};
    return 0;
}

/* Parses traceEvents' array at *pp one element at a time. */
static int take_events(trace_t *t, const char **pp, char *err, size_t errsz)
{
    const char *p = skip_ws(*pp, t->end);
    if (p >= t->end || *p != '[') {
        snprintf(err, errsz, "line %d: traceEvents is not an array", line_of(t, p));
        return -1;
    }
    p = skip_ws(p + 1, t->end);
    if (p < t->end && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        const char *q = skip_value(p, t->end);
        cJSON *e = q ? cJSON_ParseWithLength(p, (size_t)(q - p)) : NULL;
        if (!cJSON_IsObject(e)) {
            cJSON_Delete(e);
            snprintf(err, errsz, "line %d: a trace event that is not a JSON object", line_of(t, p));
            return -1;
        }
        const int st = take_event(t, e, p, err, errsz);
        cJSON_Delete(e);
        if (st)
            return st;
        p = skip_ws(q, t->end);
        if (p < t->end && *p == ',') {
            p = skip_ws(p + 1, t->end);
            continue;
        }
        if (p < t->end && *p == ']') {
            *pp = p + 1;
            return 0;
        }
        snprintf(err, errsz, "line %d: expected ',' or ']' in traceEvents", line_of(t, p));
        return -1;
    }
}

static void take_other_data(trace_t *t, const cJSON *o)
{
    t->job = dup_field(o, "job");
    t->version = dup_field(o, "dproc_version");
    t->host = dup_field(o, "host");
    t->start = dup_field(o, "start_time");
    t->status = dup_field(o, "status");
    if (!int_field(o, "ranks", &t->declared_ranks) || t->declared_ranks > MAX_DECLARED_RANKS)
        t->declared_ranks = 0;
    if (!int_field(o, "threads", &t->threads))
        t->threads = 0;
}

/* The top-level object: traceEvents, otherData; other members are skipped. */
static int parse(trace_t *t, char *err, size_t errsz)
{
    const char *p = skip_ws(t->text, t->end);
    int seen_events = 0;
    if (p >= t->end || *p != '{') {
        snprintf(err, errsz, "not a JSON object (a Chrome trace starts with '{')");
        return -1;
    }
    p = skip_ws(p + 1, t->end);
    while (p < t->end && *p != '}') {
        const char *key = p + 1, *q = *p == '"' ? skip_string(p, t->end) : NULL;
        const char *colon = q ? skip_ws(q, t->end) : NULL;
        if (!colon || colon >= t->end || *colon != ':') {
            snprintf(err, errsz, "line %d: expected a member name and ':'", line_of(t, p));
            return -1;
        }
        const size_t klen = (size_t)(q - 1 - key);
        p = skip_ws(colon + 1, t->end);
        if (klen == 11 && !strncmp(key, "traceEvents", klen)) {
            if (take_events(t, &p, err, errsz))
                return -1;
            seen_events = 1;
        } else {
            const char *v = skip_value(p, t->end);
            if (!v) {
                snprintf(err, errsz, "line %d: a value that does not end", line_of(t, p));
                return -1;
            }
            if (klen == 9 && !strncmp(key, "otherData", klen)) {
                cJSON *o = cJSON_ParseWithLength(p, (size_t)(v - p));
                if (!cJSON_IsObject(o)) {
                    cJSON_Delete(o);
                    snprintf(err, errsz, "line %d: otherData is not a JSON object", line_of(t, p));
                    return -1;
                }
                take_other_data(t, o);
                cJSON_Delete(o);
            }
            p = v;
        }
        p = skip_ws(p, t->end);
        if (p < t->end && *p == ',')
            p = skip_ws(p + 1, t->end);
        else if (p >= t->end || *p != '}') {
            snprintf(err, errsz, "line %d: expected ',' or '}'", line_of(t, p));
            return -1;
        }
    }
    if (p >= t->end) {
        snprintf(err, errsz, "the JSON text ends early");
        return -1;
    }
    if (!seen_events) {
        snprintf(err, errsz, "no traceEvents array: not a Chrome trace");
        return -1;
    }
    return 0;
}

static int cmp_lane(const void *a, const void *b)
{
    const lane_t *x = a, *y = b;
    return x->pid != y->pid ? (x->pid > y->pid) - (x->pid < y->pid)
                            : (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_int(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* By lane, then start, longer first. */
static int cmp_event(const void *a, const void *b)
{
    const event_t *x = a, *y = b;
    if (x->lane != y->lane)
        return (x->lane > y->lane) - (x->lane < y->lane);
    if (x->t0 != y->t0)
        return (x->t0 > y->t0) - (x->t0 < y->t0);
    return (x->t1 < y->t1) - (x->t1 > y->t1);
}

/* Lanes and ranks from the events and the names, events sorted by lane, the time span. */
static void organise(trace_t *t)
{
    t->lanes = dp_xmalloc(t->nev * sizeof *t->lanes);
    for (size_t i = 0; i < t->nev; i++)
        t->lanes[i] = (lane_t){t->ev[i].pid, t->ev[i].tid};
    qsort(t->lanes, t->nev, sizeof *t->lanes, cmp_lane);
    for (size_t i = 0; i < t->nev; i++)
        if (t->nlanes == 0 || cmp_lane(&t->lanes[t->nlanes - 1], &t->lanes[i]))
            t->lanes[t->nlanes++] = t->lanes[i];
    t->tmin = 0;
    t->tmax = t->ev[0].t1;
    for (size_t i = 0; i < t->nev; i++) {
        const lane_t key = {t->ev[i].pid, t->ev[i].tid};
        const lane_t *l = bsearch(&key, t->lanes, t->nlanes, sizeof *t->lanes, cmp_lane);
        t->ev[i].lane = (int)(l - t->lanes);
        t->tmin = t->ev[i].t0 < t->tmin ? t->ev[i].t0 : t->tmin;
        t->tmax = t->ev[i].t1 > t->tmax ? t->ev[i].t1 : t->tmax;
    }
    if (!(t->tmax > t->tmin))
        t->tmax = t->tmin + 1;
    qsort(t->ev, t->nev, sizeof *t->ev, cmp_event);

    size_t n = t->nlanes + (size_t)t->declared_ranks;
    for (size_t i = 0; i < t->nnames; i++)
        n += t->names[i].tid == -1;
    t->ranks = dp_xmalloc((n ? n : 1) * sizeof *t->ranks);
    for (size_t i = 0; i < t->nlanes; i++)
        t->ranks[t->nranks++] = t->lanes[i].pid;
    for (int r = 0; r < t->declared_ranks; r++)
        t->ranks[t->nranks++] = r;
    for (size_t i = 0; i < t->nnames; i++)
        if (t->names[i].tid == -1)
            t->ranks[t->nranks++] = t->names[i].pid;
    qsort(t->ranks, t->nranks, sizeof *t->ranks, cmp_int);
    size_t u = 0;
    for (size_t i = 0; i < t->nranks; i++)
        if (u == 0 || t->ranks[u - 1] != t->ranks[i])
            t->ranks[u++] = t->ranks[i];
    t->nranks = u;
}

/* Writes s as XML character data: markup characters escaped, control characters and bytes
 * that are not UTF-8 as '?'. */
static void xml_text(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char c = *p;
        int len = c < 0x80             ? 1
                  : (c & 0xE0) == 0xC0 ? 2
                  : (c & 0xF0) == 0xE0 ? 3
                  : (c & 0xF8) == 0xF0 ? 4
                                       : 0;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                len = 0;
        if (len == 0 || (len == 1 && c < 0x20 && c != '\t')) {
            fputc('?', f);
            p++;
        } else if (len > 1) {
            fwrite(p, 1, (size_t)len, f);
            p += len;
        } else {
            switch (c) {
            case '&':
                fputs("&amp;", f);
                break;
            case '<':
                fputs("&lt;", f);
                break;
            case '>':
                fputs("&gt;", f);
                break;
            case '"':
                fputs("&quot;", f);
                break;
            case '\'':
                fputs("&apos;", f);
                break;
            default:
                fputc(c, f);
            }
            p++;
        }
    }
}

static const char *phase_name(const trace_t *t, int phase)
{
    return phase < NKNOWN ? known[phase].name : t->other[phase - NKNOWN];
}

static void phase_class(char *buf, size_t size, int phase)
{
    if (phase < NKNOWN)
        snprintf(buf, size, "p%d", phase);
    else
        snprintf(buf, size, "pu");
}

/* The unit of the time axis: ms, or s for runs of a second or more. */
typedef struct {
    const char *name;
    double div; /* microseconds per unit */
    int decimals;
} unit_t;

static double xpos(const trace_t *t, double us)
{
    return LEFT + (us - t->tmin) / (t->tmax - t->tmin) * PLOT_W;
}

/* A run of events drawn as one rect. */
typedef struct {
    int phase;
    double x0, x1, t0, t1, busy;
    long n, hidden;
} run_t;

/* What is narrower than a pixel, summed per pixel column of the plot. */
typedef struct {
    int nphases;
    double *weight;      /* [column * nphases + phase]: busy time there, microseconds */
    long *count;         /* events per column (of the runs that start there) */
    unsigned char *used; /* the column holds something */
    double *t0, *t1;     /* the first start and the last end per column */
    double *share;       /* per phase: the sums over a run of columns */
    int lo, hi;          /* the columns holding something: [lo, hi) */
} bins_t;

static void put_time(FILE *f, const unit_t *u, double us)
{
    fprintf(f, "%.*f", u->decimals, us / u->div);
}

static int column(double x)
{
    const double c = floor(x - LEFT);
    return c < 0 ? 0 : c >= PLOT_W ? PLOT_W - 1 : (int)c;
}

/* A rect for a run at least a pixel wide. */
static void emit(FILE *f, const trace_t *t, const run_t *r, int y, const unit_t *u)
{
    char cls[16];
    phase_class(cls, sizeof cls, r->phase);
    fprintf(f, "<rect class=\"%s\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\"><title>", cls,
            r->x0, y, r->x1 - r->x0, LANE_H - 4);
    xml_text(f, phase_name(t, r->phase));
    if (r->n > 1)
        fprintf(f, " x%ld", r->n);
    fprintf(f, ": ");
    put_time(f, u, r->t0);
    fprintf(f, " to ");
    put_time(f, u, r->t1);
    fprintf(f, " %s", u->name);
    if (r->n > 1) {
        fprintf(f, ", busy ");
        put_time(f, u, r->busy);
        fprintf(f, " %s", u->name);
    }
    if (r->hidden)
        fprintf(f, "; %ld shorter event%s of other phases not drawn", r->hidden,
                r->hidden == 1 ? "" : "s");
    fprintf(f, "</title></rect>\n");
}

/* Adds a run narrower than a pixel to the columns it overlaps, its time shared between them
 * by overlap (events of no duration weigh a little, so that they still count). */
static void bin_run(bins_t *b, const run_t *r)
{
    const int c0 = column(r->x0), c1 = column(r->x1);
    const double busy = r->busy + 1e-9 * (double)r->n, span = r->x1 - r->x0;
    for (int c = c0; c <= c1; c++) {
        const double lo = r->x0 > LEFT + c ? r->x0 : LEFT + c;
        const double hi = r->x1 < LEFT + c + 1 ? r->x1 : LEFT + c + 1;
        const double part = c0 == c1 || span <= 0 ? 1 : (hi > lo ? hi - lo : 0) / span;
        if (c > c0 && part <= 0)
            continue;
        b->weight[(size_t)c * (size_t)b->nphases + (size_t)r->phase] += busy * part;
        if (!b->used[c] || r->t0 < b->t0[c])
            b->t0[c] = r->t0;
        if (!b->used[c] || r->t1 > b->t1[c])
            b->t1[c] = r->t1;
        b->used[c] = 1;
    }
    b->count[c0] += r->n;
    b->lo = c0 < b->lo ? c0 : b->lo;
    b->hi = c1 + 1 > b->hi ? c1 + 1 : b->hi;
}

/* The phase with the most time in column c. */
static int dominant(const bins_t *b, int c)
{
    const double *w = b->weight + (size_t)c * (size_t)b->nphases;
    int best = 0;
    for (int p = 1; p < b->nphases; p++)
        best = w[p] > w[best] ? p : best;
    return best;
}

/* Rects for the columns that hold something: runs of columns with the same dominant phase, in
 * its colour, their titles giving each phase's share of the time. Empties the bins. */
static void emit_bins(FILE *f, const trace_t *t, bins_t *b, int y, const unit_t *u)
{
    for (int c = b->lo; c < b->hi;) {
        if (!b->used[c]) {
            c++;
            continue;
        }
        const int ph = dominant(b, c);
        int e = c + 1;
        while (e < b->hi && b->used[e] && dominant(b, e) == ph)
            e++;
        long n = 0;
        double t0 = b->t0[c], t1 = b->t1[c], total = 0;
        memset(b->share, 0, (size_t)b->nphases * sizeof *b->share);
        for (int k = c; k < e; k++) {
            for (int p = 0; p < b->nphases; p++)
                b->share[p] += b->weight[(size_t)k * (size_t)b->nphases + (size_t)p];
            n += b->count[k];
            t0 = b->t0[k] < t0 ? b->t0[k] : t0;
            t1 = b->t1[k] > t1 ? b->t1[k] : t1;
        }
        for (int p = 0; p < b->nphases; p++)
            total += b->share[p];
        char cls[16];
        phase_class(cls, sizeof cls, ph);
        fprintf(f, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"><title>", cls,
                LEFT + c, y, e - c, LANE_H - 4);
        fprintf(f, "%ld event%s narrower than a pixel, ", n, n == 1 ? "" : "s");
        put_time(f, u, t0);
        fprintf(f, " to ");
        put_time(f, u, t1);
        fprintf(f, " %s:", u->name);
        for (int shown = 0; shown < 5; shown++) { /* the largest shares first */
            int p = 0;
            for (int q = 1; q < b->nphases; q++)
                p = b->share[q] > b->share[p] ? q : p;
            if (!(b->share[p] > 0.005 * total))
                break;
            fprintf(f, "%s ", shown ? "," : "");
            xml_text(f, phase_name(t, p));
            fprintf(f, " %.0f%%", 100 * b->share[p] / total);
            b->share[p] = -1;
        }
        fprintf(f, "</title></rect>\n");
        c = e;
    }
    const int from = b->lo < b->hi ? b->lo : 0, to = b->lo < b->hi ? b->hi : 0;
    memset(b->weight + (size_t)from * (size_t)b->nphases, 0,
           (size_t)(to - from) * (size_t)b->nphases * sizeof *b->weight);
    memset(b->count + from, 0, (size_t)(to - from) * sizeof *b->count);
    memset(b->used + from, 0, (size_t)(to - from));
    b->lo = PLOT_W;
    b->hi = 0;
}

/* Ends a run: a rect when it is a pixel wide or more, else into the bins. */
static void close_run(FILE *f, const trace_t *t, const run_t *r, bins_t *b, int y, const unit_t *u)
{
    if (r->x1 - r->x0 >= 1)
        emit(f, t, r, y, u);
    else
        bin_run(b, r);
}

/* The rects of the events of one lane, ev[0..n) (sorted by start). Consecutive events of a
 * phase less than GAP apart are one run; an event shorter than TINY inside the run being
 * drawn or inside the rect reaching furthest so far is left out; runs a pixel wide or more are
 * rects of their own, narrower ones are summed per pixel column (emit_bins). */
static void draw_lane(FILE *f, const trace_t *t, const event_t *ev, size_t n, int y,
                      const unit_t *u, bins_t *b)
{
    run_t r = {.phase = -1};
    double cover0 = 0, cover1 = -1; /* the drawn rect that reaches furthest */
    for (size_t i = 0; i < n; i++) {
        const double a = xpos(t, ev[i].t0), z = xpos(t, ev[i].t1);
        if (r.phase >= 0) {
            if (ev[i].phase == r.phase && a - r.x1 < GAP) {
                r.x1 = z > r.x1 ? z : r.x1;
                r.t1 = ev[i].t1 > r.t1 ? ev[i].t1 : r.t1;
                r.busy += ev[i].t1 - ev[i].t0;
                r.n++;
                continue;
            }
            if (z - a < TINY && a >= r.x0 && z <= r.x1) {
                r.hidden++;
                continue;
            }
            if (z - a < TINY && a >= cover0 && z <= cover1)
                continue;
            close_run(f, t, &r, b, y, u);
            if (r.x1 - r.x0 >= 1 && r.x1 > cover1) {
                cover0 = r.x0;
                cover1 = r.x1;
            }
        }
        r = (run_t){.phase = ev[i].phase,
                    .x0 = a,
                    .x1 = z,
                    .t0 = ev[i].t0,
                    .t1 = ev[i].t1,
                    .busy = ev[i].t1 - ev[i].t0,
                    .n = 1};
    }
    if (r.phase >= 0)
        close_run(f, t, &r, b, y, u);
    emit_bins(f, t, b, y, u);
}

static const char *lane_name(const trace_t *t, int pid, int tid, char *buf, size_t size)
{
    const char *name = name_of(t, pid, tid);
    if (name)
        return name;
    if (tid >= 0 && tid < (int)(sizeof default_lanes / sizeof *default_lanes))
        return default_lanes[tid];
    snprintf(buf, size, "lane %d", tid);
    return buf;
}

/* Lanes of rank pid: [*first, *last) of t->lanes. */
static void lanes_of(const trace_t *t, int pid, size_t *first, size_t *last)
{
    size_t i = 0;
    while (i < t->nlanes && t->lanes[i].pid < pid)
        i++;
    *first = i;
    while (i < t->nlanes && t->lanes[i].pid == pid)
        i++;
    *last = i;
}

static int rank_height(const trace_t *t, int pid)
{
    size_t a, b;
    lanes_of(t, pid, &a, &b);
    return HEADER_H + (int)(b > a ? b - a : 1) * LANE_H + RANK_GAP;
}

/* The title line: job, ranks x threads, total time. */
static void write_title(FILE *f, const trace_t *t, const unit_t *u)
{
    fprintf(f, "<text class=\"title\" x=\"8\" y=\"24\">");
    xml_text(f, t->job ? t->job : "dproc trace");
    const int ranks = t->declared_ranks ? t->declared_ranks : (int)t->nranks;
    fprintf(f, ": %d rank%s", ranks, ranks == 1 ? "" : "s");
    if (t->threads)
        fprintf(f, " x %d thread%s", t->threads, t->threads == 1 ? "" : "s");
    fprintf(f, ", total %.4g %s</text>\n", (t->tmax - t->tmin) / u->div, u->name);
    const char *parts[][2] = {
        {"dproc ", t->version}, {"host ", t->host}, {"started ", t->start}, {"status ", t->status}};
    int any = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i][1])
            continue;
        fprintf(f, "%s", any ? ", " : "<text class=\"subtitle\" x=\"8\" y=\"42\">");
        xml_text(f, parts[i][0]);
        xml_text(f, parts[i][1]);
        any = 1;
    }
    if (any)
        fprintf(f, "</text>\n");
}

/* Moves the legend's pen (*x, *y) to where the item for name goes, on a new row when it does
 * not fit on this one; returns the item's width. */
static int legend_place(const char *name, int *x, int *y)
{
    const int w = 16 + 7 * (int)strlen(name) + 16;
    if (*x > 8 && *x + w > WIDTH - 8) {
        *x = 8;
        *y += LEGEND_ROW;
    }
    return w;
}

/* Whether phase ph appears in the legend: known phases that occur, and every other one. */
static int in_legend(const trace_t *t, int ph)
{
    return ph >= NKNOWN || t->present[ph];
}

/* The legend from y0 on: known phases in their order, then others in the order they first
 * appear. Returns the y below it. */
static int write_legend(FILE *f, const trace_t *t, int y0)
{
    int x = 8, y = y0;
    if (f)
        fprintf(f, "<g class=\"legend\">\n");
    for (int ph = 0; ph < NKNOWN + t->nother; ph++) {
        if (!in_legend(t, ph))
            continue;
        const char *name = phase_name(t, ph);
        const int w = legend_place(name, &x, &y);
        if (f) {
            char cls[16];
            phase_class(cls, sizeof cls, ph);
            fprintf(f, "<g class=\"legend-item\" data-phase=\"");
            xml_text(f, name);
            fprintf(f, "\"><rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\"/>", cls,
                    x, y);
            fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 16, y + 10);
            xml_text(f, name);
            fprintf(f, "</text></g>\n");
        }
        x += w;
    }
    if (f)
        fprintf(f, "</g>\n");
    return y + LEGEND_ROW;
}

/* Tick step: 1, 2 or 5 times a power of ten, about eight ticks over span. */
static double tick_step(double span)
{
    const double raw = span / 8, mag = pow(10, floor(log10(raw))), norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
}

static void write_svg(FILE *f, const trace_t *t)
{
    const unit_t u = t->tmax - t->tmin >= 1e6 ? (unit_t){"s", 1e6, 4} : (unit_t){"ms", 1e3, 3};
    const int legend_y = t->version || t->host || t->start || t->status ? 54 : 36;
    int chart_h = 0;
    for (size_t r = 0; r < t->nranks; r++)
        chart_h += rank_height(t, t->ranks[r]);
    const int top = write_legend(NULL, t, legend_y) + 8, bottom = top + chart_h;
    const int height = bottom + 30;

    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n<style>\n"
            "text{font-size:11px;fill:#222}\n.title{font-size:15px;font-weight:bold}\n"
            ".rank-label{font-weight:bold}\n.lane-label{font-size:10px;fill:#555}\n"
            ".band{fill:#f3f3f3}\n.grid line{stroke:#ddd}\n.axis line{stroke:#333}\n"
            ".axis text{text-anchor:middle}\n",
            WIDTH, height, WIDTH, height);
    for (int i = 0; i < NKNOWN; i++)
        fprintf(f, ".p%d{fill:%s}\n", i, known[i].colour);
    fprintf(f, ".pu{fill:%s}\n</style>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            other_colour, WIDTH, height);
    write_title(f, t, &u);
    write_legend(f, t, legend_y);

    fprintf(f, "<g class=\"bands\">\n");
    int y = top;
    for (size_t r = 0; r < t->nranks; r++) {
        const int h = rank_height(t, t->ranks[r]);
        if (r % 2)
            fprintf(f, "<rect class=\"band\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
                    y - 2, WIDTH, h);
        y += h;
    }
    const double step = tick_step(t->tmax - t->tmin);
    fprintf(f, "</g>\n<g class=\"grid\">\n");
    for (double k = ceil(t->tmin / step); k * step <= t->tmax; k++)
        fprintf(f, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>\n", xpos(t, k * step), top,
                xpos(t, k * step), bottom);
    fprintf(f, "</g>\n");

    bins_t b = {.nphases = NKNOWN + t->nother, .lo = PLOT_W, .hi = 0};
    b.weight = dp_xcalloc((size_t)PLOT_W * (size_t)b.nphases, sizeof *b.weight);
    b.count = dp_xcalloc(PLOT_W, sizeof *b.count);
    b.used = dp_xcalloc(PLOT_W, 1);
    b.t0 = dp_xcalloc(PLOT_W, sizeof *b.t0);
    b.t1 = dp_xcalloc(PLOT_W, sizeof *b.t1);
    b.share = dp_xcalloc((size_t)b.nphases, sizeof *b.share);
    y = top;
    size_t e = 0;
    for (size_t r = 0; r < t->nranks; r++) {
        const int pid = t->ranks[r];
        const char *pname = name_of(t, pid, -1);
        fprintf(f,
                "<g class=\"rank\" data-rank=\"%d\">\n<text class=\"rank-label\" x=\"8\" "
                "y=\"%d\">",
                pid, y + 13);
        if (pname && !strncmp(pname, "rank ", 5))
            xml_text(f, pname);
        else {
            fprintf(f, "rank %d", pid);
            if (pname) {
                fprintf(f, " (");
                xml_text(f, pname);
                fprintf(f, ")");
            }
        }
        fprintf(f, "</text>\n");
        size_t first, last;
        lanes_of(t, pid, &first, &last);
        int ly = y + HEADER_H;
        for (size_t l = first; l < last; l++, ly += LANE_H) {
            char buf[32];
            fprintf(f,
                    "<g class=\"lane\" data-tid=\"%d\">\n<text class=\"lane-label\" x=\"20\" "
                    "y=\"%d\">",
                    t->lanes[l].tid, ly + 9);
            xml_text(f, lane_name(t, pid, t->lanes[l].tid, buf, sizeof buf));
            fprintf(f, "</text>\n");
            while (e < t->nev && t->ev[e].lane < (int)l)
                e++;
            size_t end = e;
            while (end < t->nev && t->ev[end].lane == (int)l)
                end++;
            draw_lane(f, t, t->ev + e, end - e, ly, &u, &b);
            e = end;
            fprintf(f, "</g>\n");
        }
        fprintf(f, "</g>\n");
        y += rank_height(t, pid);
    }
    free(b.weight);
    free(b.count);
    free(b.used);
    free(b.t0);
    free(b.t1);
    free(b.share);

    fprintf(f, "<g class=\"axis\">\n<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", LEFT,
            bottom, LEFT + PLOT_W, bottom);
    for (double k = ceil(t->tmin / step); k * step <= t->tmax; k++) {
        const double x0 = xpos(t, k * step);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>", x0, bottom, x0,
                bottom + 5);
        fprintf(f, "<text x=\"%.2f\" y=\"%d\">%g %s</text>\n", x0, bottom + 17, k * step / u.div,
                u.name);
    }
    fprintf(f, "</g>\n</svg>\n");
}

/* The whole file, NUL-terminated, or NULL with the reason in err. */
static char *read_all(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *bigger = realloc(buf, cap);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    const int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        snprintf(err, errsz, "cannot read '%s': %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int dp_trace_svg(const char *json_path, const char *svg_path, char *err, size_t errsz)
{
    size_t len;
    char *text = read_all(json_path, &len, err, errsz);
    if (!text)
        return 1;
    trace_t t = {.text = text, .end = text + len};
    char why[512];
    int st = parse(&t, why, sizeof why);
    if (st)
        snprintf(err, errsz, "'%s': %s", json_path, why);
    else if (t.nev == 0) {
        snprintf(err, errsz, "'%s' has no phase events (\"ph\":\"X\") to draw", json_path);
        st = -1;
    }
    char tmp[PATH_MAX];
    if (!st && strlen(svg_path) + 64 > sizeof tmp) {
        snprintf(err, errsz, "output path '%.64s...' is too long", svg_path);
        st = -1;
    }
    if (!st) {
        organise(&t);
        dp_publish_tmp_name(svg_path, (long long)getpid(), tmp, sizeof tmp);
        FILE *f = fopen(tmp, "w");
        if (!f) {
            snprintf(err, errsz, "cannot write '%s': %s", svg_path, strerror(errno));
            st = -1;
        } else {
            write_svg(f, &t);
            const int bad = ferror(f);
            if (fclose(f) != 0 || bad) {
                snprintf(err, errsz, "cannot write '%s': %s", svg_path, strerror(errno));
                unlink(tmp);
                st = -1;
            } else if (dp_publish(tmp, svg_path, 1) != DP_OK) {
                snprintf(err, errsz, "%s", dp_err_msg());
                unlink(tmp);
                st = -1;
            }
        }
    }
    trace_free(&t);
    free(text);
    return st ? 1 : 0;
}
