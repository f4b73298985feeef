#include "job.h"

#include "err.h"
#include "opts.h"
#include "plugin.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OFF(type, field) offsetof(type, field)

static const dp_opt_t job_opts[] = {
    {.key = "name",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_job_section_t, name),
     .help = "name of the job in the report (default: the job file's name without .ini)"},
    {.key = "kernel",
     .type = DP_OPT_STRING,
     .required = 1,
     .offset = OFF(dp_job_section_t, kernel),
     .help = "the kernel to run: a name from dproc --list-kernels"},
    {.key = "plugin",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_job_section_t, plugin),
     .help = "plugin files (shared objects of kernels, docs/kernels.md) to load, comma-separated; "
             "a name without '/' is looked for in the directories of DPROC_PLUGIN_PATH, then in "
             "the working directory"},
    {0},
};

static const dp_opt_t input_opts[] = {
    {.key = "source",
     .type = DP_OPT_CHOICE,
     .required = 1,
     .allowed = DP_SOURCE_NAMES,
     .offset = OFF(dp_input_t, source),
     .help = "where the data comes from"},
    {.key = "path",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_input_t, path),
     .help = "input file (hdf5, raw; required there); text: a file, a directory (its regular "
             "files, sorted by name) or a glob pattern such as logs/*.txt"},
    {.key = "dataset",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_input_t, dataset),
     .help = "dataset path inside the HDF5 file, e.g. /data (hdf5; required there)"},
    {.key = "dtype",
     .type = DP_OPT_CHOICE,
     .allowed = DP_DTYPE_NAMES,
     .offset = OFF(dp_input_t, dtype),
     .help = "element type of a raw file, native byte order (raw; required there)"},
    {.key = "shape",
     .type = DP_OPT_SHAPE,
     .offset = OFF(dp_input_t, shape),
     .help = "extents, slowest first, e.g. 400,300 (raw, generate; required there)"},
    {.key = "offset",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 9.2e18,
     .offset = OFF(dp_input_t, offset),
     .help = "header bytes to skip at the start of a raw file (raw)"},
    {.key = "generator",
     .type = DP_OPT_CHOICE,
     .def = "ramp",
     .allowed = DP_GENERATOR_NAMES,
     .offset = OFF(dp_input_t, generator),
     .help = "ramp: value = row-major global index; random: uniform in [0,1) from a hash of "
             "seed and index; bump: Gaussian bump, sigma 0.1 of each extent (generate)"},
    {.key = "seed",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 9.2e18,
     .offset = OFF(dp_input_t, seed),
     .help = "seed of generator = random (generate)"},
    {0},
};

static const dp_opt_t output_opts[] = {
    {.key = "path",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_output_t, path),
     .help = "HDF5 file to write (required for kernels that produce an array); written under a "
             "temporary name and renamed into place when the job succeeded"},
    {.key = "dataset",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_output_t, dataset),
     .help = "array kernels: the output dataset (default /data); reduce: the group that gets one "
             "dataset per result (default /results); key-value kernels with format = hdf5: the "
             "table (default /wordcount, /groupby)"},
    {.key = "report",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_output_t, report),
     .help = "JSON report to write (replaced on every run)"},
    {.key = "overwrite",
     .type = DP_OPT_BOOL,
     .def = "false",
     .offset = OFF(dp_output_t, overwrite),
     .help = "replace an existing output file"},
    {.key = "format",
     .type = DP_OPT_CHOICE,
     .def = "tsv",
     .allowed = "tsv|hdf5",
     .offset = OFF(dp_output_t, format),
     .help = "key-value kernels (wordcount, groupby): tsv, one key per line with a header line; "
             "or hdf5, a compound dataset (key, then the value columns)"},
    {.key = "checksum",
     .type = DP_OPT_BOOL,
     .def = "false",
     .offset = OFF(dp_output_t, checksum),
     .help = "store the output's arrays in chunks with HDF5's Fletcher32 checksum filter, "
             "checked on every read (dproc verify names a corrupt dataset); every dataset "
             "carries its digest (dproc_digest) either way. Not for map and copy, whose output "
             "is written by MPI-IO straight into a contiguous dataset"},
    {.key = "trace",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_output_t, trace),
     .help = "Chrome trace-event JSON of every rank's phases (read, compute, halo, reduce, "
             "write, ...) on clocks aligned to rank 0's; open it in Perfetto or draw it with "
             "dproc plot trace (replaced on every run)"},
    {.key = "preview",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_output_t, preview),
     .help = "PNG heat map, with a colour bar, of a 2-D dataset of the output (or a slice of a "
             "3-D one) drawn when the job succeeded; needs [output] path"},
    {.key = "preview_dataset",
     .type = DP_OPT_STRING,
     .offset = OFF(dp_output_t, preview_dataset),
     .help = "the dataset drawn by preview (default: [output] dataset; required for reduce, "
             "e.g. /results/mean with axis)"},
    {.key = "preview_axis",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 2,
     .offset = OFF(dp_output_t, preview_axis),
     .help = "a 3-D dataset is drawn as the slice across this axis"},
    {.key = "preview_index",
     .type = DP_OPT_INT,
     .def = "-1",
     .min = -1,
     .max = 9.2e18,
     .offset = OFF(dp_output_t, preview_index),
     .help = "where along preview_axis the slice is taken; -1: the middle"},
    {0},
};

