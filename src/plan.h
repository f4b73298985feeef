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
 * with the smallest largest block, then, when the kernel exchanges halos, the least total cut
 * area between blocks (the halo traffic of a stencil), then the most ranks on earlier axes
 * (longer contiguous runs in a row-major file: what kernels without halos want next). Axis
 * whole (-1: none) is not split. Fails when the array needs more axes than it has, no grid
 * leaves axis whole, or its size overflows 64 bits. Local. */
dp_status_t dp_plan_make(dp_plan_t *p, const dp_shape_t *global, int nranks, int decomp, int halos,
                         int whole);

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

/* What bounds the buffers of a block that is read in pieces of whole rows. */
typedef struct {
    int64_t memory; /* bytes the data buffers of a rank may take; 0: no bound */
    int64_t chunk;  /* largest read in bytes (chunk_mb) */
    int in_size;    /* bytes of a stored input element */
    int convert;    /* stored elements are not float64: converted into a float64 buffer */
    int slots;      /* buffers of nonblocking reads (prefetch + 1); 0: reads through the source */
    int out_size;   /* bytes of an output element written piece by piece; 0: no such output */
    int multi_pass; /* the kernel may read the data again: keep the block when it fits */
    int64_t align;  /* piece rows are a multiple of this when larger (storage chunks); 0: any */
} dp_budget_in_t;

typedef struct {
    int64_t piece_rows; /* rows of the block per piece */
    int whole;          /* the whole block stays in memory (as float64) */
    int64_t bytes;      /* the buffers in all */
} dp_budget_t;

/* The pieces a block of count[] is read in, and whether it is kept whole: pieces of at most
 * chunk bytes, at most INT_MAX values (an MPI count), and buffers within memory. Buffers are
 * the read slots, a float64 piece where values are converted (or read through the source,
 * with the source's buffer of stored values), two output pieces, and the whole block when
 * kept. Fails with DP_ERR_USAGE, the message saying what one row needs, when not even one row
 * fits. Local. */
dp_status_t dp_plan_budget(const int64_t count[DP_MAX_DIMS], const dp_budget_in_t *in,
                           dp_budget_t *out);

#endif
