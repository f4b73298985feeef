#include "trace.h"

#include "comm.h"
#include "publish.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dp_trace_active;

typedef struct {
    double t0, t1;
    int32_t kind;
    int32_t pad;
} span_t;

/* Spans kept per rank at most (24 MiB); later ones are counted, not kept. */
enum { MAX_SPANS = 1 << 20, PINGS = 8, TAG = 7301 };

static const struct {
    const char *name;
    int lane;
} kinds[DP_TR_NKINDS] = {
    [DP_TR_SETUP] = {"setup", 0},
    [DP_TR_READ] = {"read", 0},
    [DP_TR_READ_ISSUE] = {"read issue", 0},
    [DP_TR_READ_FLIGHT] = {"read", 1},
    [DP_TR_READ_WAIT] = {"read wait", 0},
    [DP_TR_COMPUTE] = {"compute", 0},
    [DP_TR_HALO] = {"halo", 2},
    [DP_TR_HALO_WAIT] = {"halo wait", 0},
    [DP_TR_REDUCE] = {"reduce", 0},
    [DP_TR_SHUFFLE] = {"shuffle", 0},
    [DP_TR_WRITE] = {"write", 0},
    [DP_TR_WRITE_ISSUE] = {"write issue", 0},
    [DP_TR_WRITE_FLIGHT] = {"write", 3},
    [DP_TR_WRITE_WAIT] = {"write wait", 0},
    [DP_TR_CHECKPOINT] = {"checkpoint", 0},
    [DP_TR_PREVIEW] = {"preview", 0},
};
static const char *const lanes[] = {"main", "reads in flight", "halo in flight",
                                    "writes in flight"};

static struct {
    MPI_Comm comm;
    double offset;  /* rank 0's clock minus this rank's, at the start */
    double rtt;     /* the round trip the offset was measured with */
    double started; /* this rank's clock when the offset was measured */
    double origin;  /* the timeline's zero, on rank 0's clock */
    span_t *spans;
    int64_t n, cap, dropped;
    int last[DP_TR_NKINDS]; /* index + 1 of the last span of each kind, or 0 */
} tr = {.comm = MPI_COMM_NULL};

/* Rank 0 answers rank r's pings with its clock; rank r returns the offset (rank 0's clock
 * minus its own) of the exchange with the shortest round trip, and that round trip in *rtt. */
static double measure_offset(MPI_Comm comm, int rank, int nranks, double *rtt)
{
    double offset = 0;
    *rtt = 0;
    for (int r = 1; r < nranks; r++) {
        if (rank == 0) {
            for (int i = 0; i < PINGS; i++) {
                char ping;
                MPI_Recv(&ping, 1, MPI_CHAR, r, TAG, comm, MPI_STATUS_IGNORE);
                const double now = MPI_Wtime();
                MPI_Send(&now, 1, MPI_DOUBLE, r, TAG, comm);
            }
        } else if (rank == r) {
            *rtt = -1;
            for (int i = 0; i < PINGS; i++) {
                const char ping = 0;
                double remote;
                const double a = MPI_Wtime();
                MPI_Send(&ping, 1, MPI_CHAR, 0, TAG, comm);
                MPI_Recv(&remote, 1, MPI_DOUBLE, 0, TAG, comm, MPI_STATUS_IGNORE);
                const double b = MPI_Wtime();
                if (*rtt < 0 || b - a < *rtt) {
                    *rtt = b - a;
                    offset = remote - (a + b) / 2;
                }
            }
        }
    }
    return offset;
}

void dp_trace_start(MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    tr.comm = comm;
    tr.offset = measure_offset(comm, rank, nranks, &tr.rtt);
    MPI_Barrier(comm);
    tr.started = MPI_Wtime();
    tr.origin = tr.started + tr.offset;
    MPI_Bcast(&tr.origin, 1, MPI_DOUBLE, 0, comm);
    tr.n = tr.dropped = 0;
    memset(tr.last, 0, sizeof tr.last);
    dp_trace_active = 1;
}

void dp_trace_span_slow(dp_trace_kind_t kind, double t0, double t1)
{
    const int prev = tr.last[kind];
    /* merge with the previous span of this kind when nothing else came between */
    if (prev && prev == tr.n && tr.spans[prev - 1].t1 >= t0 - 1e-6) {
        tr.spans[prev - 1].t1 = t1;
        return;
    }
    if (tr.n == tr.cap) {
        const int64_t cap = tr.cap ? 2 * tr.cap : 4096;
        span_t *s = cap <= MAX_SPANS ? realloc(tr.spans, (size_t)cap * sizeof *s) : NULL;
        if (!s) {
            tr.dropped++;
            return;
        }
        tr.spans = s;
        tr.cap = cap;
    }
    tr.spans[tr.n++] = (span_t){.t0 = t0, .t1 = t1, .kind = kind};
    tr.last[kind] = (int)tr.n;
}

