/* The outputs of an axis reduction whose ranks each kept those of their own block ([reduce]
 * keep = own), put together in the reduced array's row-major order on rank 0. */
#ifndef DP_AXIS_GATHER_H
#define DP_AXIS_GATHER_H

#include "err.h"
#include "plan.h"

#include <mpi.h>
#include <stddef.h>

/* Gathers mine, the outputs of this rank's block of plan along axis (row-major over the block
 * without that axis, size bytes each), into *all on rank 0: the whole reduced array (malloc'ed,
 * the caller frees it); NULL on the other ranks. Rank q of comm holds block q of the plan.
 * Collective. */
dp_status_t dp_axis_gather(const dp_plan_t *plan, int axis, const void *mine, size_t size,
                           void **all, MPI_Comm comm);

#endif
