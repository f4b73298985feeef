#include "kernel.h"

#include <string.h>

extern const dp_kernel_t dp_kernel_reduce;
extern const dp_kernel_t dp_kernel_copy;
extern const dp_kernel_t dp_kernel_map;
extern const dp_kernel_t dp_kernel_stencil;
extern const dp_kernel_t dp_kernel_wordcount;
extern const dp_kernel_t dp_kernel_groupby;

static const dp_kernel_t *const registry[] = {
    &dp_kernel_reduce,    &dp_kernel_copy,    &dp_kernel_map, &dp_kernel_stencil,
    &dp_kernel_wordcount, &dp_kernel_groupby, NULL,
};

const dp_kernel_t *const *dp_kernel_list(void)
{
    return registry;
}

const dp_kernel_t *dp_kernel_find(const char *name)
{
    for (const dp_kernel_t *const *k = registry; *k; k++)
        if (!strcmp((*k)->name, name))
            return *k;
    return NULL;
}
