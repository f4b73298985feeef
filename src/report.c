#include "report.h"

#include "publish.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const phase_names[DP_NPHASES] = {
    "read",      "compute",   "communicate", "write",      "checkpoint", "halo", "halo_wait",
    "read_wait", "read_busy", "write_wait",  "write_busy", "shuffle",    "total"};

/* The object for a nested name's parent, created on the way ("hist/counts" -> hist). */
static cJSON *parent_of(cJSON *root, const char *name, const char **leaf)
{
    cJSON *obj = root;
    const char *p = name, *dot;
    while ((dot = strchr(p, '/'))) {
        char part[128];
        snprintf(part, sizeof part, "%.*s", (int)(dot - p), p);
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, part);
        if (!child)
            child = cJSON_AddObjectToObject(obj, part);
        obj = child;
        p = dot + 1;
    }
    *leaf = p;
    return obj;
}

/* A double written with 17 significant digits, so that it reads back to the same bits (cJSON's
 * own printer settles for 15 when they reread within DBL_EPSILON). JSON has no NaN or Inf: NaN
 * is written as null, +Inf and -Inf as the strings "Infinity" and "-Infinity" (as protobuf's
 * JSON mapping does; Python's float() reads them back). */
static cJSON *number(double v)
{
    char text[32];
    if (isnan(v))
        return cJSON_CreateNull();
    if (isinf(v))
        return cJSON_CreateString(v > 0 ? "Infinity" : "-Infinity");
    snprintf(text, sizeof text, "%.17g", v);
    return cJSON_CreateRaw(text);
}

static cJSON *integer(int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)v);
    return cJSON_CreateRaw(text);
}

static cJSON *results_json(const dp_results_t *r)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t k = 0; r && k < r->n; k++) {
        const dp_result_t *x = &r->v[k];
        const char *leaf;
        cJSON *obj = parent_of(root, x->name, &leaf);
        cJSON *v;
        if (x->scalar) {
            v = x->is_int ? integer(x->i[0]) : number(x->r[0]);
        } else {
            v = cJSON_CreateArray();
            for (size_t j = 0; j < x->n; j++) {
                cJSON *e = x->s ? cJSON_CreateString(x->s[j]) : NULL;
                if (x->s && x->is_int) {
                    cJSON *pair = cJSON_CreateArray();
                    cJSON_AddItemToArray(pair, e);
                    cJSON_AddItemToArray(pair, integer(x->i[j]));
                    e = pair;
                } else if (!x->s) {
                    e = x->is_int ? integer(x->i[j]) : number(x->r[j]);
                }
                cJSON_AddItemToArray(v, e);
            }
        }
        cJSON_AddItemToObject(obj, leaf, v);
    }
    return root;
}

static cJSON *int_array(const int64_t *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, integer(v[i]));
    return a;
}

