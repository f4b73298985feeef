#include "man.h"

#include "dp_version.h"
#include "job.h"
#include "opts.h"

void dp_man_print(FILE *f, const char *usage)
{
    fprintf(f, ".TH DPROC 1 \"\" \"dproc %s\" \"User Commands\"\n", DP_VERSION);
    fputs(".SH NAME\n"
          "dproc \\- MPI + OpenMP distributed data processing, driven by INI job files\n"
          ".SH SYNOPSIS\n.nf\n",
          f);
    dp_opts_print_troff(usage, f);
    fputs(".fi\n"
          ".SH DESCRIPTION\n"
          "A job file names a kernel (reduce, map, stencil, key-value counts, or one of a plugin)\n"
          "and where its data comes from. dproc splits the data over the MPI ranks, runs the\n"
          "kernel with OpenMP threads on each rank's block, combines the partial results across\n"
          "ranks, and writes HDF5 or TSV output (under its final name only when complete) and a\n"
          "JSON report. The same job gives the same bits at any rank and thread count.\n"
          ".SH JOB FILE\n"
          "An INI file: [section] headers, key = value lines, comments after ';' or '#'. Every\n"
          "key of every section, with its type, allowed values and default:\n",
          f);
    dp_job_print_man(f);
    fputs(
        ".SH ENVIRONMENT\n"
        ".TP\n\\fBOMP_NUM_THREADS\\fR\n"
        "OpenMP threads per rank, unless [run] threads is set.\n"
        ".TP\n\\fBDPROC_PLUGIN_PATH\\fR\n"
        "A ':'-separated list of directories (every *.so in them is loaded) and plugin files,\n"
        "loaded before the job file's [job] plugin; also searched for a plugin named without\n"
        "a '/'.\n"
        ".TP\n\\fBDPROC_SMPI_NS_PER_UNIT\\fR\n"
        "dproc\\-smpi only: simulated nanoseconds per unit of counted work.\n"
        ".SH EXIT STATUS\n"
        "0 success, 1 runtime failure (I/O, data, memory), 2 bad command line or job file, 3\n"
        "internal error, 4 stopped by SIGUSR1 or SIGTERM.\n"
        ".SH FILES\n"
        "\\fI<dproc/kernel.h>\\fR, the kernel API for plugins; the CMake package \\fBdproc\\fR "
        "and\n"
        "the pkg\\-config module \\fBdproc\\fR to build them.\n"
        ".SH SEE ALSO\n"
        "\\fBmpirun\\fR(1), \\fBsbatch\\fR(1); docs/ in the source tree: usage.md, job\\-file.md,\n"
        "kernels.md.\n",
        f);
}
