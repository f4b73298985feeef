/* The kernel registry and the synthetic data generators, inside dproc. The contract between
 * dproc and a kernel is the public header <dproc/kernel.h>; the built-in kernels are written
 * against it as plugins are, and listed once in registry.c. */
#ifndef DP_KERNEL_H
#define DP_KERNEL_H

#include "dproc/kernel.h"

#include <stdint.h>

/* The built-in reduce kernel: the only one that reads a scalar, more than DP_MAX_DIMS
 * dimensions or an empty array (dp_source_folded); plugins' REDUCE kernels get 1 to 3
 * dimensions and values, as the kernel API promised them. */
extern const dp_kernel_t dp_kernel_reduce;

/* The file's axis along which the built-in reduce's configuration cfg reduces ([reduce] axis),
 * or -1 for the whole array. Local. */
int dp_reduce_axis(const void *cfg);

/* The k-th (from 0) of the arrays the built-in reduce's configuration cfg writes, one per op
 * along its [reduce] axis ("mean" for <[output] dataset>/mean), in the order of the ops' bits;
 * NULL past the last, and always without an axis. Local. */
const char *dp_reduce_array_name(const void *cfg, int k);

/* Tells the built-in reduce's configuration cfg that its [reduce] axis is axis seen of the
 * array it is given: the driver merged the file's other axes around it (dp_source_fold).
 * Local. */
void dp_reduce_see_axis(void *cfg, int seen);

/* How many outputs of an axis reduction one rank may keep the exact accumulators of (256 MiB
 * of them). Local. */
int64_t dp_reduce_outputs_max(void);

/* Which outputs of its axis reduction of global (as read) each rank keeps, by the built-in
 * reduce's configuration cfg: 1, those of its own block ([reduce] keep = own, or auto with more
 * outputs than one rank may keep; the driver then leaves that axis whole on every rank); 0, all
 * of them (keep = all, or no axis); -1, either (keep = auto): the driver chooses. Local. */
int dp_reduce_keep(const void *cfg, const dp_shape_t *global);

/* Tells the built-in reduce's state that its rank keeps only the outputs of its block (start,
 * count, as read; largest: the largest block of any rank). Returns NULL, or why the largest
 * block has too many outputs for its exact accumulators. Local. */
const char *dp_reduce_own_block(void *state, const int64_t start[DP_MAX_DIMS],
                                const int64_t count[DP_MAX_DIMS],
                                const int64_t largest[DP_MAX_DIMS]);

/* One output of an axis reduction, finished: what the report and the output file take of it. */
typedef struct {
    int64_t count, nan;
    double sum, min, max, mean, var, std, l2;
} dp_reduce_value_t;

/* The finished outputs the built-in reduce's state holds after its pass along an axis (those
 * of its block when it owns them, row-major), and their number in n. Local. */
const dp_reduce_value_t *dp_reduce_values(const void *state, int64_t *n);

/* Gives the built-in reduce's state the finished outputs of the whole reduced array, row-major
 * (malloc'ed; the state frees them), in place of its own, and nan, the NaN values of all of them.
 * all is NULL on the ranks that do not hold them: their results then give the arrays' shapes
 * only (dp_results_elsewhere). Local. */
void dp_reduce_take_values(void *state, dp_reduce_value_t *all, int64_t nan);

/* A result that rank 0 holds, on another rank: its name, type (is_int) and shape (NULL: a
 * scalar), no values; the output file's dataset is written from rank 0's. Local. */
void dp_results_elsewhere(dp_results_t *r, const char *name, int is_int, const dp_shape_t *shape);

/* The kernel of that name, or NULL. Local. */
const dp_kernel_t *dp_kernel_find(const char *name);

/* The NULL-terminated list of all kernels: the built-in ones, then those of plugins. Local. */
const dp_kernel_t *const *dp_kernel_list(void);

/* Adds a plugin's kernel to the list; returns NULL, or why it cannot be added (a bad or taken
 * name, no summary or option table, a function its kind needs missing, too many kernels).
 * Local. */
const char *dp_kernel_add(const dp_kernel_t *k);

/* Removes the last n kernels added (those of a plugin refused after some were added). Local. */
void dp_kernel_drop(int n);

/* Synthetic data generators for source = generate: the value at each global index depends
 * only on that index (and seed), so any decomposition yields the same array. */
typedef enum { DP_GEN_RAMP, DP_GEN_RANDOM, DP_GEN_BUMP } dp_generator_t;
#define DP_GENERATOR_NAMES "ramp|random|bump"

/* Fills b->data with generator gen for the block b of the global array. Local, OpenMP. */
void dp_generate(dp_generator_t gen, uint64_t seed, dp_block_t *b);

/* The value of generator random at row-major global index i: uniform in [0, 1). Local. */
double dp_generate_random_at(uint64_t seed, uint64_t i);

#endif
