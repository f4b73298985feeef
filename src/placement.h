/* Where the ranks run: the Slurm job they belong to, how many share each node, and which
 * cores each may use (sched_getaffinity), so that the report can show the layout and rank 0
 * can warn when ranks x threads exceed the cores they were given. */
#ifndef DP_PLACEMENT_H
#define DP_PLACEMENT_H

#include <mpi.h>

enum { DP_CPUSET_TEXT = 64 };

typedef struct {
    char job_id[32], array_task_id[32], nodelist[256]; /* from Slurm's environment, or "" */
    int ranks_per_node;                                /* the most ranks on one node */
    int cores_per_node;           /* the fewest cores that the ranks of one node may use together */
    int threads;                  /* OpenMP threads per rank */
    char (*cpus)[DP_CPUSET_TEXT]; /* per rank (rank 0 only): "0-3,8" */
    char (*hosts)[64];            /* per rank (rank 0 only) */
    char warning[384];            /* set on rank 0 when the node's cores are oversubscribed */
} dp_placement_t;

/* Gathers the placement of every rank on rank 0. Collective; threads must match. */
void dp_placement_gather(dp_placement_t *p, int threads, MPI_Comm comm);

/* Frees what dp_placement_gather allocated. Local. */
void dp_placement_free(dp_placement_t *p);

#endif
