#include "cli.h"

#include "comm.h"
#include "dp_version.h"
#include "driver.h"
#include "explain.h"
#include "fault.h"
#include "man.h"
#include "plot_cli.h"
#include "plugin.h"
#include "progress.h"
#include "selftest.h"
#include "signals.h"
#include "submit.h"
#include "verify.h"
#include "job.h"

#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: dproc [options] JOB.ini\n"
    "       mpirun -np N dproc [options] JOB.ini\n"
    "       dproc submit [options] JOB.ini   (a Slurm batch script; dproc submit --help)\n"
    "       mpirun -np N dproc selftest [DIR]  (every kernel on inputs with known answers)\n"
    "       dproc explain OUTPUT.h5          (the job and layout that made an output)\n"
    "       dproc verify OUTPUT.h5           (recompute every dataset's digest, check checksums)\n"
    "       dproc plot trace|heatmap ...     (pictures of a trace or of an output; dproc plot "
    "--help)\n"
    "       dproc man                        (this manual page, dproc(1), in troff)\n"
    "\n"
    "Runs the data-processing job described by JOB.ini over all MPI ranks.\n"
    "\n"
    "options:\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "      --list-kernels      list the kernels with a one-line description and exit\n"
    "      --help-job          print the job-file reference (every section and key) and exit\n"
    "  -n, --dry-run           parse, validate and print the plan (grid, each rank's block,\n"
    "                          memory per rank) without reading data; exit 0\n"
    "  -s, --set SEC.KEY=VAL   override a job-file key (repeatable), e.g. --set run.threads=4\n"
    "      --restart           continue an iterative job (stencil) from its checkpoint_path,\n"
    "                          at any rank count; the result is the uninterrupted run's\n"
    "  -q, --quiet             no summary on stdout, no progress\n"
    "      --progress=WHEN     how far along the run is, on rank 0's stderr: auto (default: for\n"
    "                          runs past 2 s, a line updated in place on a terminal, else a\n"
    "                          plain line at every tenth of a phase), line, plain (either from\n"
    "                          the start), none\n"
    "  -v, --verbose           more detail (every rank in --dry-run, error locations)\n"
    "\n"
    "Threads per rank come from OMP_NUM_THREADS unless [run] threads is set.\n"
    "Exit status: 0 success, 1 runtime failure (I/O, data, memory), 2 bad command line or job\n"
    "file, 3 internal error, 4 stopped by SIGUSR1 or SIGTERM (a stencil with checkpoint_path\n"
    "writes a checkpoint first: continue with --restart; no output is written). See docs/ for\n"
    "the job-file reference and examples in jobs/.\n";

typedef struct {
    dp_driver_opts_t drive;
    int help, version, list_kernels, help_job;
    char **sets;
    int nsets;
    const char *job;
} cli_t;

/* Parses argv; returns 0 or an exit status (2) after printing why on rank 0. */
static int parse_args(cli_t *c, int argc, char **argv, int rank)
{
    enum { OPT_LIST = 256, OPT_HELP_JOB, OPT_RESTART, OPT_PROGRESS };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"list-kernels", no_argument, NULL, OPT_LIST},
        {"help-job", no_argument, NULL, OPT_HELP_JOB},
        {"dry-run", no_argument, NULL, 'n'},
        {"set", required_argument, NULL, 's'},
        {"restart", no_argument, NULL, OPT_RESTART},
        {"progress", required_argument, NULL, OPT_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    c->sets = calloc((size_t)argc, sizeof *c->sets);
    opterr = 0;
    int progress = -1; /* not given */
    int ch;
    while ((ch = getopt_long(argc, argv, "hVns:qv", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            c->help = 1;
            break;
        case 'V':
            c->version = 1;
            break;
        case OPT_LIST:
            c->list_kernels = 1;
            break;
        case OPT_HELP_JOB:
            c->help_job = 1;
            break;
        case 'n':
            c->drive.dry_run = 1;
            break;
        case OPT_RESTART:
            c->drive.restart = 1;
            break;
        case 's':
            c->sets[c->nsets++] = optarg;
            break;
        case OPT_PROGRESS: {
            static const char *const modes[] = {"auto", "line", "plain", "none"};
            progress = -1;
            for (int m = 0; m < 4; m++)
                if (!strcmp(optarg, modes[m]))
                    progress = m;
            if (progress < 0) {
                if (rank == 0)
                    fprintf(stderr, "dproc: --progress=%s: expected auto, line, plain or none\n",
                            optarg);
                return 2;
            }
            break;
        }
        case 'q':
            c->drive.quiet = 1;
            break;
        case 'v':
            c->drive.verbose = 1;
            break;
        default:
            if (rank == 0)
                fprintf(stderr, "dproc: unknown or incomplete option '%s' (try dproc --help)\n",
                        argv[optind - 1]);
            return 2;
        }
    }
    c->drive.progress = progress >= 0    ? progress
                        : c->drive.quiet ? DP_PROGRESS_NONE
                                         : DP_PROGRESS_AUTO;
    if (c->help || c->version || c->list_kernels || c->help_job)
        return 0;
    if (optind != argc - 1) {
        if (rank == 0)
            fprintf(stderr, "dproc: %s (try dproc --help)\n",
                    optind >= argc ? "no job file given" : "more than one job file given");
        return 2;
    }
    c->job = argv[optind];
    return 0;
}

/* Loads the plugins of DPROC_PLUGIN_PATH for --list-kernels and --help-job; returns 0, or 2
 * after saying why one cannot be loaded. */
static int load_path_plugins(void)
{
    const char *why = dp_plugin_load_path();
    if (why)
        fprintf(stderr, "dproc: DPROC_PLUGIN_PATH: %s\n", why);
    return why ? 2 : 0;
}

/* The kernels, built-in and of the plugins, with the plugin's file. */
static void list_kernels(void)
{
    int width = 10;
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++)
        width = (int)strlen((*k)->name) > width ? (int)strlen((*k)->name) : width;
    for (const dp_kernel_t *const *k = dp_kernel_list(); *k; k++) {
        const char *name = NULL, *file = dp_plugin_of(*k, &name);
        if (file)
            printf("%-*s %s [plugin %s, %s]\n", width, (*k)->name, (*k)->summary, name, file);
        else
            printf("%-*s %s\n", width, (*k)->name, (*k)->summary);
    }
}

