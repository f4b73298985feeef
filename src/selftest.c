#include "selftest.h"

#include "driver.h"
#include "job.h"
#include "progress.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SIDE0 = 1000, SIDE1 = 300, N = SIDE0 * SIDE1 }; /* the ramp: values 0 .. N - 1 */
enum { LINES = 1000, ROWS = 999 };                     /* the text and the table */

/* One expected value in a report: a path into its JSON ("results.sum", "results.top.0.1") and
 * the value, with a relative tolerance (0: exactly). */
typedef struct {
    const char *path;
    double want;
    double tol;
} expect_t;

typedef struct {
    const char *name;  /* what is checked, for the pass/fail line */
    const char *job;   /* the job, with %1$s standing for the scratch directory */
    expect_t want[12]; /* in the report of the job */
} case_t;

/* The value at a dotted path of a JSON document (numbers; array indices as numbers). */
static const cJSON *at(const cJSON *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = strtok(buf, "."); s && j; s = strtok(NULL, "."))
        j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(s)) : cJSON_GetObjectItem(j, s);
    return j;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Checks the report of a case on rank 0; returns 1 when every value is as expected. */
static int check_report(const case_t *c, const char *report, char *why, size_t size)
{
    char *text = slurp(report);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    int ok = j != NULL;
    if (!ok)
        snprintf(why, size, "no report %.200s", report);
    for (const expect_t *e = c->want; ok && e->path; e++) {
        const cJSON *v = at(j, e->path);
        const double got = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        ok = e->tol == 0 ? got == e->want : fabs(got - e->want) <= e->tol * fabs(e->want);
        if (!ok)
            snprintf(why, size, "%s = %.17g, expected %.17g", e->path, got, e->want);
    }
    cJSON_Delete(j);
    return ok;
}

/* Writes the job text with every "%1$s" replaced by dir (the scratch directory). */
static void write_job(FILE *f, const char *text, const char *dir)
{
    static const char mark[] = "%1$s";
    for (const char *p = text, *q; *p; p = q + sizeof mark - 1) {
        q = strstr(p, mark);
        if (!q) {
            fputs(p, f);
            return;
        }
        fwrite(p, 1, (size_t)(q - p), f);
        fputs(dir, f);
    }
}

/* Runs one job from its text; returns its status (every rank the same). */
static dp_status_t run_job(const char *dir, const char *name, const char *text, MPI_Comm comm)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.ini", dir, name);
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        FILE *f = fopen(path, "w");
        if (f) {
            write_job(f, text, dir);
            fclose(f);
        }
    }
    MPI_Barrier(comm);
    dp_job_t job = {0};
    dp_status_t st = dp_job_load(&job, path, NULL, 0, comm);
    const dp_driver_opts_t opts = {.quiet = 1, .progress = DP_PROGRESS_NONE};
    if (st == DP_OK)
        st = dp_driver_run(&job, &opts, comm);
    dp_job_free(&job);
    return st;
}

/* The inputs of the key-value cases: LINES lines "alpha beta beta gamma gamma gamma", and a
 * table of ROWS rows i, g(i mod 3) for i = 0 .. ROWS - 1. */
static void write_inputs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/words.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < LINES; i++)
        fputs(i % 2 ? "alpha beta beta gamma gamma gamma\n"
                    : "Gamma, gamma; GAMMA BETA beta ALPHA!\n",
              f);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/table.csv", dir);
    f = fopen(path, "w");
    if (f) {
        fputs("value,group\n", f);
        for (int i = 0; i < ROWS; i++)
            fprintf(f, "%d,\"g%d\"\n", i, i % 3);
        fclose(f);
    }
}

#define RAMP "[input]\nsource = generate\ngenerator = ramp\nshape = 1000,300\n"
#define OUT(x) "[output]\npath = %1$s/" x ".h5\nreport = %1$s/" x ".json\noverwrite = true\n"