/* This rank's clock against rank 0's: the offset measured at the start and again at the end,
 * interpolated linearly in between, so that clocks drifting apart still line up. */
typedef struct {
    double t0, offset0, slope;
} clock_t_;

/* Microseconds since the origin of a time on this rank's clock, on rank 0's clock. */
static double micro(const clock_t_ *c, double t)
{
    return (t + c->offset0 + c->slope * (t - c->t0) - tr.origin) * 1e6;
}

/* Writes x >= 0 (microseconds) with three decimals, as %.3f would, at p; returns the end.
 * printf of doubles took most of the time of writing a trace. */
static char *put_micro(char *p, double x)
{
    const long long ns = x > 0 ? llround(x * 1000) : 0;
    char digits[24];
    int n = 0;
    for (long long u = ns / 1000; n == 0 || u > 0; u /= 10)
        digits[n++] = (char)('0' + u % 10);
    while (n > 0)
        *p++ = digits[--n];
    *p++ = '.';
    *p++ = (char)('0' + ns / 100 % 10);
    *p++ = (char)('0' + ns / 10 % 10);
    *p++ = (char)('0' + ns % 10);
    return p;
}

/* A growing text buffer; on running out of memory it stops growing and says so. */
typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} text_t;

static char *room(text_t *t, size_t more)
{
    if (t->failed)
        return NULL;
    if (t->n + more > t->cap) {
        const size_t cap = 2 * (t->n + more) + 4096;
        char *q = realloc(t->p, cap);
        if (!q) {
            t->failed = 1;
            return NULL;
        }
        t->p = q;
        t->cap = cap;
    }
    return t->p + t->n;
}

static void put(text_t *t, const char *s, size_t len)
{
    char *q = room(t, len);
    if (q) {
        memcpy(q, s, len);
        t->n += len;
    }
}

