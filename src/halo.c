#include "halo.h"

#include "comm.h"

#include <limits.h>
#include <string.h>

/* The index of direction dir (each component -1, 0 or 1) among the 27 of a cube. */
static int dir_index(const int dir[DP_MAX_DIMS])
{
    return ((dir[0] + 1) * 3 + dir[1] + 1) * 3 + dir[2] + 1;
}

/* The subarray of f's storage that is sent towards dir (own points next to that side) or
 * received from it (ghost points beyond that side). */
static dp_status_t region_type(const dp_field_t *f, const int dir[DP_MAX_DIMS], int recv,
                               MPI_Datatype *type)
{
    int sizes[DP_MAX_DIMS], subs[DP_MAX_DIMS], starts[DP_MAX_DIMS];
    const int nd = f->global.ndim;
    for (int d = 0; d < nd; d++) {
        const int64_t h = f->halo[d], c = f->count[d];
        int64_t start = h, sub = c;
        if (dir[d] != 0) {
            sub = h;
            if (recv)
                start = dir[d] < 0 ? 0 : h + c;
            else
                start = dir[d] < 0 ? h : c;
        }
        DP_CHECK(f->ext[d] <= INT_MAX, DP_ERR_DATA,
                 "a block of %lld points along axis %d is too long for an MPI datatype",
                 (long long)f->ext[d], d);
        sizes[d] = (int)f->ext[d];
        subs[d] = (int)sub;
        starts[d] = (int)start;
    }
    DP_CALL(dp_comm_check(
        MPI_Type_create_subarray(nd, sizes, subs, starts, MPI_ORDER_C, MPI_DOUBLE, type),
        "making a halo datatype"));
    return dp_comm_check(MPI_Type_commit(type), "committing a halo datatype");
}

int64_t dp_halo_thinnest(const dp_plan_t *plan, int d, int periodic)
{
    if (plan->dims[d] == 1 && !periodic)
        return -1;
    return plan->global.n[d] / plan->dims[d];
}

dp_status_t dp_halo_create(dp_halo_t *h, MPI_Comm comm, const dp_plan_t *plan, int rank,
                           const dp_field_t *f, int corners, int periodic)
{
    memset(h, 0, sizeof *h);
    h->comm = comm;
    const int nd = f->global.ndim;
    int coords[DP_MAX_DIMS] = {0, 0, 0};
    for (int d = nd - 1, rest = rank; d >= 0; d--) {
        coords[d] = rest % plan->dims[d];
        rest /= plan->dims[d];
    }
    for (int d = 0; d < nd; d++) {
        h->edges.side[d][0] = !periodic && coords[d] == 0;
        h->edges.side[d][1] = !periodic && coords[d] == plan->dims[d] - 1;
    }
    for (int q = 0; q < 27; q++) {
        int dir[DP_MAX_DIMS] = {q / 9 - 1, q / 3 % 3 - 1, q % 3 - 1}, moved = 0, outside = 0;
        int peer = 0;
        for (int d = 0; d < DP_MAX_DIMS; d++) {
            if (d >= nd && dir[d] != 0)
                outside = 1;
            if (d >= nd || dir[d] == 0) {
                peer = peer * (d < nd ? plan->dims[d] : 1) + (d < nd ? coords[d] : 0);
                continue;
            }
            moved++;
            int c = coords[d] + dir[d];
            if (c < 0 || c >= plan->dims[d]) {
                if (!periodic)
                    outside = 1;
                c = (c + plan->dims[d]) % plan->dims[d];
            }
            if (f->halo[d] == 0)
                outside = 1;
            peer = peer * plan->dims[d] + c;
        }
        if (moved == 0 || outside || (moved > 1 && !corners))
            continue;
        const int back[DP_MAX_DIMS] = {-dir[0], -dir[1], -dir[2]};
        const int k = h->n;
        h->peer[k] = peer;
        h->send_tag[k] = dir_index(dir);
        h->recv_tag[k] = dir_index(back);
        h->n++;
        DP_CALL(region_type(f, dir, 0, &h->send[k]));
        DP_CALL(region_type(f, dir, 1, &h->recv[k]));
    }
    return DP_OK;
}

dp_status_t dp_halo_begin(dp_halo_t *h, double *data)
{
    for (int k = 0; k < h->n; k++)
        DP_CALL(dp_comm_check(
            MPI_Irecv(data, 1, h->recv[k], h->peer[k], h->recv_tag[k], h->comm, &h->req[k]),
            "posting a halo receive"));
    for (int k = 0; k < h->n; k++)
        DP_CALL(dp_comm_check(
            MPI_Isend(data, 1, h->send[k], h->peer[k], h->send_tag[k], h->comm, &h->req[h->n + k]),
            "posting a halo send"));
    h->active = 1;
    return DP_OK;
}

int dp_halo_progress(dp_halo_t *h)
{
    if (!h->active)
        return 1;
    int done = 0;
    MPI_Testall(2 * h->n, h->req, &done, MPI_STATUSES_IGNORE);
    return done;
}

dp_status_t dp_halo_end(dp_halo_t *h)
{
    if (!h->active)
        return DP_OK;
    h->active = 0;
    return dp_comm_check(MPI_Waitall(2 * h->n, h->req, MPI_STATUSES_IGNORE),
                         "waiting for the halo exchange");
}

void dp_halo_free(dp_halo_t *h)
{
    for (int k = 0; k < h->n; k++) {
        MPI_Type_free(&h->send[k]);
        MPI_Type_free(&h->recv[k]);
    }
    h->n = 0;
}