static const dp_opt_t run_opts[] = {
    {.key = "threads",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 4096,
     .offset = OFF(dp_run_t, threads),
     .help = "OpenMP threads per rank; 0 takes OMP_NUM_THREADS (or the OpenMP default)"},
    {.key = "chunk_mb",
     .type = DP_OPT_INT,
     .def = "2",
     .min = 1,
     .max = 1048576,
     .offset = OFF(dp_run_t, chunk_mb),
     .help = "largest read request per rank in MiB: a block is read and processed in pieces of "
             "at most this size (at least one row of the block; deeper for a reduction along axis "
             "0, see docs/reduce.md); small pieces stay in the cache from the read's copy to the "
             "compute"},
    {.key = "decomposition",
     .type = DP_OPT_CHOICE,
     .def = "auto",
     .allowed = DP_DECOMP_NAMES,
     .offset = OFF(dp_run_t, decomposition),
     .help = "how the array is split over ranks: 1d splits the first axis, 2d the first two, 3d "
             "all three; auto picks the most even split with the least surface"},
    {.key = "overlap",
     .type = DP_OPT_BOOL,
     .def = "true",
     .offset = OFF(dp_run_t, overlap),
     .help = "keep reads (and writes) in flight while computing, and compute a stencil's "
             "interior while its halo messages travel (false: read, then compute; exchange, then "
             "compute; to measure what overlapping gains)"},
    {.key = "memory_mb",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 1048576,
     .offset = OFF(dp_run_t, memory_mb),
     .help = "bound on each rank's data buffers in MiB (0: none); a block that does not fit is "
             "streamed in smaller pieces and read again for each extra pass"},
    {.key = "prefetch",
     .type = DP_OPT_INT,
     .def = "2",
     .min = 1,
     .max = 64,
     .offset = OFF(dp_run_t, prefetch),
     .help = "reads in flight per rank while it computes on the piece that arrived (with "
             "overlap; reads of raw files, contiguous HDF5 datasets and text)"},
    {.key = "shuffle_mb",
     .type = DP_OPT_INT,
     .def = "64",
     .min = 1,
     .max = 1024,
     .offset = OFF(dp_run_t, shuffle_mb),
     .help = "key-value kernels: bound on what a rank sends (and receives) per shuffle round, "
             "in MiB; more keys take more rounds"},
    {0},
};

typedef struct {
    const char *name;
    const dp_opt_t *opts;
    size_t offset; /* of the section's struct in dp_job_t */
    const char *help;
} section_t;

static const section_t sections[] = {
    {"job", job_opts, OFF(dp_job_t, job), "what to run"},
    {"input", input_opts, OFF(dp_job_t, input), "where the data comes from"},
    {"output", output_opts, OFF(dp_job_t, output), "what is written"},
    {"run", run_opts, OFF(dp_job_t, run), "how it runs"},
    {NULL, NULL, 0, NULL},
};

static const char *const dtype_names[] = {"int8",   "int16",  "int32",  "int64",   "uint8",
                                          "uint16", "uint32", "uint64", "float32", "float64"};
static const int dtype_sizes[] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8};

int dp_dtype_size(dp_dtype_t t)
{
    return dtype_sizes[t];
}

const char *dp_dtype_name(dp_dtype_t t)
{
    return dtype_names[t];
}

/* All section names the job file may hold, '|'-separated, for suggestions. */
static void known_sections(char *buf, size_t size)
{
    size_t j = 0;
    buf[0] = '\0';
    for (const section_t *s = sections; s->name; s++)
        j += (size_t)snprintf(buf + j, size - j, "%s%s", j ? "|" : "", s->name);
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++)
        if ((*k)->opts && (*k)->opts[0].key)
            j += (size_t)snprintf(buf + j, size - j, "|%s", (*k)->name);
}

static void kernel_names(char *buf, size_t size)
{
    size_t j = 0;
    buf[0] = '\0';
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++)
        j += (size_t)snprintf(buf + j, size - j, "%s%s", j ? "|" : "", (*k)->name);
}

static void commas(char *s)
{
    for (; *s; s++)
        if (*s == '|')
            *s = ',';
}

static void check_sections(dp_job_t *job, dp_diag_t *diag)
{
    char names[512];
    known_sections(names, sizeof names);
    for (size_t i = 0; i < job->ini.nsec; i++) {
        const dp_ini_section_t *s = &job->ini.sec[i];
        int known = 0;
        for (const section_t *t = sections; t->name; t++)
            known |= !strcmp(t->name, s->name);
        if (known)
            continue;
        const dp_kernel_t *k = dp_kernel_find(s->name);
        if (k && k->opts && k->opts[0].key) {
            if (job->kernel && job->kernel != k && job->then != k)
                dp_diag_add(diag, s->where, s->name, NULL,
                            "section of kernel '%s', but [job] kernel = %s (remove the section%s)",
                            k->name, job->kernel->name,
                            job->kernel->then_reduce && k->kind == DP_KERNEL_REDUCE
                                ? ", or set then_reduce in [map]"
                                : "");
            continue;
        }
        if (job->plugin_failed) /* likely the section of a kernel of the plugin refused */
            continue;
        const char *sug = dp_opts_suggest(s->name, names);
        char list[512];
        snprintf(list, sizeof list, "%s", names);
        commas(list);
        dp_diag_add(diag, s->where, s->name, NULL, "unknown section%s%s%s (sections: %s)",
                    sug ? ", did you mean [" : "", sug ? sug : "", sug ? "]?" : "", list);
    }
}

static void key_list(const dp_opt_t *opts, char *buf, size_t size)
{
    size_t j = 0;
    buf[0] = '\0';
    for (const dp_opt_t *o = opts; o && o->key; o++)
        j += (size_t)snprintf(buf + j, size - j, "%s%s", j ? "|" : "", o->key);
}

