#include "dp_test.h"
#include "err.h"
#include "job.h"
#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const GEN =
    "[job]\nkernel = reduce\n[input]\nsource = generate\nshape = 10,20\n";

/* Parses text with overrides; returns whether some diagnostic contains want (want NULL: no
 * diagnostics at all). Prints the diagnostics when the expectation fails. */
static int parse_expect(const char *text, char *const *sets, int nsets, const char *want)
{
    dp_job_t job;
    dp_diag_t diag = {0};
    int st = dp_job_parse(&job, "job.ini", text, strlen(text), sets, nsets, &diag);
    int ok;
    if (!want) {
        ok = st == DP_OK && diag.n == 0;
    } else {
        ok = 0;
        for (size_t i = 0; i < diag.n; i++)
            ok |= strstr(diag.msg[i], want) != NULL;
        ok = ok && st == DP_ERR_USAGE;
    }
    if (!ok) {
        fprintf(stderr, "\nexpected '%s', got %zu diagnostics:\n", want ? want : "(none)", diag.n);
        dp_diag_print(&diag, stderr);
    }
    dp_diag_free(&diag);
    dp_job_free(&job);
    return ok;
}

static int expect(const char *text, const char *want)
{
    return parse_expect(text, NULL, 0, want);
}

static char *with(const char *base, const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", base, extra);
    return buf;
}

static void test_valid(void)
{
    CU_ASSERT(expect(GEN, NULL));
    CU_ASSERT(expect("[job]\nkernel = copy\n[input]\nsource = raw\npath = a\ndtype = int16\n"
                     "shape = 3\noffset = 16\n[output]\npath = b.h5\n",
                     NULL));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = a.h5\n"
                     "dataset = /x\n[run]\nthreads = 2\nchunk_mb = 1\ndecomposition = 1d\n"
                     "[reduce]\nops = sum , max\n",
                     NULL));
}

static void test_parsed_values(void)
{
    const char *t = "[job]\nkernel = reduce\n[input]\nsource = generate\nshape = 7, 8 ,9\n"
                    "generator = random\nseed = 5\n[run]\nthreads = 3\n";
    char *sets[] = {"run.chunk_mb=2", "output.overwrite=yes"};
    dp_job_t job;
    dp_diag_t diag = {0};
    CU_ASSERT_EQUAL(dp_job_parse(&job, "dir/my.job.ini", t, strlen(t), sets, 2, &diag), DP_OK);
    CU_ASSERT_EQUAL(job.input.shape.ndim, 3);
    CU_ASSERT_EQUAL(job.input.shape.n[0], 7);
    CU_ASSERT_EQUAL(job.input.shape.n[2], 9);
    CU_ASSERT_EQUAL(job.input.generator, DP_GEN_RANDOM);
    CU_ASSERT_EQUAL(job.input.seed, 5);
    CU_ASSERT_EQUAL(job.run.threads, 3);
    CU_ASSERT_EQUAL(job.run.chunk_mb, 2);
    CU_ASSERT_EQUAL(job.run.decomposition, DP_DECOMP_AUTO);
    CU_ASSERT_EQUAL(job.output.overwrite, 1);
    CU_ASSERT_STRING_EQUAL(job.job.name, "my.job");
    CU_ASSERT_STRING_EQUAL(job.output.dataset, "/results");
    CU_ASSERT_PTR_NOT_NULL(strstr(job.text, "shape = 7, 8 ,9"));
    CU_ASSERT_PTR_NOT_NULL(strstr(job.text, "; --set run.chunk_mb=2"));
    /* the effective job: the override is the value of its key, in its section */
    CU_ASSERT_PTR_NOT_NULL(strstr(job.text, "[run]\nthreads = 3\nchunk_mb = 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(job.text, "[output]\noverwrite = yes\n"));
    CU_ASSERT_PTR_EQUAL(job.kernel, dp_kernel_find("reduce"));
    dp_job_free(&job);
    dp_diag_free(&diag);
}

static void test_job_section(void)
{
    CU_ASSERT(expect("[job]\nname = x\n[input]\nsource = generate\nshape = 3\n",
                     "job.ini:1: [job] kernel: missing (required"));
    CU_ASSERT(expect("[job]\nkernel = reduse\n", "job.ini:2: [job] kernel: unknown kernel "
                                                 "'reduse', did you mean 'reduce'?"));
    CU_ASSERT(expect(with(GEN, "[job]\n"), "job.ini:6: [job]: section appears twice"));
    CU_ASSERT(expect("[job]\nkernal = reduce\n",
                     "job.ini:2: [job] kernal: unknown key, did you mean 'kernel'?"));
}

static void test_sections(void)
{
    CU_ASSERT(expect(with(GEN, "[inptu]\nx = 1\n"),
                     "job.ini:6: [inptu]: unknown section, did you mean [input]?"));
    CU_ASSERT(expect(with(GEN, "[zzzzzz]\n"), "job.ini:6: [zzzzzz]: unknown section (sections:"));
    CU_ASSERT(expect("[job]\nkernel = copy\n[input]\nsource = generate\nshape = 3\n[output]\n"
                     "path = o.h5\n[reduce]\nops = sum\n",
                     "job.ini:8: [reduce]: section of kernel 'reduce', but [job] kernel = copy"));
}

static void test_input(void)
{
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = hdf\n",
                     "job.ini:4: [input] source: unknown value 'hdf', did you mean 'hdf5'?"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = generate\n",
                     "job.ini:3: [input] shape: missing (required with source = generate)"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = hdf5\ndataset = /d\n",
                     "[input] path: missing (required with source = hdf5)"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = f.h5\n",
                     "[input] dataset: missing (required with source = hdf5)"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = raw\npath = f\nshape = 4\n",
                     "[input] dtype: missing (required with source = raw)"));
    CU_ASSERT(expect(with(GEN, "dtype = int8\n"),
                     "job.ini:6: [input] dtype: not used with source = generate"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = f.h5\n"
                     "dataset = /d\nshape = 3\n",
                     "job.ini:7: [input] shape: not used with source = hdf5 (the shape comes"));
    CU_ASSERT(expect(with(GEN, "seed = 3\n"),
                     "job.ini:6: [input] seed: used only by generator = random"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = raw\npath = f\nshape = 4\n"
                     "dtype = float16\n",
                     "job.ini:7: [input] dtype: unknown value 'float16'"));
    CU_ASSERT(expect("[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = f.h5\n"
                     "dataset = d\n",
                     "job.ini:6: [input] dataset: 'd' must be an absolute path"));
}

