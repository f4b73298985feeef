#include "kv_driver.h"

#include "comm.h"
#include "kv_output.h"
#include "kvtable.h"
#include "progress.h"
#include "shuffle.h"
#include "text.h"
#include "trace.h"

#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One file's part of this rank's byte range: records starting in [a, b) of file f. */
typedef struct {
    int64_t f, a, b;
    int state;    /* of the CSV automaton at byte a */
    int64_t line; /* line number of byte a */
} segment_t;

typedef struct {
    const dp_job_t *job;
    const dp_kernel_t *k;
    void *st;
    MPI_Comm comm;
    int rank, nranks, nthreads;
    dp_text_files_t files;
    segment_t *seg;
    int nseg;
    dp_kvt_t *tables; /* one per thread */
    dp_kvt_t **tp;
    dp_kv_tally_t tally;
    dp_text_reader_t reader;
    dp_csv_machine_t machine;
    dp_kv_run_t *run;
    int64_t mapped; /* bytes handed to the kernel */
} kv_t;

/* The segments of bytes [lo, hi) of the concatenated files. */
static void make_segments(kv_t *kv, int64_t lo, int64_t hi)
{
    int64_t off = 0;
    for (int64_t f = 0; f < kv->files.n; f++) {
        const int64_t size = kv->files.size[f];
        const int64_t a = lo > off ? lo - off : 0, b = hi < off + size ? hi - off : size;
        if (a < b) {
            kv->seg = dp_xrealloc(kv->seg, (size_t)(kv->nseg + 1) * sizeof *kv->seg);
            kv->seg[kv->nseg++] = (segment_t){.f = f, .a = a, .b = b, .line = 1};
        }
        off += size;
    }
}

/* CSV records may hold newlines inside quoted fields, and whether a byte lies inside one
 * depends on everything before it in the file. Every rank runs the CSV automaton over its
 * segments from all four states at once (a state vector) and counts their newlines; each
 * segment then composes the vectors of the segments of lower ranks in the same file, from the
 * file's start, to learn its own start state, and adds their newlines to learn its first line
 * number. Exact, and one cheap pass instead of a guess. */
static dp_status_t csv_prefix(kv_t *kv)
{
    int64_t *mine = dp_xcalloc((size_t)kv->nseg * 3 + 1, sizeof *mine);
    dp_status_t st = DP_OK;
    for (int s = 0; s < kv->nseg && st == DP_OK; s++) {
        uint8_t v;
        mine[3 * s] = kv->seg[s].f;
        st = dp_text_scan(&kv->reader, kv->seg[s].f, kv->seg[s].a, kv->seg[s].b, &v,
                          &mine[3 * s + 2]);
        mine[3 * s + 1] = v;
    }
    st = dp_comm_agree(st, kv->comm);
    if (st != DP_OK) {
        free(mine);
        return st;
    }
    int n = 3 * kv->nseg, *counts = dp_xmalloc((size_t)kv->nranks * sizeof *counts);
    MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, kv->comm);
    int *displs = dp_xmalloc((size_t)kv->nranks * sizeof *displs), total = 0;
    for (int q = 0; q < kv->nranks; q++)
        displs[q] = total, total += counts[q];
    int64_t *all = dp_xmalloc((size_t)(total ? total : 1) * sizeof *all);
    MPI_Allgatherv(mine, n, MPI_INT64_T, all, counts, displs, MPI_INT64_T, kv->comm);
    for (int s = 0; s < kv->nseg; s++)
        for (int j = 0; j < displs[kv->rank]; j += 3)
            if (all[j] == kv->seg[s].f) { /* a part of the same file before this one */
                kv->seg[s].state = dp_csv_apply((uint8_t)all[j + 1], kv->seg[s].state);
                kv->seg[s].line += all[j + 2];
            }
    free(all);
    free(displs);
    free(counts);
    free(mine);
    return DP_OK;
}

