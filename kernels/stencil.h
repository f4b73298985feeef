/* Stencils: taps (offset, weight), their presets, and the sweeps that apply them to a field
 * with ghost points. Pure local computation (OpenMP), no MPI. */
#ifndef DP_STENCIL_H
#define DP_STENCIL_H

#include "kernel.h"

enum { DP_STENCIL_MAX_RADIUS = 4, DP_STENCIL_MAX_TAPS = 729 };

/* out[x] = sum over taps t, in order, of w[t] * in[x + off[t]], evaluated left to right
 * starting from the first product. */
typedef struct {
    int ndim;
    int n;
    int off[DP_STENCIL_MAX_TAPS][DP_MAX_DIMS];
    double w[DP_STENCIL_MAX_TAPS];
} dp_taps_t;

typedef enum {
    DP_PRESET_CUSTOM,
    DP_PRESET_JACOBI,
    DP_PRESET_HEAT,
    DP_PRESET_LAPLACIAN,
    DP_PRESET_BLUR3,
    DP_PRESET_STAR,
    DP_PRESET_BOX,
} dp_preset_t;
#define DP_PRESET_NAMES "custom|jacobi|heat|laplacian|blur3|star|box"

typedef enum { DP_BOUNDARY_DIRICHLET, DP_BOUNDARY_PERIODIC, DP_BOUNDARY_NEUMANN } dp_boundary_t;
#define DP_BOUNDARY_NAMES "dirichlet|periodic|neumann"

/* Parses "-1,0:0.25 1,0:0.25" (offsets per axis, colon, weight; taps separated by blanks).
 * Returns NULL, or why the text is wrong. Local. */
const char *dp_taps_parse(const char *text, dp_taps_t *t);

/* The taps of a preset for an ndim-dimensional array (alpha for heat, radius for star and
 * box). Local. */
void dp_taps_preset(dp_preset_t p, int ndim, double alpha, int radius, dp_taps_t *t);

/* Applies the taps at every point of box: vectorised row segments, OpenMP over rows. Local,
 * OpenMP. */
void dp_taps_sweep(const dp_taps_t *t, const dp_field_t *in, dp_field_t *out, const dp_box_t *box);

/* The same, one point at a time: the reference the sweep is tested against. Local. */
void dp_taps_sweep_ref(const dp_taps_t *t, const dp_field_t *in, dp_field_t *out,
                       const dp_box_t *box);

/* Temporal blocking: applies steps iterations to each tile (a box of in's own points) at once,
 * in a scratch copy of the tile with its ghosts, and writes the tile's own points of the result
 * into out. in's ghosts must hold valid values steps * reach[d] deep beyond every side that is
 * not an edge of the array (edges marks those), and be filled (dp_field_fill_edges) beyond the
 * edges that the tiles touch; every grown tile must hold at most
 * DP_TILE_POINTS points. scratch holds 2 DP_TILE_POINTS doubles for each of nscratch threads.
 * With want_change returns the largest change of the last iteration over the tiles' own points
 * (NaN when one is NaN), else 0. Local, OpenMP over tiles. */
double dp_taps_steps(const dp_taps_t *t, dp_boundary_t b, double value, const dp_field_t *in,
                     dp_field_t *out, const dp_edges_t *edges, int64_t steps,
                     const int64_t reach[DP_MAX_DIMS], const dp_box_t *tiles, int64_t ntiles,
                     double *scratch, int nscratch, int want_change);

/* Fills the ghost points of f beyond the marked edges: with value (dirichlet) or with the
 * nearest point of the block (neumann), axis after axis, as numpy's np.pad modes constant and
 * edge do. Local, OpenMP. */
void dp_field_fill_edges(dp_field_t *f, const dp_edges_t *edges, dp_boundary_t b, double value);

#endif