static int run(cli_t *c, int rank)
{
    if (c->help || c->version || c->list_kernels || c->help_job) {
        int st = 0;
        if (rank == 0) {
            if (c->help) {
                fputs(usage_text, stdout);
            } else if (c->version) {
                printf("dproc %s\n", DP_VERSION);
            } else {
                st = load_path_plugins();
                if (c->list_kernels)
                    list_kernels();
                else
                    dp_job_print_reference(stdout);
            }
        }
        MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
        return st;
    }
    dp_job_t job = {0};
    int st = dp_job_load(&job, c->job, c->sets, c->nsets, MPI_COMM_WORLD);
    if (st == DP_OK) {
        st = dp_driver_run(&job, &c->drive, MPI_COMM_WORLD);
        if (st != DP_OK && rank == 0) {
            if (st == DP_ERR_USAGE) /* already in the JOB.ini:LINE: form */
                fprintf(stderr, "%s\n", dp_err_msg());
            else if (st == DP_ERR_STOPPED)
                fprintf(stderr, "dproc: %s\n", dp_err_msg());
            else
                fprintf(stderr, "dproc: error: %s\n", dp_err_msg());
            if (c->drive.verbose && dp_err_where()[0])
                fprintf(stderr, "dproc: (raised at %s)\n", dp_err_where());
        }
    }
    dp_job_free(&job);
    return dp_err_exit_status((dp_status_t)st);
}

int dp_cli_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "submit"))
        return dp_submit_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "plot")) /* one process, no MPI */
        return dp_plot_main(argc - 1, argv + 1);
    if (argc == 2 && !strcmp(argv[1], "man")) { /* no MPI: the build runs it */
        dp_man_print(stdout, usage_text);
        return 0;
    }
    dp_signals_install(); /* first: a signal during MPI_Init is noted, not fatal */
    /* dproc never uses shared file pointers; Open MPI's default support for them leaves lock and
     * probe files beside the files it opens (inputs too) when a rank is killed. A user's own
     * setting wins. */
    setenv("OMPI_MCA_sharedfp", "individual", 0);
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    dp_fault_init(rank);
    dp_h5_quiet();
    if (argc > 1 && (!strcmp(argv[1], "explain") || !strcmp(argv[1], "verify"))) {
        int st = 0;
        if (argc != 3) {
            if (rank == 0)
                fprintf(stderr, "usage: dproc %s OUTPUT.h5\n", argv[1]);
            st = 2;
        } else if (rank == 0) {
            st = argv[1][0] == 'e' ? dp_explain(argv[2]) : dp_verify(argv[2]);
        }
        MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
        fflush(stdout); /* before MPI and the sanitizers' exit handlers */
        MPI_Finalize();
        return st;
    }
    if (argc > 1 && !strcmp(argv[1], "selftest")) {
        const int st = dp_selftest(argc > 2 ? argv[2] : ".", MPI_COMM_WORLD);
        fflush(stdout); /* before MPI and the sanitizers' exit handlers */
        MPI_Finalize();
        return st;
    }
    cli_t c = {0};
    int status = parse_args(&c, argc, argv, rank);
    if (status == 0)
        status = run(&c, rank);
    free(c.sets);
    fflush(stdout); /* before MPI and the sanitizers' exit handlers */
    MPI_Finalize();
    return status;
}
