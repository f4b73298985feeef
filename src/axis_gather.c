#include "axis_gather.h"

#include "comm.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The two axes other than axis, slow then fast (padded axes have extent 1). */
static void other_axes(int axis, int o[2])
{
    for (int d = 0, k = 0; d < DP_MAX_DIMS; d++)
        if (d != axis)
            o[k++] = d;
}

dp_status_t dp_axis_gather(const dp_plan_t *plan, int axis, const void *mine, size_t size,
                           void **all, MPI_Comm comm)
{
    int rank, nranks, o[2];
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    other_axes(axis, o);
    const int64_t rows = plan->global.n[o[0]], width = plan->global.n[o[1]];
    DP_CHECK(rows * width <= INT_MAX && width <= INT_MAX, DP_ERR_DATA,
             "the reduced array has %lld values; gathering it takes at most %d",
             (long long)(rows * width), INT_MAX);
    char *out = rank == 0 ? dp_xmalloc((size_t)(rows * width) * size) : NULL;
    MPI_Datatype value;
    MPI_Type_contiguous((int)size, MPI_BYTE, &value);
    MPI_Type_commit(&value);
    MPI_Request *req = dp_xcalloc((size_t)nranks, sizeof *req);
    dp_status_t st = DP_OK;
    for (int q = 0; q < nranks; q++) {
        int64_t start[DP_MAX_DIMS], count[DP_MAX_DIMS];
        dp_plan_block(plan, q, start, count);
        const int64_t n = count[o[0]] * count[o[1]];
        req[q] = MPI_REQUEST_NULL;
        if (n == 0 || (rank != 0 && q != rank))
            continue;
        if (rank != 0) {
            st = dp_comm_check(MPI_Send(mine, (int)n, value, 0, 23, comm),
                               "sending the outputs of this rank's block");
            continue;
        }
        char *at = out + (size_t)(start[o[0]] * width + start[o[1]]) * size;
        if (q == 0) { /* rank 0's own block: copied row by row */
            for (int64_t i = 0; i < count[o[0]]; i++)
                memcpy(at + (size_t)(i * width) * size,
                       (const char *)mine + (size_t)(i * count[o[1]]) * size,
                       (size_t)count[o[1]] * size);
        } else { /* the block's rows, width apart in the reduced array */
            MPI_Datatype box;
            MPI_Type_vector((int)count[o[0]], (int)count[o[1]], (int)width, value, &box);
            MPI_Type_commit(&box);
            const dp_status_t s = dp_comm_check(MPI_Irecv(at, 1, box, q, 23, comm, &req[q]),
                                                "receiving the outputs of a rank's block");
            st = st == DP_OK ? s : st;
            MPI_Type_free(&box);
        }
    }
    if (rank == 0) { /* every receive posted is waited for, even after one failed */
        const dp_status_t s = dp_comm_check(MPI_Waitall(nranks, req, MPI_STATUSES_IGNORE),
                                            "receiving the outputs of the ranks' blocks");
        st = st == DP_OK ? s : st;
    }
    free(req);
    st = dp_comm_agree(st, comm);
    MPI_Type_free(&value);
    if (st != DP_OK) {
        free(out);
        return st;
    }
    *all = out;
    return DP_OK;
}
