#include "submit.h"

#include "diag.h"
#include "job.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* dproc submit: a batch script for a job, submitted with sbatch, and a chain of resubmissions
 * that continue a checkpointed stencil from where the previous allocation stopped. Runs on a
 * login node: no MPI. */

static const char submit_usage[] =
    "usage: dproc submit [options] JOB.ini\n"
    "Writes a Slurm batch script for the job (srun, one rank per task, OpenMP threads per\n"
    "rank = cpus per task, SIGUSR1 120 s before the time limit) and submits it with sbatch.\n"
    "\n"
    "  -N, --nodes N             nodes (default 1)\n"
    "  -n, --ntasks-per-node R   MPI ranks per node (default 1)\n"
    "  -c, --cpus-per-task T     cores, and OpenMP threads, per rank (default 1)\n"
    "  -t, --time HH:MM:SS       time limit of each job (default 01:00:00)\n"
    "  -p, --partition P         partition (default: the cluster's default)\n"
    "      --chain K             also submit K jobs that each continue the previous one\n"
    "                            with --restart once it ended (--dependency=afterany); for\n"
    "                            stencils with [stencil] checkpoint_path\n"
    "      --script FILE         where to write the script (default JOBNAME.sbatch)\n"
    "      --set SECTION.KEY=VALUE  override a job-file value (repeatable), as for a run\n"
    "      --dry-run             write the script and print the sbatch commands; submit nothing\n"
    "  -h, --help                this help\n";

typedef struct {
    long nodes, tasks, cpus, chain;
    const char *time, *partition, *script, *job;
    char **sets;
    int nsets, dry_run;
} submit_t;

static int valid_time(const char *t)
{
    int h, m, s;
    char end;
    return sscanf(t, "%d:%d:%d%c", &h, &m, &s, &end) == 3 && h >= 0 && m >= 0 && m < 60 && s >= 0 &&
           s < 60;
}

static int positive(const char *text, long *v, const char *what)
{
    char *end;
    errno = 0;
    *v = strtol(text, &end, 10);
    if (errno || *end || *v < 1 || *v > 1000000) {
        fprintf(stderr, "dproc submit: %s '%s' must be a whole number from 1 to 1000000\n", what,
                text);
        return 0;
    }
    return 1;
}

/* Parses the options; returns 0, or an exit status after saying why. */
static int parse(submit_t *s, int argc, char **argv)
{
    enum { O_CHAIN = 256, O_SCRIPT, O_SET, O_DRY };
    static const struct option longs[] = {
        {"nodes", required_argument, NULL, 'N'},
        {"ntasks-per-node", required_argument, NULL, 'n'},
        {"cpus-per-task", required_argument, NULL, 'c'},
        {"time", required_argument, NULL, 't'},
        {"partition", required_argument, NULL, 'p'},
        {"chain", required_argument, NULL, O_CHAIN},
        {"script", required_argument, NULL, O_SCRIPT},
        {"set", required_argument, NULL, O_SET},
        {"dry-run", no_argument, NULL, O_DRY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *s = (submit_t){.nodes = 1, .tasks = 1, .cpus = 1, .time = "01:00:00"};
    s->sets = calloc((size_t)argc, sizeof *s->sets);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "N:n:c:t:p:h", longs, NULL)) != -1) {
        switch (c) {
        case 'N':
            if (!positive(optarg, &s->nodes, "--nodes"))
                return 2;
            break;
        case 'n':
            if (!positive(optarg, &s->tasks, "--ntasks-per-node"))
                return 2;
            break;
        case 'c':
            if (!positive(optarg, &s->cpus, "--cpus-per-task"))
                return 2;
            break;
        case 't':
            if (!valid_time(optarg)) {
                fprintf(stderr, "dproc submit: --time '%s' must be HH:MM:SS\n", optarg);
                return 2;
            }
            s->time = optarg;
            break;
        case 'p':
            s->partition = optarg;
            break;
        case O_CHAIN:
            if (!positive(optarg, &s->chain, "--chain"))
                return 2;
            break;
        case O_SCRIPT:
            s->script = optarg;
            break;
        case O_SET:
            s->sets[s->nsets++] = optarg;
            break;
        case O_DRY:
            s->dry_run = 1;
            break;
        case 'h':
            fputs(submit_usage, stdout);
            return -1;
        default:
            fputs("dproc submit: try dproc submit --help\n", stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "dproc submit: %s (try dproc submit --help)\n",
                optind >= argc ? "no job file given" : "more than one job file given");
        return 2;
    }
    s->job = argv[optind];
    return 0;
}