static void check_unknown_keys(dp_job_t *job, dp_diag_t *diag)
{
    for (size_t i = 0; i < job->ini.n; i++) {
        dp_ini_entry_t *e = &job->ini.e[i];
        if (e->used)
            continue;
        const dp_opt_t *opts = NULL;
        for (const section_t *t = sections; t->name; t++)
            if (!strcmp(t->name, e->section))
                opts = t->opts;
        if (!opts && job->kernel && !strcmp(job->kernel->name, e->section))
            opts = job->kernel->opts;
        if (!opts && job->then && !strcmp(job->then->name, e->section))
            opts = job->then->opts;
        if (!opts)
            continue; /* the section itself was reported */
        char keys[512];
        key_list(opts, keys, sizeof keys);
        const char *sug = dp_opts_suggest(e->key, keys);
        commas(keys);
        if (!keys[0])
            dp_diag_add(diag, e->where, e->section, e->key, "unknown key (this section has none)");
        else
            dp_diag_add(diag, e->where, e->section, e->key, "unknown key%s%s%s (keys: %s)",
                        sug ? ", did you mean '" : "", sug ? sug : "", sug ? "'?" : "", keys);
    }
}

/* Reports a key given for a source that does not use it. */
static void refuse_key(dp_job_t *job, const char *key, const char *why, dp_diag_t *diag)
{
    if (dp_opts_given(&job->ini, "input", key))
        dp_diag_add(diag, dp_opts_where(&job->ini, "input", key), "input", key,
                    "not used with source = %s (remove it)", why);
}

static void require_key(dp_job_t *job, const char *key, const char *source, dp_diag_t *diag)
{
    if (!dp_opts_given(&job->ini, "input", key) && !job->ini.bad_lines)
        dp_diag_add(diag, dp_opts_where(&job->ini, "input", NULL), "input", key,
                    "missing (required with source = %s)", source);
}

/* Whether [input] source names a source: the keys that depend on it are checked only then. */
static int source_named(const dp_job_t *job)
{
    const dp_ini_entry_t *e = dp_ini_find(&job->ini, "input", "source");
    return e && dp_opts_word_index(DP_SOURCE_NAMES, e->value, strlen(e->value)) >= 0;
}

static void check_input(dp_job_t *job, dp_diag_t *diag)
{
    static const char *const src_names[] = {"hdf5", "raw", "generate", "text"};
    if (!source_named(job))
        return; /* its own message says why */
    const char *src = src_names[job->input.source];
    switch ((dp_source_kind_t)job->input.source) {
    case DP_SRC_HDF5:
        require_key(job, "path", src, diag);
        require_key(job, "dataset", src, diag);
        refuse_key(job, "dtype", "hdf5 (the type comes from the file)", diag);
        refuse_key(job, "shape", "hdf5 (the shape comes from the file)", diag);
        refuse_key(job, "offset", "hdf5", diag);
        refuse_key(job, "generator", "hdf5", diag);
        refuse_key(job, "seed", "hdf5", diag);
        break;
    case DP_SRC_RAW:
        require_key(job, "path", src, diag);
        require_key(job, "dtype", src, diag);
        require_key(job, "shape", src, diag);
        refuse_key(job, "dataset", "raw", diag);
        refuse_key(job, "generator", "raw", diag);
        refuse_key(job, "seed", "raw", diag);
        break;
    case DP_SRC_GENERATE:
        require_key(job, "shape", src, diag);
        refuse_key(job, "path", "generate", diag);
        refuse_key(job, "dataset", "generate", diag);
        refuse_key(job, "dtype", "generate", diag);
        refuse_key(job, "offset", "generate", diag);
        if (job->input.generator != DP_GEN_RANDOM && dp_opts_given(&job->ini, "input", "seed"))
            dp_diag_add(diag, dp_opts_where(&job->ini, "input", "seed"), "input", "seed",
                        "used only by generator = random");
        break;
    case DP_SRC_TEXT:
        require_key(job, "path", src, diag);
        refuse_key(job, "dataset", "text", diag);
        refuse_key(job, "dtype", "text", diag);
        refuse_key(job, "shape", "text", diag);
        refuse_key(job, "offset", "text", diag);
        refuse_key(job, "generator", "text", diag);
        refuse_key(job, "seed", "text", diag);
        break;
    }
    const int kv = job->kernel && job->kernel->kind == DP_KERNEL_KEYVALUE;
    if (job->kernel && kv != (job->input.source == DP_SRC_TEXT))
        dp_diag_add(diag, dp_opts_where(&job->ini, "input", "source"), "input", "source",
                    kv ? "kernel %s reads text: source = text"
                       : "text is read by the key-value kernels (wordcount, groupby), not by %s",
                    job->kernel->name);
    if (!kv && dp_opts_given(&job->ini, "output", "format"))
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "format"), "output", "format",
                    "used only by the key-value kernels (wordcount, groupby)");
    if (!kv && dp_opts_given(&job->ini, "run", "shuffle_mb"))
        dp_diag_add(diag, dp_opts_where(&job->ini, "run", "shuffle_mb"), "run", "shuffle_mb",
                    "used only by the key-value kernels (wordcount, groupby)");
    if (dp_opts_given(&job->ini, "input", "shape") && job->input.shape.ndim > 0) {
        int64_t n = 1;
        int over = 0;
        for (int d = 0; d < job->input.shape.ndim; d++)
            over |= __builtin_mul_overflow(n, job->input.shape.n[d], &n);
        over |= __builtin_mul_overflow(n, (int64_t)sizeof(double), &n);
        if (over) {
            char s[96];
            dp_diag_add(diag, dp_opts_where(&job->ini, "input", "shape"), "input", "shape",
                        "%s elements of 8 bytes exceed 2^63 bytes",
                        dp_shape_str(&job->input.shape, s, sizeof s));
        }
        int nd = job->input.shape.ndim, dec = job->run.decomposition;
        if ((dec == DP_DECOMP_2D && nd < 2) || (dec == DP_DECOMP_3D && nd < 3))
            dp_diag_add(diag, dp_opts_where(&job->ini, "run", "decomposition"), "run",
                        "decomposition",
                        "%s needs an array of at least %d dimensions; [input] "
                        "shape has %d",
                        dec == DP_DECOMP_2D ? "2d" : "3d", dec == DP_DECOMP_2D ? 2 : 3, nd);
    }
}

