/* Halo exchange: the ghost points of a field filled from the neighbouring ranks' blocks with
 * nonblocking point-to-point messages described by subarray datatypes (no packing copies). */
#ifndef DP_HALO_H
#define DP_HALO_H

#include "err.h"
#include "kernel.h"
#include "plan.h"

#include <mpi.h>

enum { DP_HALO_MAX_PEERS = 26 };

typedef struct {
    MPI_Comm comm;
    int n;                           /* messages each way */
    int peer[DP_HALO_MAX_PEERS];     /* rank to exchange with */
    int send_tag[DP_HALO_MAX_PEERS]; /* tags say the direction, so that one peer on two */
    int recv_tag[DP_HALO_MAX_PEERS]; /* sides (2 ranks, periodic) is not confused */
    MPI_Datatype send[DP_HALO_MAX_PEERS];
    MPI_Datatype recv[DP_HALO_MAX_PEERS];
    MPI_Request req[2 * DP_HALO_MAX_PEERS];
    int active;       /* requests posted and not yet completed */
    dp_edges_t edges; /* sides of the block on the edge of a non-periodic array */
} dp_halo_t;

/* Prepares the exchange of the ghost layers of fields laid out like f (f->halo wide) between
 * rank and its neighbours in plan's grid: the face neighbours, and the edge and corner ones
 * too when corners is set. With periodic the grid wraps around on every axis. Every block
 * that sends along an axis must be at least f->halo points thick there (see
 * dp_halo_thinnest). Local (comm is only recorded). */
dp_status_t dp_halo_create(dp_halo_t *h, MPI_Comm comm, const dp_plan_t *plan, int rank,
                           const dp_field_t *f, int corners, int periodic);

/* The thickness along axis d of the thinnest block of the plan among those that exchange
 * along d (all of them, when the grid has more than one rank there or wraps), or -1 when no
 * block exchanges along d. Local. */
int64_t dp_halo_thinnest(const dp_plan_t *plan, int d, int periodic);

/* Posts the receives and sends of one exchange into and from data (a field laid out as at
 * create). Neighbourhood-collective: every neighbour must post the matching exchange. */
dp_status_t dp_halo_begin(dp_halo_t *h, double *data);

/* Lets the messages of the posted exchange progress (MPI_Testall); returns 1 when all are
 * complete. Local. */
int dp_halo_progress(dp_halo_t *h);

/* Waits for the posted exchange to complete. Local (completes the neighbourhood exchange). */
dp_status_t dp_halo_end(dp_halo_t *h);

/* Frees the datatypes. Local. */
void dp_halo_free(dp_halo_t *h);

#endif
