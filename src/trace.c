#include "trace.h"

#include "comm.h"
#include "sink.h"

#include <errno.h>
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
enum { MAX_SPANS = 1 << 20, PINGS = 8, BATCH = 1 << 16, TAG = 7301 };

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
    double offset; /* rank 0's clock minus this rank's */
    double rtt;    /* the round trip the offset was measured with */
    double origin; /* the timeline's zero, on rank 0's clock */
    span_t *spans;
    int64_t n, cap, dropped;
    int last[DP_TR_NKINDS]; /* index + 1 of the last span of each kind, or 0 */
} tr = {.comm = MPI_COMM_NULL};

/* Rank 0 answers rank r's pings with its clock; rank r keeps the offset of the exchange with
 * the shortest round trip. */
static void measure_offset(MPI_Comm comm, int rank, int nranks)
{
    tr.offset = 0;
    tr.rtt = 0;
    for (int r = 1; r < nranks; r++) {
        if (rank == 0) {
            for (int i = 0; i < PINGS; i++) {
                char ping;
                MPI_Recv(&ping, 1, MPI_CHAR, r, TAG, comm, MPI_STATUS_IGNORE);
                const double now = MPI_Wtime();
                MPI_Send(&now, 1, MPI_DOUBLE, r, TAG, comm);
            }
        } else if (rank == r) {
            tr.rtt = -1;
            for (int i = 0; i < PINGS; i++) {
                const char ping = 0;
                double remote;
                const double a = MPI_Wtime();
                MPI_Send(&ping, 1, MPI_CHAR, 0, TAG, comm);
                MPI_Recv(&remote, 1, MPI_DOUBLE, 0, TAG, comm, MPI_STATUS_IGNORE);
                const double b = MPI_Wtime();
                if (tr.rtt < 0 || b - a < tr.rtt) {
                    tr.rtt = b - a;
                    tr.offset = remote - (a + b) / 2;
                }
            }
        }
    }
}