static cJSON *report_json(const dp_report_t *r)
{
    const dp_job_t *job = r->job;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dproc", r->info->version);
    cJSON_AddStringToObject(o, "job", job->job.name);
    cJSON_AddStringToObject(o, "job_file", job->file);
    cJSON_AddStringToObject(o, "kernel", job->kernel ? job->kernel->name : "");
    cJSON_AddNumberToObject(o, "ranks", r->info->ranks);
    cJSON_AddNumberToObject(o, "threads", r->info->threads);
    cJSON_AddStringToObject(o, "host", r->info->host);
    cJSON_AddStringToObject(o, "start_time", r->info->start_time);
    const dp_placement_t *pl = &r->info->place;
    if (pl->job_id[0]) {
        cJSON *s = cJSON_AddObjectToObject(o, "slurm");
        cJSON_AddStringToObject(s, "job_id", pl->job_id);
        if (pl->array_task_id[0])
            cJSON_AddStringToObject(s, "array_task_id", pl->array_task_id);
        cJSON_AddStringToObject(s, "nodelist", pl->nodelist);
    }
    cJSON_AddNumberToObject(o, "ranks_per_node", pl->ranks_per_node);
    cJSON_AddNumberToObject(o, "threads_per_rank", r->info->threads);
    cJSON_AddNumberToObject(o, "cores_per_node", pl->cores_per_node);
    if (pl->cpus) {
        cJSON *b = cJSON_AddArrayToObject(o, "binding");
        for (int q = 0; q < r->info->ranks; q++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "rank", q);
            cJSON_AddStringToObject(e, "host", pl->hosts[q]);
            cJSON_AddStringToObject(e, "cpus", pl->cpus[q]);
            cJSON_AddItemToArray(b, e);
        }
    }
    if (pl->warning[0])
        cJSON_AddStringToObject(o, "warning", pl->warning);
    cJSON_AddStringToObject(o, "input", r->input ? r->input : "");
    if (r->shape.ndim > 0) {
        if (r->file_n)
            cJSON_AddItemToObject(o, "shape", int_array(r->file_n, r->file_ndim));
        else
            cJSON_AddItemToObject(o, "shape", int_array(r->shape.n, r->shape.ndim));
        int64_t dims[DP_MAX_DIMS];
        for (int d = 0; d < DP_MAX_DIMS; d++)
            dims[d] = r->dims[d];
        cJSON_AddItemToObject(o, "grid", int_array(dims, r->shape.ndim));
    }
    cJSON_AddItemToObject(o, "elements", integer(r->elements));
    cJSON_AddItemToObject(o, "bytes_read", integer(r->bytes_read));
    cJSON_AddItemToObject(o, "work_units", integer(r->work));
    cJSON_AddItemToObject(o, "memory_per_rank", integer(r->mem_per_rank));
    if (job->output.path)
        cJSON_AddStringToObject(o, "output", job->output.path);
    cJSON_AddItemToObject(o, "results", results_json(r->results));
    if (r->digest)
        cJSON_AddStringToObject(o, "digest", r->digest);
    cJSON *t = cJSON_AddObjectToObject(o, "timing");
    for (int p = 0; p < DP_NPHASES; p++)
        cJSON_AddItemToObject(t, phase_names[p], number(r->timing[p]));
    if (r->streamed) {
        const double *tm = r->timing;
        cJSON_AddItemToObject(o, "overlap", number(r->overlap));
        cJSON_AddItemToObject(
            o, "read_gbs",
            number(tm[DP_PHASE_READ_BUSY] > 0 ? r->bytes_read / tm[DP_PHASE_READ_BUSY] / 1e9 : 0));
        cJSON_AddItemToObject(
            o, "compute_gbs",
            number(tm[DP_PHASE_COMPUTE] > 0 ? r->bytes_read / tm[DP_PHASE_COMPUTE] / 1e9 : 0));
        char verdict[512];
        dp_report_verdict(r, verdict, sizeof verdict);
        cJSON_AddStringToObject(o, "verdict", verdict);
    }
    cJSON_AddItemToObject(o, "peak_rss_mb", number(r->peak_rss_mb));
    cJSON_AddItemToObject(o, "base_rss_mb", number(r->base_rss_mb));
    if (r->note && *r->note)
        cJSON_AddStringToObject(o, "note", r->note);
    cJSON_AddStringToObject(o, "status",
                            r->status == DP_OK            ? "ok"
                            : r->status == DP_ERR_STOPPED ? "stopped"
                                                          : "failed");
    if (r->status != DP_OK)
        cJSON_AddStringToObject(o, "error", r->error ? r->error : "");
    return o;
}

dp_status_t dp_report_write_json(const dp_report_t *r, const char *path)
{
    cJSON *o = report_json(r);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return dp_err_set(DP_ERR_NOMEM, "cannot format the report");
    char tmp[4096];
    dp_publish_tmp_name(path, (long long)getpid(), tmp, sizeof tmp);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = f && fclose(f) == 0 && ok;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return dp_err_set(DP_ERR_IO, "cannot write report '%s': %s", path, strerror(e));
    }
    return DP_OK;
}

void dp_report_verdict(const dp_report_t *r, char *buf, size_t size)
{
    const double read = r->timing[DP_PHASE_READ_BUSY], compute = r->timing[DP_PHASE_COMPUTE];
    const double hidden = 100 * r->overlap;
    /* compute can hide at most compute/read of the reads */
    const double possible = read > 0 ? (compute < read ? compute / read : 1) : 0;
    const int short_of = r->job->run.overlap && r->overlap < 0.7 * possible;
    const char *knob =
        !r->job->run.overlap ? "; [run] overlap = true would run reads and compute together"
        : short_of ? "; more [run] prefetch and a larger chunk_mb would hide more of the reads"
                   : "";
    const double write = r->timing[DP_PHASE_WRITE_BUSY];
    if (r->shape.ndim > 0 && r->elements == 0)
        snprintf(buf, size, "nothing to measure: the array is empty, no value was read");
    else if (write > 1.25 * compute && write > read)
        snprintf(buf, size,
                 "I/O-bound: writes %.3g s, reads %.3g s, compute %.3g s, %.0f%% of the reads "
                 "hidden; the storage's write bandwidth is the limit, more threads will not help",
                 write, read, compute, hidden);
    else if (read > 1.25 * compute)
        snprintf(buf, size,
                 "I/O-bound: reads %.3g s, compute %.3g s, %.0f%% of the reads hidden; the "
                 "storage's read bandwidth is the limit, more threads will not help%s",
                 read, compute, hidden, knob);
    else if (compute > 1.25 * read)
        snprintf(buf, size,
                 "compute-bound: compute %.3g s, reads %.3g s, %.0f%% of the reads hidden; more "
                 "threads ([run] threads, OMP_NUM_THREADS) or more ranks would help%s",
                 compute, read, hidden, knob);
    else
        snprintf(buf, size,
                 "balanced: reads %.3g s and compute %.3g s are of the same order, %.0f%% of the "
                 "reads hidden; faster storage and more threads are both needed to go faster%s",
                 read, compute, hidden, knob);
}