static void check_output(dp_job_t *job, dp_diag_t *diag)
{
    if (job->kernel && job->kernel->kind == DP_KERNEL_MAP && !job->output.path)
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", NULL), "output", "path",
                    "missing (kernel %s writes an array)", job->kernel->name);
    const int kv = job->kernel && job->kernel->kind == DP_KERNEL_KEYVALUE;
    if (kv && job->output.dataset && job->output.format != 1)
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "dataset"), "output", "dataset",
                    "used only with format = hdf5");
    if (kv && job->output.format == 1 && !job->output.path)
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "format"), "output", "path",
                    "missing (format = hdf5 names the format of [output] path)");
    if (!job->output.dataset) {
        char def[80];
        snprintf(def, sizeof def, "/%s", kv ? job->kernel->name : "data");
        job->output.dataset =
            dp_xstrdup(job->kernel && job->kernel->kind == DP_KERNEL_REDUCE ? "/results" : def);
    } else if (job->output.dataset[0] != '/')
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "dataset"), "output", "dataset",
                    "'%.64s' must be an absolute path inside the file, e.g. /data",
                    job->output.dataset);
    if (job->input.dataset && job->input.dataset[0] != '/')
        dp_diag_add(diag, dp_opts_where(&job->ini, "input", "dataset"), "input", "dataset",
                    "'%.64s' must be an absolute path inside the file, e.g. /data",
                    job->input.dataset);
    if (job->output.path && job->input.path && !strcmp(job->output.path, job->input.path))
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "path"), "output", "path",
                    "is the input file: dproc never writes onto its input");
    if (job->output.checksum) {
        const dp_where_t at = dp_opts_where(&job->ini, "output", "checksum");
        if (!job->output.path)
            dp_diag_add(diag, at, "output", "checksum", "needs [output] path (an HDF5 file)");
        else if (job->kernel && job->kernel->kind == DP_KERNEL_MAP)
            dp_diag_add(diag, at, "output", "checksum",
                        "kernel %s writes its output with MPI-IO straight into a contiguous "
                        "dataset, which HDF5's checksum filter cannot cover (the dataset's "
                        "dproc_digest, checked by dproc verify, is written anyway)",
                        job->kernel->name);
        else if (kv && job->output.format != 1)
            dp_diag_add(diag, at, "output", "checksum",
                        "used only with format = hdf5 (a TSV file has no checksum filter)");
    }
    if (job->output.path && job->output.report && !strcmp(job->output.path, job->output.report))
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "report"), "output", "report",
                    "is the same file as [output] path");
}

/* [output] preview: drawn from an array the output file holds, of 2 or 3 dimensions. */
#ifdef DP_SMPI
/* dproc-smpi, the build for SimGrid's simulator (docs/scaling.md): its hosts have no files, so
 * a simulated job generates its input and keeps its results in the report. */
static void check_simulated(dp_job_t *job, dp_diag_t *diag)
{
    static const char *const written[][2] = {
        {"output", "path"}, {"output", "trace"}, {"output", "preview"}};
    if (job->input.source != DP_SRC_GENERATE)
        dp_diag_add(diag, dp_opts_where(&job->ini, "input", "source"), "input", "source",
                    "dproc-smpi (SimGrid's simulated hosts have no files) reads only source = "
                    "generate; run this job with the real build");
    for (size_t i = 0; i < sizeof written / sizeof *written; i++)
        if (dp_opts_given(&job->ini, written[i][0], written[i][1]))
            dp_diag_add(diag, dp_opts_where(&job->ini, written[i][0], written[i][1]), written[i][0],
                        written[i][1],
                        "dproc-smpi (SimGrid's simulated hosts have no files) writes only the "
                        "report; remove it or run the real build");
    if (job->kernel && job->kernel->kind == DP_KERNEL_KEYVALUE)
        dp_diag_add(diag, dp_opts_where(&job->ini, "job", "kernel"), "job", "kernel",
                    "dproc-smpi cannot run %s: key-value kernels read text files and write a "
                    "table",
                    job->kernel->name);
    static const char *const stencil_files[] = {"checkpoint_path", "snapshot_path"};
    for (size_t i = 0; job->kernel && i < 2; i++)
        if (dp_opts_given(&job->ini, job->kernel->name, stencil_files[i]))
            dp_diag_add(diag, dp_opts_where(&job->ini, job->kernel->name, stencil_files[i]),
                        job->kernel->name, stencil_files[i],
                        "dproc-smpi (SimGrid's simulated hosts have no files) writes only the "
                        "report; remove it or run the real build");
}
#endif