static void on_records(void *ctx, const dp_text_t *text)
{
    kv_t *kv = ctx;
    const double t0 = MPI_Wtime();
    kv->k->kv_map(kv->st, text, kv->tp, kv->nthreads, &kv->tally);
    dp_trace_time(&kv->run->t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
    kv->mapped += (int64_t)text->len;
    dp_progress_update(kv->mapped);
}

/* Rank 0 reads the first record of the first file that is not empty and every rank hands it
 * to the kernel (the CSV header). */
static dp_status_t header(kv_t *kv)
{
    long long len = 0;
    char *rec = NULL;
    dp_status_t st = DP_OK;
    if (kv->rank == 0) {
        int64_t f = 0;
        while (f < kv->files.n && kv->files.size[f] == 0)
            f++;
        if (f < kv->files.n) {
            dp_ring_t ring;
            st = dp_ring_open(&ring, kv->files.path[f], kv->files.size[f], 0, kv->files.size[f],
                              1 << 20, 1, 0);
            int state = DP_CSV_FIELD;
            for (int done = 0; st == DP_OK && !done;) {
                const char *p;
                int64_t n, at;
                st = dp_ring_next(&ring, &p, &n, &at);
                if (st != DP_OK || n == 0)
                    break;
                int64_t i = 0;
                for (; i < n && !done; i++) {
                    done = p[i] == '\n' && state != DP_CSV_QUOTED;
                    state = dp_csv_step(state, (unsigned char)p[i], kv->reader.csv->delim);
                }
                rec = dp_xrealloc(rec, (size_t)(len + i));
                memcpy(rec + len, p, (size_t)i);
                len += i;
            }
            dp_ring_close(&ring);
        }
    }
    if (st == DP_OK && len > INT_MAX / 2)
        st = dp_err_set(DP_ERR_DATA, "the first line of '%s' (the header) is over 1 GiB",
                        kv->files.path[0]);
    st = dp_comm_agree(st, kv->comm);
    if (st == DP_OK) {
        MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, kv->comm);
        if (kv->rank != 0)
            rec = dp_xmalloc((size_t)len + 1);
        MPI_Bcast(rec, (int)len, MPI_CHAR, 0, kv->comm);
        const char *key = NULL;
        const char *why = kv->k->kv_header(kv->st, rec ? rec : "", (size_t)len, &key);
        if (why)
            st = dp_job_usage_error(kv->job, kv->k->name, key, why);
    }
    free(rec);
    return st;
}

/* Folds the per-thread tables into the first. */
static void merge_threads(kv_t *kv)
{
    for (int t = 1; t < kv->nthreads; t++) {
        dp_kvt_t *x = &kv->tables[t];
        for (size_t i = 0; i < x->nslots; i++)
            if (dp_kvt_full(x, i))
                dp_kv_move_into(kv->k, kv->st, &kv->tables[0], dp_kvt_key(x, i),
                                dp_kvt_entry(x, i)->klen, dp_kvt_entry(x, i)->hash,
                                dp_kvt_value(x, i));
    }
}

static void free_table(const kv_t *kv, dp_kvt_t *t)
{
    if (kv->k->kv_free_value)
        for (size_t i = 0; i < t->nslots; i++)
            if (dp_kvt_full(t, i))
                kv->k->kv_free_value(kv->st, dp_kvt_value(t, i));
    dp_kvt_free(t);
}

/* A bad row that stops the job, in input order: the lowest rank's first. */
static dp_status_t tally_error(kv_t *kv)
{
    dp_status_t st = DP_OK;
    if (kv->tally.error[0])
        st = dp_err_set(DP_ERR_DATA, "%s:%lld: %s", kv->files.path[kv->tally.error_file],
                        (long long)kv->tally.error_line, kv->tally.error);
    return dp_comm_agree(st, kv->comm);
}

