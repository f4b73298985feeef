#include "kernel.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern const dp_kernel_t dp_kernel_copy;
extern const dp_kernel_t dp_kernel_map;
extern const dp_kernel_t dp_kernel_stencil;
extern const dp_kernel_t dp_kernel_wordcount;
extern const dp_kernel_t dp_kernel_groupby;
extern const dp_kernel_t dp_kernel_expr;

enum { MAX_KERNELS = 64 };

/* The built-in kernels, then those of the plugins loaded, NULL-terminated. */
static const dp_kernel_t *registry[MAX_KERNELS + 1] = {
    &dp_kernel_reduce,  &dp_kernel_copy,      &dp_kernel_map,     &dp_kernel_expr,
    &dp_kernel_stencil, &dp_kernel_wordcount, &dp_kernel_groupby, NULL,
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

/* The first function that a kernel of its kind must have and lacks, or NULL. */
static const char *missing_function(const dp_kernel_t *k)
{
    switch (k->kind) {
    case DP_KERNEL_REDUCE:
        return !k->partial_size   ? "partial_size"
               : !k->partial_init ? "partial_init"
               : !k->process      ? "process"
               : !k->combine      ? "combine"
               : !k->results      ? "results"
                                  : NULL;
    case DP_KERNEL_MAP:
        return !k->process ? "process" : NULL;
    case DP_KERNEL_STENCIL:
        return !k->iteration ? "iteration" : !k->sweep ? "sweep" : !k->fill ? "fill" : NULL;
    case DP_KERNEL_KEYVALUE:
        return !k->create                       ? "create (a key-value kernel's state)"
               : !k->kv_value_size              ? "kv_value_size"
               : !k->kv_map                     ? "kv_map"
               : !k->kv_merge                   ? "kv_merge"
               : !k->kv_pack != !k->kv_unpack   ? "kv_pack and kv_unpack (both or neither)"
               : !k->kv_pack != !k->kv_pack_max ? "kv_pack and kv_pack_max (both or neither)"
               : !k->kv_columns                 ? "kv_columns"
               : !k->kv_row                     ? "kv_row"
               : !k->kv_count                   ? "kv_count"
               : !k->kv_top_k                   ? "kv_top_k"
                                                : NULL;
    }
    return "a valid kind";
}

/* Bytes of the destination of an option of type t. */
static size_t opt_size(dp_opt_type_t t)
{
    switch (t) {
    case DP_OPT_STRING:
        return sizeof(char *);
    case DP_OPT_INT:
        return sizeof(int64_t);
    case DP_OPT_REAL:
        return sizeof(double);
    case DP_OPT_BOOL:
    case DP_OPT_CHOICE:
        return sizeof(int);
    case DP_OPT_FLAGS:
        return sizeof(unsigned);
    case DP_OPT_SHAPE:
        return sizeof(dp_shape_t);
    case DP_OPT_REALS:
        return sizeof(dp_reals_t);
    case DP_OPT_NAMED:
        return sizeof(dp_named_t);
    }
    return SIZE_MAX;
}

/* Why a row of the kernel's option table is unusable, or NULL: its destination does not fit
 * in config_size bytes, a number has no range (min and max left 0), or a second NAMED row. */
static const char *bad_option(const dp_kernel_t *k)
{
    static char why[300];
    int named = 0;
    for (const dp_opt_t *o = k->opts; o->key; o++) {
        const size_t size = opt_size(o->type);
        const int number = o->type == DP_OPT_INT || o->type == DP_OPT_REAL ||
                           o->type == DP_OPT_REALS || o->type == DP_OPT_NAMED;
        named += o->type == DP_OPT_NAMED;
        if (size == SIZE_MAX || o->offset > k->config_size || size > k->config_size - o->offset)
            snprintf(why, sizeof why,
                     "option '%.40s' has no room in its configuration (offset and type beyond "
                     "config_size %zu bytes)",
                     o->key, k->config_size);
        else if (number && !(o->min < o->max))
            snprintf(why, sizeof why, "option '%.40s' has no range: set min below max", o->key);
        else if (named > 1)
            snprintf(why, sizeof why, "option '%.40s': a second NAMED row", o->key);
        else
            continue;
        return why;
    }
    return NULL;
}

void dp_kernel_drop(int n)
{
    size_t len = 0;
    while (registry[len])
        len++;
    while (n-- > 0 && len > 0)
        registry[--len] = NULL;
}

const char *dp_kernel_add(const dp_kernel_t *k)
{
    static char why[400];
    const char *name = k->name ? k->name : "";
    size_t len = strlen(name), i = 0;
    while (i < len && (name[i] == '_' || name[i] == '-' || (name[i] >= 'a' && name[i] <= 'z') ||
                       (name[i] >= '0' && name[i] <= '9')))
        i++;
    const char *missing = missing_function(k);
    if (!len || i < len || len > 40)
        snprintf(why, sizeof why,
                 "a kernel is named '%.40s': a name is 1 to 40 of a-z, 0-9, '_' and '-'", name);
    else if (dp_kernel_find(name))
        snprintf(why, sizeof why, "a kernel named '%s' exists already", name);
    else if (!strcmp(name, "job") || !strcmp(name, "input") || !strcmp(name, "output") ||
             !strcmp(name, "run"))
        snprintf(why, sizeof why, "a kernel is named '%s', the name of a section of dproc's", name);
    else if (!k->summary || !k->opts)
        snprintf(why, sizeof why, "kernel '%s' has no %s", name,
                 k->summary ? "opts (an option table; {{0}} for no keys)" : "summary");
    else if (missing)
        snprintf(why, sizeof why, "kernel '%s' lacks %s", name, missing);
    else if (bad_option(k))
        snprintf(why, sizeof why, "kernel '%s': %s", name, bad_option(k));
    else if (registry[MAX_KERNELS - 1])
        snprintf(why, sizeof why, "more than %d kernels in all", MAX_KERNELS);
    else
        why[0] = '\0';
    if (why[0])
        return why;
    size_t n = 0;
    while (registry[n])
        n++;
    registry[n] = k;
    return NULL;
}