static void check_preview(dp_job_t *job, dp_diag_t *diag)
{
    static const char *const keys[] = {"preview_dataset", "preview_axis", "preview_index"};
    const dp_output_t *o = &job->output;
    if (!o->preview) {
        for (int i = 0; i < 3; i++)
            if (dp_opts_given(&job->ini, "output", keys[i]))
                dp_diag_add(diag, dp_opts_where(&job->ini, "output", keys[i]), "output", keys[i],
                            "used only with preview");
        return;
    }
    const dp_where_t at = dp_opts_where(&job->ini, "output", "preview");
    const int kind = job->kernel ? (int)job->kernel->kind : -1;
    if (!o->path)
        dp_diag_add(diag, at, "output", "preview",
                    "needs [output] path: the picture is drawn from the output file");
    else if (kind == DP_KERNEL_KEYVALUE)
        dp_diag_add(diag, at, "output", "preview", "kernel %s writes a table, not an array to draw",
                    job->kernel->name);
    else if (kind == DP_KERNEL_REDUCE && !o->preview_dataset)
        dp_diag_add(diag, at, "output", "preview_dataset",
                    "missing: a reduction writes no array to draw unless named, e.g. "
                    "/results/mean with [reduce] axis");
    if (o->preview_dataset && o->preview_dataset[0] != '/')
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "preview_dataset"), "output",
                    "preview_dataset", "'%.64s' must be an absolute path inside the file",
                    o->preview_dataset);
    const dp_shape_t *sh = &job->input.shape;
    if (o->preview_dataset || (kind != DP_KERNEL_MAP && kind != DP_KERNEL_STENCIL) || sh->ndim == 0)
        return; /* the dataset's shape is known only once it is written */
    if (sh->ndim < 2)
        dp_diag_add(diag, at, "output", "preview",
                    "the output is 1-D: a heat map needs 2 or 3 dimensions");
    else if (sh->ndim == 2 && (dp_opts_given(&job->ini, "output", "preview_axis") ||
                               dp_opts_given(&job->ini, "output", "preview_index"))) {
        const char *key =
            dp_opts_given(&job->ini, "output", "preview_axis") ? "preview_axis" : "preview_index";
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", key), "output", key,
                    "used only for 3-D data (the output is 2-D)");
    } else if (sh->ndim == 3 && o->preview_index >= sh->n[o->preview_axis])
        dp_diag_add(diag, dp_opts_where(&job->ini, "output", "preview_index"), "output",
                    "preview_index", "%lld is beyond axis %lld's extent %lld",
                    (long long)o->preview_index, (long long)o->preview_axis,
                    (long long)sh->n[o->preview_axis]);
}

/* The job text for provenance: the file as it is, or, with overrides, the effective job (every
 * section and key with its final value, overrides applied) followed by the overrides. */
static void build_text(dp_job_t *job, const char *text, size_t len, char *const *sets, int nsets)
{
    if (nsets == 0) {
        job->text = dp_xmalloc(len + 1);
        memcpy(job->text, text, len);
        job->text[len] = '\0';
        return;
    }
    size_t total = 128;
    for (size_t i = 0; i < job->ini.n; i++)
        total += strlen(job->ini.e[i].key) + strlen(job->ini.e[i].value) + 8;
    for (size_t i = 0; i < job->ini.nsec; i++)
        total += strlen(job->ini.sec[i].name) + 4;
    for (int i = 0; i < nsets; i++)
        total += strlen(sets[i]) + 16;
    job->text = dp_xmalloc(total);
    size_t j = (size_t)snprintf(job->text, total, "; %s with --set overrides applied\n", job->file);
    for (size_t k = 0; k < job->ini.nsec; k++) {
        const char *sec = job->ini.sec[k].name;
        j += (size_t)snprintf(job->text + j, total - j, "[%s]\n", sec);
        for (size_t i = 0; i < job->ini.n; i++) {
            const dp_ini_entry_t *e = &job->ini.e[i];
            if (strcmp(e->section, sec))
                continue;
            const int quote =
                strpbrk(e->value, ";#\"") ||
                (e->value[0] && (isspace((unsigned char)e->value[0]) ||
                                 isspace((unsigned char)e->value[strlen(e->value) - 1])));
            j += (size_t)snprintf(job->text + j, total - j, quote ? "%s = \"%s\"\n" : "%s = %s\n",
                                  e->key, e->value);
        }
    }
    for (int i = 0; i < nsets; i++)
        j += (size_t)snprintf(job->text + j, total - j, "; --set %s\n", sets[i]);
}

static void default_name(dp_job_t *job)
{
    const char *base = strrchr(job->file, '/');
    base = base ? base + 1 : job->file;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".ini"))
        n -= 4;
    job->job.name = dp_xmalloc(n + 1);
    memcpy(job->job.name, base, n);
    job->job.name[n] = '\0';
}

/* A MAP kernel's then_reduce: the reduce kernel configured by the [reduce] section, with the
 * ops given in the map kernel's section. */
static void parse_then(dp_job_t *job, dp_diag_t *diag)
{
    const char *ops = job->kernel->then_reduce(job->kcfg);
    job->then = dp_kernel_find("reduce");
    job->then_cfg = dp_xcalloc(1, job->then->config_size);
    dp_opts_parse(job->then->opts, job->then->name, &job->ini, job->then_cfg, diag);
    if (dp_opts_given(&job->ini, job->then->name, "ops"))
        dp_diag_add(diag, dp_opts_where(&job->ini, job->then->name, "ops"), job->then->name, "ops",
                    "with kernel %s the ops are [%s] then_reduce", job->kernel->name,
                    job->kernel->name);
    if (dp_opts_given(&job->ini, job->then->name, "keep"))
        dp_diag_add(diag, dp_opts_where(&job->ini, job->then->name, "keep"), job->then->name,
                    "keep",
                    "is for kernel reduce: with kernel %s's then_reduce every rank keeps all "
                    "outputs of an axis",
                    job->kernel->name);
    dp_opts_parse_as(job->then->opts, "ops", job->kernel->name, "then_reduce", ops,
                     dp_opts_where(&job->ini, job->kernel->name, "then_reduce"), job->then_cfg,
                     diag);
}