/* Sums the tallies on rank 0 and lists the first bad rows of all ranks, in input order. */
static void results(kv_t *kv, const dp_shuffle_stats_t *sh, const dp_kv_out_t *out)
{
    long long mine[4] = {kv->tally.records, kv->tally.total, kv->tally.bad, sh->bytes_sent}, sum[4];
    MPI_Reduce(mine, sum, 4, MPI_LONG_LONG, MPI_SUM, 0, kv->comm);
    int64_t list[1 + 2 * DP_KV_LISTED] = {kv->tally.nlisted};
    for (int i = 0; i < kv->tally.nlisted; i++) {
        list[1 + 2 * i] = kv->tally.bad_file[i];
        list[2 + 2 * i] = kv->tally.bad_line[i];
    }
    const int w = 1 + 2 * DP_KV_LISTED;
    int64_t *all = kv->rank == 0 ? dp_xmalloc((size_t)kv->nranks * w * sizeof *all) : NULL;
    MPI_Gather(list, w, MPI_INT64_T, all, w, MPI_INT64_T, 0, kv->comm);
    if (kv->rank == 0) {
        dp_results_t *r = &kv->run->results;
        dp_results_int(r, "records", sum[0]);
        dp_results_int(r, "total", sum[1]);
        dp_results_int(r, "distinct", out->distinct);
        dp_results_pairs(r, "top", out->top_key, out->top_count, (size_t)out->ntop);
        dp_results_int(r, "bad_rows", sum[2]);
        if (kv->reader.csv) {
            char *lines[DP_KV_LISTED];
            int n = 0;
            for (int q = 0; q < kv->nranks; q++)
                for (int i = 0; i < all[q * w] && n < DP_KV_LISTED; i++) {
                    const int64_t f = all[q * w + 1 + 2 * i], line = all[q * w + 2 + 2 * i];
                    lines[n] = dp_xmalloc(strlen(kv->files.path[f]) + 24);
                    sprintf(lines[n++], "%s:%lld", kv->files.path[f], (long long)line);
                }
            dp_results_strings(r, "bad_lines", lines, (size_t)n);
            for (int i = 0; i < n; i++)
                free(lines[i]);
        }
        dp_results_int(r, "shuffle/bytes", sum[3]);
        dp_results_int(r, "shuffle/rounds", sh->rounds);
    }
    free(all);
}

static void print_plan(const kv_t *kv)
{
    int64_t total = kv->files.total;
    printf("plan: %d file%s, %lld bytes, %d rank%s x %d thread%s\n", kv->files.n,
           kv->files.n == 1 ? "" : "s", (long long)total, kv->nranks, kv->nranks == 1 ? "" : "s",
           kv->nthreads, kv->nthreads == 1 ? "" : "s");
    for (int q = 0; q < kv->nranks && q < 16; q++)
        printf("  rank %d: bytes [%lld, %lld) of the input, records starting there\n", q,
               (long long)(total * q / kv->nranks), (long long)(total * (q + 1) / kv->nranks));
    printf("reads: MPI_File_iread_at in pieces of %lld MiB, %lld in flight%s\n",
           (long long)kv->job->run.chunk_mb, (long long)kv->job->run.prefetch,
           kv->reader.csv
               ? "; a first pass runs the CSV automaton so that ranks cut between records"
               : "");
    printf("shuffle: MPI_Alltoallv in rounds of at most %lld MiB per rank\n",
           (long long)kv->job->run.shuffle_mb);
}

static dp_status_t map_phase(kv_t *kv)
{
    const int64_t total = kv->files.total;
    make_segments(kv, total * kv->rank / kv->nranks, total * (kv->rank + 1) / kv->nranks);
    if (kv->reader.csv)
        DP_CALL(csv_prefix(kv));
    if (kv->k->kv_header)
        DP_CALL(header(kv));
    dp_status_t st = DP_OK;
    int64_t mine = 0;
    for (int s = 0; s < kv->nseg; s++)
        mine += kv->seg[s].b - kv->seg[s].a;
    dp_progress_begin("map", "bytes", 0, mine, 1);
    for (int s = 0; s < kv->nseg && st == DP_OK; s++)
        st = dp_text_read(&kv->reader, kv->seg[s].f, kv->seg[s].a, kv->seg[s].b, kv->seg[s].state,
                          kv->seg[s].line);
    dp_progress_end();
    DP_CALL(dp_comm_agree(st, kv->comm));
    DP_CALL(tally_error(kv));
    const double t0 = MPI_Wtime();
    merge_threads(kv);
    dp_trace_time(&kv->run->t[DP_PHASE_COMPUTE], DP_TR_COMPUTE, t0);
    return DP_OK;
}

