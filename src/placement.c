#define _GNU_SOURCE
#include "placement.h"

#include "err.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void env_copy(char *dst, size_t size, const char *name)
{
    const char *v = getenv(name);
    snprintf(dst, size, "%s", v ? v : "");
}

/* The CPUs of a set as ranges: "0-3,8". */
static void cpus_text(const cpu_set_t *set, char *buf, size_t size)
{
    size_t j = 0;
    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && j < size; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
            e++;
        j += (size_t)snprintf(buf + j, size - j, e > c ? "%s%d-%d" : "%s%d", j ? "," : "", c, e);
        c = e;
    }
}

void dp_placement_gather(dp_placement_t *p, int threads, MPI_Comm comm)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *p = (dp_placement_t){.threads = threads};
    env_copy(p->job_id, sizeof p->job_id, "SLURM_JOB_ID");
    env_copy(p->array_task_id, sizeof p->array_task_id, "SLURM_ARRAY_TASK_ID");
    env_copy(p->nodelist, sizeof p->nodelist, "SLURM_JOB_NODELIST");
    cpu_set_t mine;
    CPU_ZERO(&mine);
    if (sched_getaffinity(0, sizeof mine, &mine) != 0)
        for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
            CPU_SET((int)c, &mine);
    /* the ranks of this node, and the cores they may use together */
    MPI_Comm node;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    int local = 0;
    MPI_Comm_size(node, &local);
    unsigned char bits[CPU_SETSIZE / 8], all[CPU_SETSIZE / 8];
    memset(bits, 0, sizeof bits);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &mine))
            bits[c / 8] |= (unsigned char)(1u << (c % 8));
    MPI_Allreduce(bits, all, (int)sizeof bits, MPI_UNSIGNED_CHAR, MPI_BOR, node);
    MPI_Comm_free(&node);
    int cores = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        cores += (all[c / 8] >> (c % 8)) & 1;
    int most = 0, fewest = 0;
    MPI_Allreduce(&local, &most, 1, MPI_INT, MPI_MAX, comm);
    /* the node whose ranks have the fewest cores per rank decides the warning */
    double per = (double)cores / local, worst = 0;
    MPI_Allreduce(&per, &worst, 1, MPI_DOUBLE, MPI_MIN, comm);
    MPI_Allreduce(&cores, &fewest, 1, MPI_INT, MPI_MIN, comm);
    p->ranks_per_node = most;
    p->cores_per_node = fewest;
    char text[DP_CPUSET_TEXT], host[64];
    cpus_text(&mine, text, sizeof text);
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    if (rank == 0) {
        p->cpus = dp_xcalloc((size_t)size, sizeof *p->cpus);
        p->hosts = dp_xcalloc((size_t)size, sizeof *p->hosts);
    }
    MPI_Gather(text, DP_CPUSET_TEXT, MPI_CHAR, p->cpus, DP_CPUSET_TEXT, MPI_CHAR, 0, comm);
    MPI_Gather(host, 64, MPI_CHAR, p->hosts, 64, MPI_CHAR, 0, comm);
    if (rank == 0 && threads > worst)
        snprintf(p->warning, sizeof p->warning,
                 "ranks x threads exceed the cores they may use: up to %d rank%s per node x %d "
                 "thread%s, and %.3g core%s per rank on the most crowded node; threads that "
                 "share a core wait for each other: use fewer threads per rank ([run] threads, "
                 "OMP_NUM_THREADS) or fewer ranks per node",
                 most, most == 1 ? "" : "s", threads, threads == 1 ? "" : "s", worst,
                 worst == 1 ? "" : "s");
}

void dp_placement_free(dp_placement_t *p)
{
    free(p->cpus);
    free(p->hosts);
    p->cpus = NULL;
    p->hosts = NULL;
}
