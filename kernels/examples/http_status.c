/* An example dproc plugin: a key-value mapper that counts the HTTP status codes of web server
 * access logs (Common or Combined Log Format), with the bytes sent per status.
 *
 *   [job]
 *   kernel = http_status
 *   plugin = libdproc_http_status.so
 *
 *   [input]
 *   source = text
 *   path   = logs/access.log*
 *
 * A line such as
 *
 *   203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326
 *
 * gives the key "200" with the value {1 request, 2326 bytes}; "-" bytes count as 0. Lines
 * without a quoted request followed by a 3-digit status are counted as bad. dproc splits the
 * files into whole lines across ranks, merges the keys across threads and ranks with
 * kv_merge, and writes one row per status. */
#include <dproc/kernel.h>

#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    int64_t top_k;
} status_cfg_t;

static const dp_opt_t status_opts[] = {
    {.key = "top_k",
     .type = DP_OPT_INT,
     .def = "10",
     .min = 0,
     .max = 1000,
     .offset = offsetof(status_cfg_t, top_k),
     .help = "statuses listed in the report, most frequent first"},
    {0},
};

/* The value of a key: requests and bytes. */
typedef struct {
    int64_t requests, bytes;
} status_value_t;

static void *status_create(const void *cfg, const dp_shape_t *global)
{
    (void)global;
    return (void *)cfg;
}

static size_t status_value_size(const void *st)
{
    (void)st;
    return sizeof(status_value_t);
}

/* Parses one line [p, e): the status (3 digits after the request's closing quote) into key and
 * the bytes after it; returns 0 for a line of another form. */
static int parse_line(const char *p, const char *e, char key[3], int64_t *bytes)
{
    const char *q = memchr(p, '"', (size_t)(e - p));
    if (!q)
        return 0;
    q = memchr(q + 1, '"', (size_t)(e - q - 1));
    if (!q || e - q < 5 || q[1] != ' ')
        return 0;
    const char *s = q + 2;
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    if (s + 3 < e && s[3] != ' ')
        return 0;
    memcpy(key, s, 3);
    *bytes = 0;
    for (s += 4; s < e && *s >= '0' && *s <= '9'; s++)
        *bytes = *bytes * 10 + (*s - '0');
    return 1;
}

/* Maps the lines of text, split into one part per thread at line ends. */
static void status_map(const void *st, const dp_text_t *text, dp_kvt_t *const *tables, int ntables,
                       dp_kv_tally_t *tally)
{
    (void)st;
    const char *data = text->data;
    const size_t len = text->len;
    int64_t lines = 0, good = 0, bad = 0;
#pragma omp parallel num_threads(ntables) reduction(+ : lines, good, bad)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t b = len * (size_t)t / (size_t)nt, e = len * (size_t)(t + 1) / (size_t)nt;
        while (b > 0 && b < len && data[b - 1] != '\n') /* a part starts after a line end */
            b++;
        while (e > 0 && e < len && data[e - 1] != '\n')
            e++;
        for (size_t i = b; i < e;) {
            const char *nl = memchr(data + i, '\n', e - i);
            const size_t end = nl ? (size_t)(nl - data) : e;
            char key[3];
            int64_t bytes;
            if (end > i) {
                lines++;
                if (parse_line(data + i, data + end, key, &bytes)) {
                    int created;
                    status_value_t *v = dp_kv_get(tables[t], key, 3, &created);
                    v->requests++;
                    v->bytes += bytes;
                    good++;
                } else {
                    bad++;
                }
            }
            i = end + 1;
        }
    }
    tally->records += lines;
    tally->total += good;
    tally->bad += bad;
}

static void status_merge(const void *st, void *acc, const void *in)
{
    (void)st;
    status_value_t *a = acc;
    const status_value_t *b = in;
    a->requests += b->requests;
    a->bytes += b->bytes;
}

static int status_columns(const void *st, dp_kv_column_t *cols)
{
    (void)st;
    cols[0] = (dp_kv_column_t){"status", 0};
    cols[1] = (dp_kv_column_t){"requests", 1};
    cols[2] = (dp_kv_column_t){"bytes", 1};
    return 2;
}

static void status_row(const void *st, const void *v, dp_kv_cell_t *cells)
{
    (void)st;
    const status_value_t *x = v;
    cells[0].i = x->requests;
    cells[1].i = x->bytes;
}

static int64_t status_count(const void *st, const void *v)
{
    (void)st;
    return ((const status_value_t *)v)->requests;
}

static int64_t status_top_k(const void *st)
{
    return ((const status_cfg_t *)st)->top_k;
}

static const dp_kernel_t status_kernel = {
    .name = "http_status",
    .summary = "count HTTP status codes and bytes in access logs (example plugin)",
    .kind = DP_KERNEL_KEYVALUE,
    .opts = status_opts,
    .config_size = sizeof(status_cfg_t),
    .create = status_create,
    .kv_value_size = status_value_size,
    .kv_map = status_map,
    .kv_merge = status_merge,
    .kv_columns = status_columns,
    .kv_row = status_row,
    .kv_count = status_count,
    .kv_top_k = status_top_k,
};

/* What dproc looks for in the shared object. */
DP_PLUGIN_EXPORT const dp_plugin_t dproc_plugin = {
    .api_version = DP_KERNEL_API_VERSION,
    .name = "http_status",
    .kernels = (const dp_kernel_t *const[]){&status_kernel, NULL},
};