void dp_trace_start(MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    tr.comm = comm;
    measure_offset(comm, rank, nranks);
    MPI_Barrier(comm);
    tr.origin = MPI_Wtime() + tr.offset;
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

/* Microseconds since the origin of a time on this rank's clock, shifted to rank 0's. */
static double micro(double t, double offset)
{
    return (t + offset - tr.origin) * 1e6;
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

static int write_spans(FILE *f, int rank, const span_t *s, int64_t n, double offset)
{
    char head[DP_TR_NKINDS][64], tail[DP_TR_NKINDS][40]; /* the text around ts and dur */
    int hlen[DP_TR_NKINDS], tlen[DP_TR_NKINDS];
    for (int k = 0; k < DP_TR_NKINDS; k++) {
        hlen[k] = snprintf(head[k], sizeof head[k],
                           ",\n{\"name\":\"%s\",\"ph\":\"X\",\"ts\":", kinds[k].name);
        tlen[k] = snprintf(tail[k], sizeof tail[k], ",\"pid\":%d,\"tid\":%d}", rank, kinds[k].lane);
    }
    int ok = 1;
    char line[160];
    for (int64_t i = 0; i < n; i++) {
        const int k = s[i].kind;
        memcpy(line, head[k], (size_t)hlen[k]);
        char *p = put_micro(line + hlen[k], micro(s[i].t0, offset));
        memcpy(p, ",\"dur\":", 7);
        p = put_micro(p + 7, (s[i].t1 - s[i].t0) * 1e6);
        memcpy(p, tail[k], (size_t)tlen[k]);
        p += tlen[k];
        ok &= fwrite(line, 1, (size_t)(p - line), f) == (size_t)(p - line);
    }
    return ok;
}

/* The JSON text of s, quoted. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void write_header(FILE *f, const dp_trace_about_t *a, int nranks)
{
    fprintf(f, "{\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"dproc_version\":");
    json_string(f, a->version);
    fprintf(f, ",\"job\":");
    json_string(f, a->job_path);
    fprintf(f, ",\"host\":");
    json_string(f, a->host);
    fprintf(f, ",\"start_time\":");
    json_string(f, a->start_time);
    fprintf(f, ",\"status\":");
    json_string(f, a->status);
    fprintf(f, ",\"ranks\":%d,\"threads\":%d,\"clock\":\"rank 0\"},\n\"traceEvents\":[\n", nranks,
            a->threads);
}

/* The metadata of rank r: its track's name and order, and its lanes' names. */
static void write_names(FILE *f, const dp_trace_about_t *a, int r)
{
    fprintf(f, "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":",
            r > 0 ? ",\n" : "", r);
    char name[128];
    snprintf(name, sizeof name, "rank %d (%s)", r, a->hosts ? a->hosts[r] : "?");
    json_string(f, name);
    fprintf(f,
            "}},\n{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%d,"
            "\"args\":{\"sort_index\":%d}}",
            r, r);
    for (int l = 0; l < (int)(sizeof lanes / sizeof *lanes); l++)
        fprintf(f,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,"
                "\"args\":{\"name\":\"%s\"}}",
                r, l, lanes[l]);
}

/* Rank 0: writes the file, receiving each rank's spans in batches. */
static dp_status_t write_file(const char *path, const dp_trace_about_t *a, int nranks)
{
    char tmp[4096];
    dp_sink_tmp_name(path, (long long)getpid(), tmp, sizeof tmp);
    FILE *f = fopen(tmp, "w");
    static span_t buf[BATCH];
    int ok = f != NULL;
    int64_t dropped = tr.dropped;
    if (f)
        write_header(f, a, nranks);
    for (int r = 0; r < nranks; r++) {
        if (f)
            write_names(f, a, r);
        if (r == 0) {
            ok &= f && write_spans(f, 0, tr.spans, tr.n, 0);
            continue;
        }
        int64_t head[3]; /* spans, dropped, offset bits */
        MPI_Recv(head, 3, MPI_INT64_T, r, TAG, tr.comm, MPI_STATUS_IGNORE);
        double offset;
        memcpy(&offset, &head[2], sizeof offset);
        dropped += head[1];
        for (int64_t i = 0; i < head[0]; i += BATCH) {
            const int64_t n = head[0] - i < BATCH ? head[0] - i : BATCH;
            MPI_Recv(buf, (int)(n * sizeof *buf), MPI_BYTE, r, TAG, tr.comm, MPI_STATUS_IGNORE);
            ok &= f && write_spans(f, r, buf, n, offset);
        }
    }
    if (f) {
        fprintf(f, "\n]}\n");
        ok = fclose(f) == 0 && ok;
    }
    if (dropped)
        fprintf(stderr,
                "dproc: warning: the trace kept %d spans per rank; %lld more were left out\n",
                MAX_SPANS, (long long)dropped);
    if (!ok) {
        const int e = errno;
        unlink(tmp);
        return dp_err_set(DP_ERR_IO, "cannot write the trace '%s': %s", path, strerror(e));
    }
    return dp_sink_publish(tmp, path, 1);
}

dp_status_t dp_trace_finish(const char *path, const dp_trace_about_t *about)
{
    dp_trace_active = 0;
    int rank, nranks;
    MPI_Comm_rank(tr.comm, &rank);
    MPI_Comm_size(tr.comm, &nranks);
    dp_status_t st = DP_OK;
    if (rank == 0) {
        st = write_file(path, about, nranks);
    } else {
        int64_t head[3] = {tr.n, tr.dropped, 0};
        memcpy(&head[2], &tr.offset, sizeof tr.offset);
        MPI_Send(head, 3, MPI_INT64_T, 0, TAG, tr.comm);
        for (int64_t i = 0; i < tr.n; i += BATCH) {
            const int64_t n = tr.n - i < BATCH ? tr.n - i : BATCH;
            MPI_Send(tr.spans + i, (int)(n * sizeof *tr.spans), MPI_BYTE, 0, TAG, tr.comm);
        }
    }
    free(tr.spans);
    tr.spans = NULL;
    tr.n = tr.cap = 0;
    return dp_comm_agree(st, tr.comm);
}