static dp_status_t run(kv_t *kv, const dp_runinfo_t *info, int dry_run)
{
    double t0 = MPI_Wtime();
    DP_CALL(dp_text_files_open(&kv->files, kv->job->input.path, kv->comm));
    kv->run->t[DP_PHASE_READ] += MPI_Wtime() - t0;
    dp_trace_span(DP_TR_SETUP, t0, MPI_Wtime());
    snprintf(kv->run->describe, sizeof kv->run->describe, "text %.80s: %d file%s, %lld bytes",
             kv->job->input.path, kv->files.n, kv->files.n == 1 ? "" : "s",
             (long long)kv->files.total);
    if (dry_run) {
        if (kv->rank == 0)
            print_plan(kv);
        return DP_OK;
    }
    kv->st = kv->k->create(kv->job->kcfg, NULL);
    DP_CALL(dp_comm_agree(kv->st ? DP_OK : dp_err_set(DP_ERR_NOMEM, "out of memory"), kv->comm));
    if (kv->k->kv_csv) {
        dp_csv_machine(&kv->machine, kv->k->kv_csv(kv->st));
        kv->reader.csv = &kv->machine;
    }
    kv->tables = dp_xcalloc((size_t)kv->nthreads, sizeof *kv->tables);
    kv->tp = dp_xcalloc((size_t)kv->nthreads, sizeof *kv->tp);
    for (int t = 0; t < kv->nthreads; t++) {
        dp_kvt_init(&kv->tables[t], kv->k->kv_value_size(kv->st));
        kv->tp[t] = &kv->tables[t];
    }
    dp_status_t st = map_phase(kv);
    for (int t = st == DP_OK ? 1 : 0; t < kv->nthreads; t++)
        free_table(kv, &kv->tables[t]);
    if (st != DP_OK)
        return st;

    dp_kvt_t owned;
    dp_kvt_init(&owned, kv->k->kv_value_size(kv->st));
    dp_shuffle_stats_t sh = {0};
    st = dp_shuffle(kv->k, kv->st, &kv->tables[0], &owned, kv->job->run.shuffle_mb << 20, kv->comm,
                    &sh);
    free_table(kv, &kv->tables[0]);
    kv->run->t[DP_PHASE_SHUFFLE] += sh.seconds;
    kv->run->t[DP_PHASE_COMMUNICATE] += sh.seconds;
    if (sh.seconds > 0)
        dp_trace_span(DP_TR_SHUFFLE, sh.started, sh.started + sh.seconds);
    dp_kv_out_t out = {0};
    if (st == DP_OK) {
        t0 = MPI_Wtime();
        st = dp_kv_output(kv->job, info, kv->st, &owned, kv->comm, &out);
        dp_trace_time(&kv->run->t[DP_PHASE_WRITE], DP_TR_WRITE, t0);
    }
    if (st == DP_OK)
        results(kv, &sh, &out);
    dp_kv_out_free(&out);
    free_table(kv, &owned);
    return st;
}

dp_status_t dp_kv_run(const dp_job_t *job, const dp_runinfo_t *info, int dry_run, MPI_Comm comm,
                      dp_kv_run_t *r)
{
    kv_t kv = {
        .job = job, .k = job->kernel, .comm = comm, .run = r, .nthreads = omp_get_max_threads()};
    MPI_Comm_rank(comm, &kv.rank);
    MPI_Comm_size(comm, &kv.nranks);
    kv.reader = (dp_text_reader_t){
        .files = &kv.files,
        .chunk = job->run.chunk_mb << 20,
        .prefetch = (int)job->run.prefetch,
        .overlap = job->run.overlap,
        .csv = NULL,
        .records = on_records,
        .ctx = &kv,
    };
    const dp_status_t st = run(&kv, info, dry_run);
    r->t[DP_PHASE_READ] += kv.reader.wait;
    r->t[DP_PHASE_READ_WAIT] += kv.reader.wait;
    r->t[DP_PHASE_READ_BUSY] += kv.reader.busy;
    r->bytes_read = kv.reader.bytes;
    free(kv.tables);
    free(kv.tp);
    free(kv.seg);
    if (kv.st && kv.k->destroy)
        kv.k->destroy(kv.st);
    dp_text_files_free(&kv.files);
    return st;
}