/* Loads the plugins of DPROC_PLUGIN_PATH and of [job] plugin, noting the first failure. */
static void load_plugins(dp_job_t *job, dp_diag_t *diag)
{
    const size_t before = diag->n;
    const char *why = dp_plugin_load_path();
    if (why)
        dp_diag_add(diag, (dp_where_t){.file = "DPROC_PLUGIN_PATH"}, NULL, NULL, "%s", why);
    const dp_where_t where = dp_opts_where(&job->ini, "job", "plugin");
    for (const char *p = job->job.plugin; p && *p;) {
        const char *comma = strchr(p, ',');
        const char *b = p, *e = comma ? comma : p + strlen(p);
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        char *name = dp_xmalloc((size_t)(e - b) + 1);
        memcpy(name, b, (size_t)(e - b));
        name[e - b] = '\0';
        why = name[0] ? dp_plugin_load(name) : "empty name in the list";
        if (why)
            dp_diag_add(diag, where, "job", "plugin", "%s", why);
        free(name);
        p = comma ? comma + 1 : NULL;
    }
    job->plugin_failed = diag->n > before;
}

/* The message of the kernel's check() about key: at the column of the value it points at (from
 * the job file: "FILE:LINE:COL:", then the line and a caret under that column), else at the
 * key's line. */
static void add_check(dp_job_t *job, const char *text, size_t len, const char *key, int column,
                      const char *why, dp_diag_t *diag)
{
    const char *section = job->kernel->name;
    dp_where_t where = dp_opts_where(&job->ini, section, key);
    const dp_ini_entry_t *e = key ? dp_ini_find(&job->ini, section, key) : NULL;
    if (column <= 0 || !e) {
        dp_diag_add(diag, where, section, key, "%s", why);
        return;
    }
    if (e->where.set || e->col <= 0) {
        dp_diag_add(diag, where, section, key, "%s (at character %d of the value)", why, column);
        return;
    }
    const char *p = text, *end = text + len;
    for (int line = 1; line < e->where.line && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (e->where.line == 1 && end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((nl ? nl : end) - p);
    if (n && p[n - 1] == '\r')
        n--;
    where.col = e->col + column - 1;
    char *caret = dp_xmalloc((size_t)where.col + 1);
    for (int i = 0; i < where.col - 1; i++)
        caret[i] = (size_t)i < n && p[i] == '\t' ? '\t' : ' ';
    caret[where.col - 1] = '^';
    caret[where.col] = '\0';
    dp_diag_add(diag, where, section, key, "%s\n    %.*s\n    %s", why, (int)(n < 400 ? n : 400), p,
                caret);
    free(caret);
}

int dp_job_parse(dp_job_t *job, const char *file, const char *text, size_t len, char *const *sets,
                 int nsets, dp_diag_t *diag)
{
    size_t before = diag->n;
    *job = (dp_job_t){.file = file};
    dp_ini_parse(&job->ini, file, text, len, diag);
    for (int i = 0; i < nsets; i++)
        dp_ini_override(&job->ini, sets[i], diag);

    for (const section_t *s = sections; s->name; s++)
        dp_opts_parse(s->opts, s->name, &job->ini, (char *)job + s->offset, diag);
    if (!job->job.name)
        default_name(job);
    load_plugins(job, diag);
    if (job->job.kernel) {
        job->kernel = dp_kernel_find(job->job.kernel);
        if (!job->kernel && !job->plugin_failed) { /* else the plugin that failed says why */
            char names[512];
            kernel_names(names, sizeof names);
            const char *sug = dp_opts_suggest(job->job.kernel, names);
            commas(names);
            dp_diag_add(diag, dp_opts_where(&job->ini, "job", "kernel"), "job", "kernel",
                        "unknown kernel '%.64s'%s%s%s (kernels: %s; a plugin's kernel needs "
                        "[job] plugin or DPROC_PLUGIN_PATH)",
                        job->job.kernel, sug ? ", did you mean '" : "", sug ? sug : "",
                        sug ? "'?" : "", names);
        }
    }
    if (job->kernel) {
        job->kcfg = dp_xcalloc(1, job->kernel->config_size);
        dp_opts_parse(job->kernel->opts, job->kernel->name, &job->ini, job->kcfg, diag);
    }
    if (job->kernel && job->kernel->then_reduce && job->kernel->then_reduce(job->kcfg))
        parse_then(job, diag);
    build_text(job, text, len, sets, nsets); /* after defaults: ini holds given keys only */
    check_sections(job, diag);
    check_unknown_keys(job, diag);
    check_input(job, diag);
    check_output(job, diag);
    check_preview(job, diag);
#ifdef DP_SMPI
    check_simulated(job, diag);
#endif
    if (job->kernel && job->kernel->check && diag->n == before) {
        const char *key = NULL;
        int column = 0;
        const char *why = job->kernel->check(job->kcfg, &key, &column);
        if (why)
            add_check(job, text, len, key, column, why, diag);
    }
    const int shape_known = job->input.source == DP_SRC_RAW || job->input.source == DP_SRC_GENERATE;
    if (job->kernel && job->kernel->check_data && shape_known && job->input.shape.ndim > 0 &&
        diag->n == before) { /* the data's extents are in the job: check them now, not after
                                the run has started */
        const char *key = NULL;
        const char *why = job->kernel->check_data(job->kcfg, &job->input.shape, &key);
        if (why)
            dp_diag_add(diag, dp_opts_where(&job->ini, job->kernel->name, key), job->kernel->name,
                        key, "%s", why);
    }
    if (job->then && job->then->check && diag->n == before) {
        const char *key = NULL;
        int column = 0;
        const char *why = job->then->check(job->then_cfg, &key, &column);
        const int ops = key && !strcmp(key, "ops"); /* given as [map] then_reduce */
        if (why)
            dp_diag_add(diag,
                        dp_opts_where(&job->ini, ops ? job->kernel->name : job->then->name,
                                      ops ? "then_reduce" : key),
                        ops ? job->kernel->name : job->then->name, ops ? "then_reduce" : key, "%s",
                        why);
    }
    return diag->n == before ? DP_OK : DP_ERR_USAGE;
}

dp_status_t dp_job_usage_error(const dp_job_t *job, const char *section, const char *key,
                               const char *why)
{
    dp_diag_t d = {0};
    dp_diag_add(&d, dp_opts_where(&job->ini, section, key), section, key, "%s", why);
    dp_status_t st = dp_err_set(DP_ERR_USAGE, "%s", d.msg[0]);
    dp_diag_free(&d);
    return st;
}

/* Resolves path to an absolute, canonical name even when the file does not exist yet (its
 * directory must). Returns 0 when the directory cannot be resolved. */
static int canonical(const char *path, char *out)
{
    if (realpath(path, out))
        return 1;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof dir)
            return 0;
        memcpy(dir, path, n);
        dir[n] = '\0';
    } else {
        strcpy(dir, ".");
    }
    char rdir[PATH_MAX];
    if (!realpath(dir, rdir))
        return 0;
    return snprintf(out, PATH_MAX, "%s/%s", rdir, base) < PATH_MAX;
}