__attribute__((format(printf, 2, 3))) static void putf(text_t *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(t, buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* The length of the UTF-8 sequence at s (2 to 4 bytes), or 0 when it is not one. */
static int utf8_length(const unsigned char *s)
{
    const int n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
                  : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                  : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                 : 0;
    for (int i = 1; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* s as a JSON string, quoted: control characters escaped, valid UTF-8 kept, any other byte
 * replaced by U+FFFD. */
static void put_json_string(text_t *t, const char *s)
{
    put(t, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        const int n = *c >= 0x80 ? utf8_length(c) : 1;
        if (*c == '"' || *c == '\\')
            putf(t, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            putf(t, "\\u%04x", *c);
        else if (n == 0)
            put(t, "\\ufffd", 6);
        else
            put(t, (const char *)c, (size_t)n);
        c += n > 1 ? n - 1 : 0;
    }
    put(t, "\"", 1);
}

static void put_spans(text_t *t, int rank, const clock_t_ *c)
{
    char head[DP_TR_NKINDS][64], tail[DP_TR_NKINDS][40]; /* the text around ts and dur */
    int hlen[DP_TR_NKINDS], tlen[DP_TR_NKINDS];
    for (int k = 0; k < DP_TR_NKINDS; k++) {
        hlen[k] = snprintf(head[k], sizeof head[k],
                           ",\n{\"name\":\"%s\",\"ph\":\"X\",\"ts\":", kinds[k].name);
        tlen[k] = snprintf(tail[k], sizeof tail[k], ",\"pid\":%d,\"tid\":%d}", rank, kinds[k].lane);
    }
    for (int64_t i = 0; i < tr.n; i++) {
        const int k = tr.spans[i].kind;
        char *line = room(t, 160);
        if (!line)
            return;
        memcpy(line, head[k], (size_t)hlen[k]);
        const double ts = micro(c, tr.spans[i].t0);
        char *p = put_micro(line + hlen[k], ts);
        memcpy(p, ",\"dur\":", 7);
        p = put_micro(p + 7, micro(c, tr.spans[i].t1) - ts);
        memcpy(p, tail[k], (size_t)tlen[k]);
        t->n += (size_t)(p + tlen[k] - line);
    }
}

static void put_header(text_t *t, const dp_trace_about_t *a, int nranks)
{
    putf(t, "{\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"dproc_version\":");
    put_json_string(t, a->version);
    putf(t, ",\"job\":");
    put_json_string(t, a->job_path);
    putf(t, ",\"host\":");
    put_json_string(t, a->host);
    putf(t, ",\"start_time\":");
    put_json_string(t, a->start_time);
    putf(t, ",\"status\":");
    put_json_string(t, a->status);
    if (a->error) {
        putf(t, ",\"error\":");
        put_json_string(t, a->error);
    }
    putf(t, ",\"ranks\":%d,\"threads\":%d,\"clock\":\"rank 0\"},\n\"traceEvents\":[\n", nranks,
         a->threads);
}

/* This rank's part of the file: its track's name and order, its lanes' names, its spans, and
 * a note of the spans left out when it kept the most it may. */
static void put_rank(text_t *t, int rank, const clock_t_ *c)
{
    char host[64] = "?";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    char name[128];
    snprintf(name, sizeof name, "rank %d (%s)", rank, host);
    putf(t, "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":",
         rank > 0 ? ",\n" : "", rank);
    put_json_string(t, name);
    putf(t,
         "}},\n{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%d,"
         "\"args\":{\"sort_index\":%d}}",
         rank, rank);
    for (int l = 0; l < (int)(sizeof lanes / sizeof *lanes); l++)
        putf(t,
             ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,"
             "\"args\":{\"name\":\"%s\"}}",
             rank, l, lanes[l]);
    put_spans(t, rank, c);
    if (tr.dropped) {
        const double at = tr.n ? micro(c, tr.spans[tr.n - 1].t1) : 0;
        putf(t,
             ",\n{\"name\":\"trace full: %lld later spans left out\",\"ph\":\"i\",\"s\":\"p\","
             "\"ts\":%.3f,\"pid\":%d,\"tid\":0}",
             (long long)tr.dropped, at, rank);
    }
}

dp_status_t dp_trace_finish(const char *path, const dp_trace_about_t *about)
{
    dp_trace_active = 0;
    int rank, nranks;
    MPI_Comm_rank(tr.comm, &rank);
    MPI_Comm_size(tr.comm, &nranks);
    /* the clock offset again, for the drift since the start */
    double rtt;
    const double offset1 = measure_offset(tr.comm, rank, nranks, &rtt), t1 = MPI_Wtime();
    const clock_t_ c = {.t0 = tr.started,
                        .offset0 = tr.offset,
                        .slope = t1 > tr.started ? (offset1 - tr.offset) / (t1 - tr.started) : 0};
    text_t t = {0};
    if (rank == 0)
        put_header(&t, about, nranks);
    put_rank(&t, rank, &c);
    if (rank == nranks - 1)
        put(&t, "\n]}\n", 4);
    dp_status_t st =
        t.failed ? dp_err_set(DP_ERR_NOMEM, "out of memory for the trace's text") : DP_OK;
    long long dropped = tr.dropped, all_dropped = 0;
    MPI_Reduce(&dropped, &all_dropped, 1, MPI_LONG_LONG, MPI_SUM, 0, tr.comm);
    free(tr.spans);
    tr.spans = NULL;
    tr.n = tr.cap = 0;
    /* every rank writes its part at its offset in the file, at the same time */
    long long len = (long long)t.n, at = 0;
    MPI_Exscan(&len, &at, 1, MPI_LONG_LONG, MPI_SUM, tr.comm);
    if (rank == 0)
        at = 0;
    long long pid = (long long)getpid();
    MPI_Bcast(&pid, 1, MPI_LONG_LONG, 0, tr.comm);
    char tmp[4096];
    dp_publish_tmp_name(path, pid, tmp, sizeof tmp);
    if (rank == 0)
        unlink(tmp); /* MPI_MODE_CREATE keeps what a file of that name holds */
    if (dp_comm_agree(st, tr.comm) != DP_OK) {
        free(t.p);
        return DP_ERR_NOMEM;
    }
    MPI_File fh = MPI_FILE_NULL;
    char what[4200];
    snprintf(what, sizeof what, "creating the trace '%s'", tmp);
    st = dp_comm_check(
        MPI_File_open(tr.comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh), what);
    if (dp_comm_agree(st, tr.comm) != DP_OK) {
        free(t.p);
        return DP_ERR_IO;
    }
    MPI_Status status;
    st = dp_comm_check(MPI_File_write_at_all(fh, (MPI_Offset)at, t.p, (int)t.n, MPI_BYTE, &status),
                       "writing the trace");
    st = dp_comm_agree(st, tr.comm);
    if (st == DP_OK)
        st = dp_comm_agree(dp_comm_check(MPI_File_close(&fh), "closing the trace"), tr.comm);
    else
        MPI_File_close(&fh);
    free(t.p);
    if (rank == 0) {
        if (st == DP_OK)
            st = dp_publish(tmp, path, 1);
        if (st != DP_OK)
            unlink(tmp);
        if (all_dropped)
            fprintf(stderr,
                    "dproc: warning: the trace kept at most %d spans per rank; %lld more were left "
                    "out (marked in the trace)\n",
                    MAX_SPANS, all_dropped);
    }
    return dp_comm_agree(st, tr.comm);
}
