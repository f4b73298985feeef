#include "kernel.h"

#include <string.h>

/* copy: writes the input, converted to float64, to the output dataset. With source = raw it
 * converts a raw binary file to HDF5 in parallel; with source = generate it materialises a
 * synthetic dataset (test and benchmark inputs). */

static const dp_opt_t copy_opts[] = {{0}};

static void copy_process(const void *st, const dp_block_t *in, dp_block_t *out, void *partial)
{
    (void)st;
    (void)partial;
    if (out->data != in->data)
        memcpy(out->data, in->data, (size_t)dp_block_size(in) * sizeof(double));
}

const dp_kernel_t dp_kernel_copy = {
    .name = "copy",
    .summary =
        "write the input as a float64 HDF5 dataset (raw to HDF5, materialise generated data)",
    .kind = DP_KERNEL_MAP,
    .opts = copy_opts,
    .config_size = 0,
    .process = copy_process,
};