static void check_output_file(const dp_job_t *job, const char *section, const char *key,
                              const char *path, int refuse_existing, char *const *inputs,
                              int ninputs, dp_diag_t *diag)
{
    dp_where_t w = dp_opts_where(&job->ini, section, key);
    char out[PATH_MAX];
    if (!canonical(path, out)) {
        dp_diag_add(diag, w, section, key, "the directory of '%.200s' does not exist", path);
        return;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        dp_diag_add(diag, w, section, key, "'%.200s' is a directory", path);
        return;
    }
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* the rename would replace a device */
        dp_diag_add(diag, w, section, key,
                    "'%.200s' is not a regular file (a device, pipe or socket)", path);
        return;
    }
    char jobfile[PATH_MAX];
    if (realpath(job->file, jobfile) && !strcmp(out, jobfile)) {
        dp_diag_add(diag, w, section, key, "'%.200s' is the job file", path);
        return;
    }
    for (int i = 0; i < ninputs; i++)
        if (!strcmp(out, inputs[i])) {
            dp_diag_add(diag, w, section, key, "'%.200s' is %s: dproc never writes onto its input",
                        path, ninputs > 1 ? "one of the input files" : "the input file");
            return;
        }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    *strrchr(dir, '/') = '\0';
    if (access(dir[0] ? dir : "/", W_OK) != 0) {
        dp_diag_add(diag, w, section, key, "cannot write in directory '%.200s': %s", dir,
                    strerror(errno));
        return;
    }
    if (refuse_existing && access(path, F_OK) == 0)
        dp_diag_add(diag, w, section, key,
                    "'%.200s' exists (set [output] overwrite = true to replace it)", path);
}

enum { MAX_WRITTEN = 4 + DP_KERNEL_MAX_FILES };

void dp_job_check_files(const dp_job_t *job, dp_diag_t *diag)
{
    char in[PATH_MAX];
    char **inputs = NULL;
    int ninputs = 0;
    dp_text_files_t files = {0};
    if (job->input.path && job->input.source == DP_SRC_TEXT) {
        if (dp_text_files_expand(&files, job->input.path) != DP_OK)
            dp_diag_add(diag, dp_opts_where(&job->ini, "input", "path"), "input", "path", "%s",
                        dp_err_msg());
        inputs = dp_xcalloc((size_t)files.n + 1, sizeof *inputs);
        for (int i = 0; i < files.n; i++)
            if (realpath(files.path[i], in))
                inputs[ninputs++] = dp_xstrdup(in);
    } else if (job->input.path) {
        if (!realpath(job->input.path, in) || access(in, R_OK) != 0)
            dp_diag_add(diag, dp_opts_where(&job->ini, "input", "path"), "input", "path",
                        "cannot read '%.200s': %s", job->input.path, strerror(errno));
        else
            inputs = dp_xcalloc(1, sizeof *inputs), inputs[ninputs++] = dp_xstrdup(in);
    }
    /* every file the job writes: [output] path and report, and the kernel's own */
    const char *sec[MAX_WRITTEN], *key[MAX_WRITTEN], *path[MAX_WRITTEN];
    int n = 0;
    if (job->output.path)
        sec[n] = "output", key[n] = "path", path[n++] = job->output.path;
    if (job->output.report)
        sec[n] = "output", key[n] = "report", path[n++] = job->output.report;
    if (job->output.trace)
        sec[n] = "output", key[n] = "trace", path[n++] = job->output.trace;
    if (job->output.preview)
        sec[n] = "output", key[n] = "preview", path[n++] = job->output.preview;
    if (job->kernel && job->kernel->files) {
        const char *kk[DP_KERNEL_MAX_FILES], *kp[DP_KERNEL_MAX_FILES];
        const int m = job->kernel->files(job->kcfg, kk, kp);
        for (int q = 0; q < m; q++)
            sec[n] = job->kernel->name, key[n] = kk[q], path[n++] = kp[q];
    }
    for (int q = 0; q < n; q++) {
        const int refuse = q == 0 && job->output.path && !job->output.overwrite;
        const size_t before = diag->n;
        check_output_file(job, sec[q], key[q], path[q], refuse, inputs, ninputs, diag);
        char a[PATH_MAX], b[PATH_MAX];
        for (int p = 0; p < q && diag->n == before; p++)
            if (canonical(path[q], a) && canonical(path[p], b) && !strcmp(a, b))
                dp_diag_add(diag, dp_opts_where(&job->ini, sec[q], key[q]), sec[q], key[q],
                            "'%.200s' is the same file as [%s] %s", path[q], sec[p], key[p]);
    }
    for (int i = 0; i < ninputs; i++)
        free(inputs[i]);
    free(inputs);
    dp_text_files_free(&files);
}