static const case_t cases[] = {
    {"reduce: count, exact sum, min, max, mean, median, histogram of a ramp",
     "[job]\nkernel = reduce\n" RAMP
     "[reduce]\nops = count,sum,min,max,mean,median,hist\nbins = 10\nrange = 0,300000\n" OUT(
         "reduce"),
     {{"results.count", N, 0},
      {"results.sum", (double)N *(N - 1) / 2, 0},
      {"results.min", 0, 0},
      {"results.max", N - 1, 0},
      {"results.mean", (N - 1) / 2.0, 0},
      {"results.median", (N - 1) / 2.0, 0},
      {"results.hist.counts.0", N / 10, 0},
      {"results.hist.counts.9", N / 10, 0}}},
    {"map: scale by 2, then the sum in the same pass",
     "[job]\nkernel = map\n" RAMP "[map]\nop = scale\na = 2\nthen_reduce = sum\n" OUT("map"),
     {{"results.sum", (double)N *(N - 1), 0}}},
    {"copy: a ramp written to HDF5",
     "[job]\nkernel = copy\n" RAMP "[output]\npath = %1$s/copy.h5\nreport = %1$s/copy.json\n"
     "overwrite = true\n",
     {{"elements", N, 0}}},
    {"reduce of the copy: the sum read back from HDF5",
     "[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = %1$s/copy.h5\ndataset = /data\n"
     "[reduce]\nops = sum\n[output]\nreport = %1$s/copy_sum.json\n",
     {{"results.sum", (double)N *(N - 1) / 2, 0}}},
    {"stencil: periodic heat keeps the sum of a ramp (checked by reduce)",
     "[job]\nkernel = stencil\n" RAMP "[stencil]\npreset = heat\nalpha = 0.25\n"
     "boundary = periodic\niterations = 20\n" OUT("stencil"),
     {{"results.iterations_done", 20, 0}}},
    {"reduce of the stencil's output",
     "[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = %1$s/stencil.h5\ndataset = /data\n"
     "[reduce]\nops = sum\n[output]\nreport = %1$s/stencil_sum.json\n",
     {{"results.sum", (double)N *(N - 1) / 2, 1e-12}}},
    {"wordcount: lines, words, distinct words and their counts",
     "[job]\nkernel = wordcount\n[input]\nsource = text\npath = %1$s/words.txt\n"
     "[output]\npath = %1$s/words.tsv\nreport = %1$s/words.json\noverwrite = true\n",
     {{"results.records", LINES, 0},
      {"results.total", 6 * LINES, 0},
      {"results.distinct", 3, 0},
      {"results.top.0.1", 3 * LINES, 0},
      {"results.top.1.1", 2 * LINES, 0},
      {"results.top.2.1", LINES, 0}}},
    {"groupby: rows, groups and counts of a CSV table with quoted keys",
     "[job]\nkernel = groupby\n[input]\nsource = text\npath = %1$s/table.csv\n"
     "[groupby]\nkey = group\nvalue = value\naggs = count,sum\ntop_k = 3\n"
     "[output]\npath = %1$s/table.tsv\nreport = %1$s/table.json\noverwrite = true\n",
     {{"results.records", ROWS, 0},
      {"results.distinct", 3, 0},
      {"results.top.0.1", (ROWS + 2) / 3, 0},
      {"results.bad_rows", 0, 0}}},
};

/* Removes the scratch directory and the files in it. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[4400];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "dproc: selftest: could not remove %s\n", dir);
}

int dp_selftest(const char *dir, MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char scratch[4096] = "";
    if (rank == 0) {
        snprintf(scratch, sizeof scratch, "%s/.dproc-selftest-XXXXXX", dir);
        if (!mkdtemp(scratch)) {
            fprintf(stderr, "dproc: selftest: cannot make a directory in '%s'\n", dir);
            scratch[0] = '\0';
        } else {
            write_inputs(scratch);
            printf("dproc selftest: %d rank%s x %d thread%s, scratch %s\n", nranks,
                   nranks == 1 ? "" : "s", omp_get_max_threads(),
                   omp_get_max_threads() == 1 ? "" : "s", scratch);
        }
    }
    MPI_Bcast(scratch, sizeof scratch, MPI_CHAR, 0, comm);
    if (!scratch[0])
        return 1;
    int failed = 0;
    const int ncases = (int)(sizeof cases / sizeof *cases);
    for (int i = 0; i < ncases; i++) {
        char name[16], report[4200], why[256] = "";
        snprintf(name, sizeof name, "case%d", i);
        const dp_status_t st = run_job(scratch, name, cases[i].job, comm);
        if (rank != 0)
            continue;
        int ok = st == DP_OK;
        if (!ok)
            snprintf(why, sizeof why, "%s", dp_err_msg());
        const char *rep = strstr(cases[i].job, "report = %1$s/");
        if (ok && rep) {
            char base[64];
            sscanf(rep + strlen("report = %1$s/"), "%63[^\n]", base);
            snprintf(report, sizeof report, "%s/%s", scratch, base);
            ok = check_report(&cases[i], report, why, sizeof why);
        }
        failed += !ok;
        printf("selftest: %-4s %s%s%s\n", ok ? "ok" : "FAILED", cases[i].name, ok ? "" : ": ", why);
    }
    if (rank == 0) {
        remove_dir(scratch);
        printf("selftest: %s (%d of %d checks passed)\n", failed ? "FAILED" : "passed",
               ncases - failed, ncases);
        fflush(stdout);
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, comm);
    return failed ? 1 : 0;
}
