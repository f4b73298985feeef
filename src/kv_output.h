/* The result of a key-value job: every rank orders the keys it owns, rank 0 merges the ordered
 * runs of all ranks (received in bounded batches) and writes them as TSV or as an HDF5 compound
 * dataset, under a temporary name renamed into place when complete. */
#ifndef DP_KV_OUTPUT_H
#define DP_KV_OUTPUT_H

#include "err.h"
#include "job.h"
#include "kvtable.h"
#include "report.h"

#include <mpi.h>
#include <stdint.h>

typedef enum { DP_KV_TSV, DP_KV_HDF5 } dp_kv_format_t;
#define DP_KV_FORMAT_NAMES "tsv|hdf5"

typedef struct {
    int64_t distinct; /* keys over all ranks */
    int ntop;         /* rank 0: the first rows of the output order */
    char **top_key;
    int64_t *top_count;
} dp_kv_out_t;

/* Orders the keys of owned on every rank, merges them on rank 0 and writes [output] path when
 * the job has one; fills out (the top list on rank 0). Collective. */
dp_status_t dp_kv_output(const dp_job_t *job, const dp_runinfo_t *info, const void *st,
                         const dp_kvt_t *owned, MPI_Comm comm, dp_kv_out_t *out);

/* Frees the top list. Local. */
void dp_kv_out_free(dp_kv_out_t *out);

#endif
