#include "comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

dp_status_t dp_comm_agree(dp_status_t status, MPI_Comm comm)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = status == DP_OK ? size : rank, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size)
        return DP_OK;
    struct {
        int code;
        char msg[DP_ERR_MSG_MAX];
    } m;
    if (rank == first) {
        m.code = (int)status;
        int named = 0; /* a message agreed on before already names the rank it came from */
        sscanf(dp_err_msg(), "rank %*d: %n", &named);
        if (size > 1 && status != DP_ERR_USAGE && !named) /* a bad job: the same on every rank */
            snprintf(m.msg, sizeof m.msg, "rank %d: %s", rank, dp_err_msg());
        else
            snprintf(m.msg, sizeof m.msg, "%s", dp_err_msg());
    }
    MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, comm);
    dp_err_replace((dp_status_t)m.code, m.msg);
    return (dp_status_t)m.code;
}

dp_status_t dp_comm_combine(void *buf, size_t size,
                            void (*combine)(const void *ctx, void *acc, const void *in),
                            const void *ctx, MPI_Comm comm)
{
    DP_CHECK(size <= INT_MAX, DP_ERR_INTERNAL, "partial result of %zu bytes", size);
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    void *in = dp_xmalloc(size);
    dp_status_t st = DP_OK;
    for (int step = 1; step < nranks && st == DP_OK; step *= 2) {
        if (rank % (2 * step) == 0) {
            if (rank + step < nranks) {
                st = dp_comm_check(
                    MPI_Recv(in, (int)size, MPI_BYTE, rank + step, 17, comm, MPI_STATUS_IGNORE),
                    "receiving a partial result");
                if (st == DP_OK)
                    combine(ctx, buf, in);
            }
        } else if (rank % (2 * step) == step) {
            st = dp_comm_check(MPI_Send(buf, (int)size, MPI_BYTE, rank - step, 17, comm),
                               "sending a partial result");
            break;
        }
    }
    free(in);
    DP_CALL(st);
    return dp_comm_check(MPI_Bcast(buf, (int)size, MPI_BYTE, 0, comm),
                         "broadcasting the combined result");
}

dp_status_t dp_comm_check(int mpi_rc, const char *what)
{
    if (mpi_rc == MPI_SUCCESS)
        return DP_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(mpi_rc, text, &len);
    return dp_err_set(DP_ERR_MPI, "%s: %s", what, text);
}

int dp_comm_wait_io(MPI_Request *req, MPI_Status *status)
{
    for (;;) {
        int done = 0;
        const int rc = MPI_Test(req, &done, status);
        if (rc != MPI_SUCCESS || done)
            return rc;
        const struct timespec pause = {0, 50000};
        nanosleep(&pause, NULL);
    }
}