static void test_shapes(void)
{
    const char *head = "[job]\nkernel = reduce\n[input]\nsource = generate\n";
    CU_ASSERT(expect(with(head, "shape = 0,3\n"),
                     "job.ini:5: [input] shape: '0,3': every extent must be at least 1"));
    CU_ASSERT(expect(with(head, "shape = -4\n"), "job.ini:5: [input] shape: '-4': expected"));
    CU_ASSERT(expect(with(head, "shape = 1,2,3,4\n"), "more than 3 dimensions"));
    CU_ASSERT(expect(with(head, "shape = a,b\n"), "expected positive whole numbers"));
    CU_ASSERT(expect(with(head, "shape = 3,,4\n"), "expected positive whole numbers"));
    CU_ASSERT(expect(with(head, "shape = 99999999999999999999\n"), "does not fit in 64 bits"));
    CU_ASSERT(expect(with(head, "shape = 4294967296,4294967296,4294967296\n"),
                     "job.ini:5: [input] shape: 4294967296x4294967296x4294967296 elements of 8 "
                     "bytes exceed 2^63 bytes"));
    CU_ASSERT(expect(with(head, "shape = 1073741824,1073741824\n"), "exceed 2^63 bytes"));
    CU_ASSERT(expect(with(head, "shape = 1073741824,1073741823\n"), NULL));
    CU_ASSERT(expect(with(head, "shape = 5,5\n[run]\ndecomposition = 3d\n"),
                     "job.ini:7: [run] decomposition: 3d needs an array of at least 3 dimensions"));
}

static void test_run_values(void)
{
    CU_ASSERT(expect(with(GEN, "[run]\nthreads = two\n"),
                     "job.ini:7: [run] threads: 'two' is not a whole number"));
    CU_ASSERT(expect(with(GEN, "[run]\nthreads = 5000\n"),
                     "job.ini:7: [run] threads: 5000 is out of range (0 to 4096)"));
    CU_ASSERT(expect(with(GEN, "[run]\nchunk_mb = 0\n"), "[run] chunk_mb: 0 is out of range"));
    CU_ASSERT(expect(with(GEN, "[run]\nchunk_mb = 99999999999999999999999\n"),
                     "chunk_mb: 99999999999999999999999 is out of range"));
    CU_ASSERT(expect(with(GEN, "[run]\nchunk_mb = 2.5\n"), "'2.5' is not a whole number"));
    CU_ASSERT(expect(with(GEN, "[run]\ndecomposition = 2D\n"),
                     "[run] decomposition: unknown value '2D', did you mean '2d'?"));
    CU_ASSERT(expect(with(GEN, "[run]\nthreads =\n"), "[run] threads: '' is not a whole number"));
}