/* Reads and validates the job as a run would (without touching MPI); 0 or an exit status. */
static int load(const submit_t *s, dp_job_t *job)
{
    FILE *f = fopen(s->job, "rb");
    if (!f) {
        fprintf(stderr, "dproc submit: cannot open job file '%s': %s\n", s->job, strerror(errno));
        return 2;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap)
            text = realloc(text, cap = 2 * cap + 4096);
        const size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    dp_diag_t diag = {0};
    int st = dp_job_parse(job, s->job, text, len, s->sets, s->nsets, &diag);
    if (st == 0)
        dp_job_check_files(job, &diag);
    free(text);
    const int bad = diag.n > 0;
    dp_diag_print(&diag, stderr);
    dp_diag_free(&diag);
    return bad ? 2 : 0;
}

/* A word quoted for the shell. */
static void shell_word(FILE *f, const char *w)
{
    fputc('\'', f);
    for (const char *p = w; *p; p++)
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    fputc('\'', f);
}

/* The checkpoint that --restart resumes from, or NULL when the job writes none. */
static const char *checkpoint_of(const dp_job_t *job)
{
    const char *keys[DP_KERNEL_MAX_FILES], *paths[DP_KERNEL_MAX_FILES];
    const int n = job->kernel->files ? job->kernel->files(job->kcfg, keys, paths) : 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(keys[i], "checkpoint_path"))
            return paths[i];
    return NULL;
}

static int write_script(const submit_t *s, const dp_job_t *job, const char *path)
{
    char self[PATH_MAX], jobpath[PATH_MAX], cwd[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || !realpath(s->job, jobpath) || !getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "dproc submit: cannot resolve the paths of dproc and the job file\n");
        return 1;
    }
    self[n] = '\0';
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "dproc submit: cannot write '%s': %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f,
            "#!/bin/bash\n# Written by dproc submit for %s. Submit: sbatch %s; continue a "
            "stopped run: sbatch %s --restart\n",
            s->job, path, path);
    fprintf(f, "#SBATCH --job-name=%s\n", job->job.name);
    fprintf(f, "#SBATCH --nodes=%ld\n#SBATCH --ntasks-per-node=%ld\n#SBATCH --cpus-per-task=%ld\n",
            s->nodes, s->tasks, s->cpus);
    fprintf(f, "#SBATCH --time=%s\n", s->time);
    if (s->partition)
        fprintf(f, "#SBATCH --partition=%s\n", s->partition);
    fprintf(f, "#SBATCH --chdir=%s\n#SBATCH --output=%%x-%%j.out\n", cwd);
    fputs("# SIGUSR1 120 s before the time limit: dproc stops at the next iteration, writing a\n"
          "# checkpoint where the job has checkpoint_path, and exits with status 4.\n"
          "#SBATCH --signal=USR1@120\n\n",
          f);
    const char *output = job->output.path, *ckpt = checkpoint_of(job);
    if (output && ckpt) {
        fputs("# A continuation (--restart) has nothing to do when its predecessor finished the\n"
              "# job: the output is then newer than the last checkpoint.\n"
              "if [ \"$1\" = --restart ] && [ -e ",
              f);
        shell_word(f, output);
        fputs(" ] && [ ", f);
        shell_word(f, output);
        fputs(" -nt ", f);
        shell_word(f, ckpt);
        fputs(" ]; then\n    echo \"dproc: the output is newer than the checkpoint: the job is "
              "complete\"\n    exit 0\nfi\n\n",
              f);
    }
    fputs("export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} OMP_PLACES=cores "
          "OMP_PROC_BIND=close\n",
          f);
    fputs("srun --mpi=pmix --cpus-per-task=\"${SLURM_CPUS_PER_TASK:-1}\" ", f);
    shell_word(f, self);
    for (int i = 0; i < s->nsets; i++) {
        fputs(" --set ", f);
        shell_word(f, s->sets[i]);
    }
    fputs(" \"$@\" ", f);
    shell_word(f, jobpath);
    fputs("\nstatus=$?\necho \"dproc: exit status $status\"\nexit $status\n", f);
    const int ok = fclose(f) == 0;
    if (!ok)
        fprintf(stderr, "dproc submit: cannot write '%s'\n", path);
    return ok ? 0 : 1;
}