/* A string result on one line: control characters and backslashes as C escapes. */
static void print_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '\n' || *s == '\t' || *s == '\r')
            fprintf(f, "\\%c", *s == '\n' ? 'n' : *s == '\t' ? 't' : *s == '\r' ? 'r' : '\\');
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
}

void dp_report_print(const dp_report_t *r, FILE *f)
{
    const dp_job_t *job = r->job;
    char shape[96] = "", grid[64] = "";
    for (int d = 0, j = 0, g = 0; d < r->shape.ndim; d++) {
        j += snprintf(shape + j, sizeof shape - (size_t)j, d ? "x%lld" : "%lld",
                      (long long)r->shape.n[d]);
        g += snprintf(grid + g, sizeof grid - (size_t)g, d ? "x%d" : "%d", r->dims[d]);
    }
    fprintf(f, "dproc %s: job '%s', kernel %s, %d rank%s x %d thread%s\n", r->info->version,
            job->job.name, job->kernel->name, r->info->ranks, r->info->ranks == 1 ? "" : "s",
            r->info->threads, r->info->threads == 1 ? "" : "s");
    if (r->shape.ndim > 0)
        fprintf(f, "input: %s, %lld elements, grid %s\n", r->input, (long long)r->elements, grid);
    else
        fprintf(f, "input: %s\n", r->input);
    if (r->results && r->results->n) {
        fprintf(f, "results:\n");
        for (size_t k = 0; k < r->results->n; k++) {
            const dp_result_t *x = &r->results->v[k];
            fprintf(f, "  %-10s =", x->name);
            for (size_t j = 0; j < x->n && j < 16; j++) {
                if (x->s) {
                    fputc(' ', f);
                    print_escaped(f, x->s[j]);
                    if (x->is_int)
                        fprintf(f, ":%lld", (long long)x->i[j]);
                } else if (x->is_int)
                    fprintf(f, " %lld", (long long)x->i[j]);
                else
                    fprintf(f, " %.17g", x->r[j]);
            }
            fprintf(f, "%s\n", x->n > 16 ? " ..." : "");
        }
    }
    if (job->output.path)
        fprintf(f, "output: %s\n", job->output.path);
    fprintf(f,
            "timing (s, max over ranks): total %.6f  read %.6f  compute %.6f  communicate %.6f"
            "  write %.6f\n",
            r->timing[DP_PHASE_TOTAL], r->timing[DP_PHASE_READ], r->timing[DP_PHASE_COMPUTE],
            r->timing[DP_PHASE_COMMUNICATE], r->timing[DP_PHASE_WRITE]);
    if (r->timing[DP_PHASE_SHUFFLE] > 0)
        fprintf(f, "shuffle (s): %.6f\n", r->timing[DP_PHASE_SHUFFLE]);
    if (job->kernel && job->kernel->kind == DP_KERNEL_STENCIL && r->timing[DP_PHASE_COMPUTE] > 0)
        fprintf(f, "point updates: %lld, %.1f million per second of compute per rank\n",
                (long long)r->work,
                r->work / r->timing[DP_PHASE_COMPUTE] / 1e6 /
                    (r->info->ranks ? r->info->ranks : 1));
    if (r->timing[DP_PHASE_HALO] > 0)
        fprintf(f,
                "halo exchange (s): %.6f in flight, %.6f waited for after the interior (%.0f%% "
                "hidden); checkpoints %.6f\n",
                r->timing[DP_PHASE_HALO], r->timing[DP_PHASE_HALO_WAIT],
                100 * (1 - r->timing[DP_PHASE_HALO_WAIT] / r->timing[DP_PHASE_HALO]),
                r->timing[DP_PHASE_CHECKPOINT]);
    if (r->streamed) {
        char verdict[512];
        dp_report_verdict(r, verdict, sizeof verdict);
        fprintf(
            f,
            "reads (s): %.6f in flight, %.6f waited for (%.0f%% hidden), %.2f GB/s; compute "
            "%.2f GB/s; peak memory %.0f MiB per rank (%.0f before the data)\n",
            r->timing[DP_PHASE_READ_BUSY], r->timing[DP_PHASE_READ_WAIT], 100 * r->overlap,
            r->timing[DP_PHASE_READ_BUSY] > 0 ? r->bytes_read / r->timing[DP_PHASE_READ_BUSY] / 1e9
                                              : 0,
            r->timing[DP_PHASE_COMPUTE] > 0 ? r->bytes_read / r->timing[DP_PHASE_COMPUTE] / 1e9 : 0,
            r->peak_rss_mb, r->base_rss_mb);
        if (r->timing[DP_PHASE_WRITE_BUSY] > 0)
            fprintf(f, "writes (s): %.6f in flight, %.6f waited for\n",
                    r->timing[DP_PHASE_WRITE_BUSY], r->timing[DP_PHASE_WRITE_WAIT]);
        fprintf(f, "verdict: %s\n", verdict);
    }
    if (r->digest)
        fprintf(f, "digest of the result: %s\n", r->digest);
    if (r->note && *r->note)
        fprintf(f, "note: %s\n", r->note);
}