static void test_output(void)
{
    CU_ASSERT(expect(with(GEN, "[output]\noverwrite = maybe\n"),
                     "job.ini:7: [output] overwrite: 'maybe' is not a boolean"));
    CU_ASSERT(expect(with(GEN, "[output]\nreport =\n"), "job.ini:7: [output] report: empty value"));
    CU_ASSERT(expect("[job]\nkernel = copy\n[input]\nsource = generate\nshape = 3\n",
                     "[output] path: missing (kernel copy writes an array)"));
    CU_ASSERT(expect("[job]\nkernel = copy\n[input]\nsource = raw\npath = a.bin\ndtype = int8\n"
                     "shape = 3\n[output]\npath = a.bin\n",
                     "job.ini:9: [output] path: is the input file"));
    CU_ASSERT(expect(with(GEN, "[output]\npath = a.h5\nreport = a.h5\n"),
                     "job.ini:8: [output] report: is the same file as [output] path"));
}

static void test_reduce_section(void)
{
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = sum,mode\n"),
                     "job.ini:7: [reduce] ops: unknown value 'mode'"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = sum\nrange = 0,1\n"),
                     "job.ini:8: [reduce] range: used only with hist in ops"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = hist\nrange = 0,1,2\n"),
                     "job.ini:8: [reduce] range: expected two numbers lo,hi"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = hist\nrange = 1,0.5\n"),
                     "job.ini:8: [reduce] range: lo must not be larger than hi"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = hist\nrange = 1e16,1e16\n"),
                     "job.ini:8: [reduce] range: lo equals hi, which is too large to widen to "
                     "lo - 0.5, hi + 0.5 as numpy does: give lo < hi"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = hist\nrange = -1e308,1e308\n"),
                     "job.ini:8: [reduce] range: hi - lo overflows a double (the bins' width is "
                     "computed from it)"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = hist\nrange = 0,1e400\n"),
                     "job.ini:8: [reduce] range: 1e400 overflows a double"));
    CU_ASSERT(expect(with(GEN, "[reduce]\npercentiles = 50,101\n"),
                     "job.ini:7: [reduce] percentiles: 101 is out of range (0 to 100)"));
    CU_ASSERT(expect(with(GEN, "[reduce]\npercentiles = 50,x\n"),
                     "job.ini:7: [reduce] percentiles: 'x' is not a number"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nnan = ignore\n"),
                     "job.ini:7: [reduce] nan: unknown value 'ignore' (allowed: skip, "));
    CU_ASSERT(expect(with(GEN, "[reduce]\nddof = 2\n"), "[reduce] ddof: 2 is out of range"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = sum,argmax\naxis = 1\n"),
                     "job.ini:8: [reduce] axis: with an axis, ops may be count, sum"));
    CU_ASSERT(expect(with(GEN, "[reduce]\npercentiles = 50\naxis = 0\n"),
                     "job.ini:8: [reduce] axis: with an axis"));
    CU_ASSERT(expect(with(GEN, "[reduce]\naxis = 3\n"),
                     "[reduce] axis: axis 3, but the data have 2 dimensions (axes 0 to 1)"));
    CU_ASSERT(expect(with(GEN, "[reduce]\naxis = 32\n"), "[reduce] axis: unknown value '32'"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = mean,std\naxis = 1\n"), NULL));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = hist,median\nbins = 10\nrange = -1.5, 2\n"
                               "percentiles = 1, 99.99\nnan = propagate\nddof = 1\n"),
                     NULL));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = sum,mx\n"), "did you mean 'max'?"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nops = sum,sum\n"), "'sum' is listed twice"));
    CU_ASSERT(expect(with(GEN, "[reduce]\nopz = sum\n"),
                     "job.ini:7: [reduce] opz: unknown key, did you mean 'ops'?"));
    CU_ASSERT(expect("[job]\nkernel = copy\n[input]\nsource = generate\nshape = 3\n[output]\n"
                     "path = o.h5\n[copy]\nx = 1\n",
                     "job.ini:9: [copy] x: unknown key (this section has none)"));
}

static void test_overrides(void)
{
    char *bad_key[] = {"run.thread=2"};
    CU_ASSERT(parse_expect(GEN, bad_key, 1,
                           "--set run.thread=2: [run] thread: unknown key, did you mean "
                           "'threads'?"));
    char *bad_value[] = {"run.threads=x"};
    CU_ASSERT(parse_expect(GEN, bad_value, 1,
                           "--set run.threads=x: [run] threads: 'x' is not a whole number"));
    char *fix[] = {"input.shape=4,4"};
    CU_ASSERT(parse_expect("[job]\nkernel = reduce\n[input]\nsource = generate\nshape = 0\n", fix,
                           1, NULL));
    char *nodot[] = {"threads=2"};
    CU_ASSERT(parse_expect(GEN, nodot, 1, "--set threads=2: expected --set section.key=value"));
}