/* Runs sbatch --parsable with args; the job id in id. 0 or an exit status. */
static int sbatch(char *const args[], char *id, size_t size)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 1;
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp("sbatch", args);
        fprintf(stderr, "dproc submit: cannot run sbatch: %s\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    ssize_t got = pid > 0 ? read(fd[0], id, size - 1) : -1;
    close(fd[0]);
    int status = 1;
    if (pid > 0)
        waitpid(pid, &status, 0);
    id[got > 0 ? got : 0] = '\0';
    id[strcspn(id, ";\n")] = '\0';
    if (pid <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !id[0]) {
        fprintf(stderr, "dproc submit: sbatch failed\n");
        return 1;
    }
    return 0;
}

/* The sbatch command of link k of the chain: args (NULL-terminated) for execvp. */
static void command(const char *script, long k, const char *prev, char *dep, char *args[6])
{
    int i = 0;
    args[i++] = "sbatch";
    args[i++] = "--parsable";
    if (k > 0) {
        snprintf(dep, 64, "--dependency=afterany:%s", prev);
        args[i++] = dep;
    }
    args[i++] = (char *)script;
    if (k > 0)
        args[i++] = "--restart";
    args[i] = NULL;
}

int dp_submit_main(int argc, char **argv)
{
    submit_t s;
    int st = parse(&s, argc, argv);
    if (st != 0) {
        free(s.sets);
        return st < 0 ? 0 : st;
    }
    dp_job_t job = {0};
    st = load(&s, &job);
    if (st == 0 && s.chain > 0 && !checkpoint_of(&job)) {
        fprintf(stderr, "dproc submit: --chain needs a job that checkpoints ([stencil] "
                        "checkpoint_path): the continuations resume from it\n");
        st = 2;
    }
    char script[PATH_MAX];
    if (st == 0) {
        snprintf(script, sizeof script, "%s", s.script ? s.script : job.job.name);
        if (!s.script)
            strncat(script, ".sbatch", sizeof script - strlen(script) - 1);
        st = write_script(&s, &job, script);
    }
    char prev[64] = "", dep[64], *args[6];
    for (long k = 0; st == 0 && k <= s.chain; k++) {
        command(script, k, prev, dep, args);
        if (s.dry_run) {
            for (int i = 0; args[i]; i++)
                printf("%s%s", i ? " " : "", args[i]);
            printf("\n");
            snprintf(prev, sizeof prev, "$JOB%ld", k);
            continue;
        }
        st = sbatch(args, prev, sizeof prev);
        if (st == 0)
            printf("submitted job %s%s\n", prev,
                   k ? ": continues with --restart after the previous one ends" : "");
    }
    if (st == 0 && s.dry_run)
        printf("(dry run: script %s written, nothing submitted)\n", script);
    dp_job_free(&job);
    free(s.sets);
    return st;
}
