/* The plan: how the global array is split over ranks (a Cartesian grid of blocks) and how each
 * block is read in pieces. Pure index arithmetic in 64 bits, no MPI: unit-testable. */
#ifndef DP_PLAN_H
#define DP_PLAN_H

#include "err.h"
#include "kernel.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    dp_shape_t global;
    int nranks;
    int dims[DP_MAX_DIMS]; /* ranks along each axis; 1 for axes not split */
} dp_plan_t;

/* Chooses the process grid for nranks over global: decomp is a dp_decomp_t (auto splits all
 * axes, 1d/2d/3d the first 1/2/3). Among the grids with the given split axes it takes the one
 * with the smallest largest block, then the least total cut area between blocks (the halo
 * traffic of a stencil), then the most ranks on
 * earlier axes (longer contiguous runs). Fails when the array needs more axes than it has or
 * its size overflows 64 bits. Local. */
dp_status_t dp_plan_make(dp_plan_t *p, const dp_shape_t *global, int nranks, int decomp);

/* Block of rank r (row-major grid coordinates, as MPI_Cart_coords): start and count per axis.
 * Extents that do not divide evenly give the first (n % ranks) blocks one more element; ranks
 * beyond the elements get count 0. Local. */
void dp_plan_block(const dp_plan_t *p, int rank, int64_t start[DP_MAX_DIMS],
                   int64_t count[DP_MAX_DIMS]);

/* Start along axis d of the block at grid coordinate c. Local. */
int64_t dp_plan_start(const dp_plan_t *p, int d, int c);

/* Number of elements of a shape, or -1 when it (times 8 bytes) overflows int64. Local. */
int64_t dp_shape_elements(const dp_shape_t *s);

/* Rows (along axis 0) of a block per piece so that one piece is at most chunk_bytes of
 * elem_bytes elements (at least one row). Local. */
int64_t dp_plan_piece_rows(const int64_t count[DP_MAX_DIMS], int64_t chunk_bytes,
                           int64_t elem_bytes);

/* The number of pieces of the rank with the most: every rank takes part in that many
 * collective reads. Local. */
int64_t dp_plan_max_pieces(const dp_plan_t *p, int64_t chunk_bytes, int64_t elem_bytes);

/* Largest block over all ranks, in elements. Local. */
int64_t dp_plan_max_block(const dp_plan_t *p);

#endif