static void test_real_option(void)
{
    typedef struct {
        double x;
    } cfg_t;
    static const dp_opt_t table[] = {
        {.key = "x",
         .type = DP_OPT_REAL,
         .def = "0.5",
         .min = -1,
         .max = 1e300,
         .offset = 0,
         .help = "x"},
        {0},
    };
    struct {
        const char *v;
        const char *want;
    } cases[] = {{"1e400", "1e400 overflows a double"},
                 {"-2", "-2 is out of range"},
                 {"nan", "nan is out of range"},
                 {"1.5x", "'1.5x' is not a number"},
                 {"0.25", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "[s]\nx = %s\n", cases[i].v);
        dp_ini_t ini = {0};
        dp_diag_t diag = {0};
        dp_ini_parse(&ini, "t.ini", text, strlen(text), &diag);
        cfg_t cfg = {0};
        dp_opts_parse(table, "s", &ini, &cfg, &diag);
        if (cases[i].want) {
            CU_ASSERT(diag.n == 1 && strstr(diag.msg[0], cases[i].want));
        } else {
            CU_ASSERT(diag.n == 0 && cfg.x == 0.25);
        }
        dp_ini_free(&ini);
        dp_diag_free(&diag);
    }
}

static void test_files(void)
{
    char dir[] = "/tmp/dp_test_job_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char in[256], out[256], text[2048];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    FILE *f = fopen(in, "w");
    fputs("abc", f);
    fclose(f);
    f = fopen(out, "w");
    fputs("old", f);
    fclose(f);
    struct {
        const char *out;
        const char *extra;
        const char *want;
    } cases[] = {
        {"/out.h5", "", "[output] path: '"},
        {"/out.h5", "overwrite = true\n", NULL},
        {"/sub/../in.bin", "overwrite = true\n", "is the input file"},
        {"/nodir/x.h5", "", "does not exist"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char o[300];
        snprintf(o, sizeof o, "%s%s", dir, cases[i].out);
        snprintf(text, sizeof text,
                 "[job]\nkernel = copy\n[input]\nsource = raw\npath = %s\ndtype = int8\n"
                 "shape = 3\n[output]\npath = %s\n%s",
                 in, o, cases[i].extra);
        char sub[300];
        snprintf(sub, sizeof sub, "%s/sub", dir);
        mkdir(sub, 0700);
        dp_job_t job;
        dp_diag_t diag = {0};
        CU_ASSERT_EQUAL(dp_job_parse(&job, "j.ini", text, strlen(text), NULL, 0, &diag), DP_OK);
        dp_job_check_files(&job, &diag);
        if (cases[i].want) {
            CU_ASSERT(diag.n == 1 && strstr(diag.msg[0], cases[i].want) &&
                      strstr(diag.msg[0], "j.ini:9: [output] path: "));
        } else {
            CU_ASSERT_EQUAL(diag.n, 0);
        }
        dp_diag_free(&diag);
        dp_job_free(&job);
        rmdir(sub);
    }
    unlink(in);
    unlink(out);
    rmdir(dir);
}

static void test_reference(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dp_job_print_reference(f);
    fclose(f);
    const char *keys[] = {"### [job]",     "`kernel`",   "`name`",          "### [input]",
                          "`source`",      "`path`",     "`dataset`",       "`dtype`",
                          "`shape`",       "`offset`",   "`generator`",     "`seed`",
                          "### [output]",  "`report`",   "`overwrite`",     "### [run]",
                          "`threads`",     "`chunk_mb`", "`decomposition`", "### [reduce]",
                          "`ops`",         "`ddof`",     "`bins`",          "`range`",
                          "`percentiles`", "`nan`",      "`axis`",          "### [copy]"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, keys[i]));
    free(buf);
}

int main(void)
{
    static const dp_test_case_t cases[] = {
        {"valid jobs", test_valid},
        {"parsed values and overrides", test_parsed_values},
        {"[job] errors", test_job_section},
        {"unknown and foreign sections", test_sections},
        {"[input] errors", test_input},
        {"shape errors and overflow", test_shapes},
        {"[run] errors", test_run_values},
        {"[output] errors", test_output},
        {"[reduce] errors", test_reduce_section},
        {"--set overrides", test_overrides},
        {"real-valued options", test_real_option},
        {"file checks", test_files},
        {"job-file reference", test_reference},
        {NULL, NULL},
    };
    return dp_test_main("job", cases);
}
