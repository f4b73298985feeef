/* Statistics along one axis of a distributed array: one dp_stats_t per element of the reduced
 * array (the global array without that axis), so that each rank's partial covers all of it and
 * the partials combine like the whole-array ones, exactly and in any order. */
#ifndef DP_REDUCE_AXIS_H
#define DP_REDUCE_AXIS_H

#include "kernel.h"
#include "stats.h"

#include <stdint.h>

/* The reduced shape (global without axis; a 1-D array gives one value) and its element count
 * (INT64_MAX when that overflows). Local. */
int64_t dp_axis_outputs(const dp_shape_t *global, int axis, dp_shape_t *reduced);

/* Adds the values of a piece to outs (dp_axis_outputs of them), line by line along the axis
 * (lines side by side gathered together).
 * OpenMP over lines; each line feeds its own output, so the result does not depend on the
 * thread count. Local. */
void dp_axis_add(dp_stats_t *outs, const dp_block_t *in, int axis, const dp_stats_want_t *w);

#endif