/* Parsing is the same on every rank but where plugins differ (a file missing on one node,
 * DPROC_PLUGIN_PATH not passed to all ranks): returns 1 when every rank found the job good,
 * else 0, and gives rank 0 the first message of the first rank that found a problem rank 0
 * did not. Collective. */
static int agree_parse(int rank, dp_diag_t *diag, MPI_Comm comm)
{
    int size;
    MPI_Comm_size(comm, &size);
    int first = diag->n ? rank : size;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == 0 || first == size)
        return first == size;
    char msg[2048] = "";
    int line = 0;
    if (rank == first) {
        char host[MPI_MAX_PROCESSOR_NAME];
        int n;
        MPI_Get_processor_name(host, &n);
        snprintf(msg, sizeof msg, "%s (on rank %d, %s; rank 0 found no problem)", diag->msg[0],
                 rank, host);
        line = diag->line[0];
    }
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, comm);
    MPI_Bcast(&line, 1, MPI_INT, first, comm);
    if (rank == 0)
        dp_diag_add_text(diag, line, msg);
    return 0;
}

int dp_job_load(dp_job_t *job, const char *file, char *const *sets, int nsets, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    *job = (dp_job_t){.file = file};
    long long len = -1;
    char *text = NULL;
    char why[256] = "";
    if (rank == 0) {
        FILE *f = fopen(file, "rb");
        if (f) {
            size_t cap = 4096, n = 0, got;
            text = dp_xmalloc(cap);
            while ((got = fread(text + n, 1, cap - n, f)) > 0) {
                n += got;
                if (n == cap)
                    text = dp_xrealloc(text, cap *= 2);
            }
            if (ferror(f))
                snprintf(why, sizeof why, "%s", strerror(errno));
            else
                len = (long long)n;
            fclose(f);
        } else {
            snprintf(why, sizeof why, "%s", strerror(errno));
        }
    }
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm);
    if (len < 0) {
        if (rank == 0)
            fprintf(stderr, "%s: cannot read the job file: %s\n", file, why);
        free(text);
        return DP_ERR_USAGE;
    }
    if (rank != 0)
        text = dp_xmalloc((size_t)len + 1);
    for (long long off = 0; off < len; off += INT_MAX / 2) {
        int n = (int)(len - off < INT_MAX / 2 ? len - off : INT_MAX / 2);
        MPI_Bcast(text + off, n, MPI_CHAR, 0, comm);
    }
    dp_diag_t diag = {0};
    int status = dp_job_parse(job, file, text, (size_t)len, sets, nsets, &diag);
    free(text);
    if (rank == 0 && status == DP_OK)
        dp_job_check_files(job, &diag);
    const int ok = agree_parse(rank, &diag, comm);
    if (rank == 0)
        dp_diag_print(&diag, stderr);
    dp_diag_free(&diag);
    return ok ? DP_OK : DP_ERR_USAGE;
}

void dp_job_print_reference(FILE *f)
{
    for (const section_t *s = sections; s->name; s++) {
        fprintf(f, "### [%s]: %s\n\n", s->name, s->help);
        dp_opts_print_markdown(s->opts, f);
        fprintf(f, "\n");
    }
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++) {
        fprintf(f, "### [%s]: kernel %s\n\n%s.\n\n", (*k)->name, (*k)->name, (*k)->summary);
        if ((*k)->opts[0].key)
            dp_opts_print_markdown((*k)->opts, f);
        else
            fprintf(f, "This kernel has no keys.\n");
        fprintf(f, "\n");
    }
}

void dp_job_print_man(FILE *f)
{
    for (const section_t *s = sections; s->name; s++) {
        fprintf(f, ".SS [%s]\n", s->name);
        dp_opts_print_troff(s->help, f);
        fprintf(f, "\n");
        dp_opts_print_man(s->opts, f);
    }
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++) {
        fprintf(f, ".SS [%s] (kernel = %s)\n", (*k)->name, (*k)->name);
        dp_opts_print_troff((*k)->summary, f);
        fprintf(f, "\n%s", (*k)->opts[0].key ? "" : "This kernel has no keys.\n");
        dp_opts_print_man((*k)->opts, f);
    }
}

void dp_job_free(dp_job_t *job)
{
    for (const section_t *s = sections; s->name; s++)
        dp_opts_free(s->opts, (char *)job + s->offset);
    if (job->kernel)
        dp_opts_free(job->kernel->opts, job->kcfg);
    if (job->then)
        dp_opts_free(job->then->opts, job->then_cfg);
    free(job->kcfg);
    free(job->then_cfg);
    free(job->text);
    dp_ini_free(&job->ini);
    *job = (dp_job_t){0};
}
