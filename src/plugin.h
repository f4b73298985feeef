/* Plugins: shared objects of kernels written against <dproc/kernel.h>, loaded with dlopen by
 * every rank for itself, named by [job] plugin, --plugin or the directories of
 * DPROC_PLUGIN_PATH (docs/kernels.md). */
#ifndef DP_PLUGIN_H
#define DP_PLUGIN_H

#include "kernel.h"

/* Loads the plugin file and adds its kernels to the registry. A name without '/' is looked for
 * in the directories of DPROC_PLUGIN_PATH, then in the working directory. A file already loaded
 * is not loaded again. Returns NULL, or why the plugin cannot be used (no such file, dlopen's
 * message, no DP_PLUGIN_SYMBOL, another API version, a bad kernel); the message names the file.
 * Local: each rank loads for itself, so callers agree on the outcome across ranks. */
const char *dp_plugin_load(const char *name);

/* Loads, once per process, the plugins that DPROC_PLUGIN_PATH names: a ':'-separated list of
 * directories (every *.so in them, by name) and files. Returns NULL, or why the first that
 * failed cannot be used. Local. */
const char *dp_plugin_load_path(void);

/* The file of the plugin that brought kernel k, with the plugin's name in *name; NULL for a
 * built-in kernel. Local. */
const char *dp_plugin_of(const dp_kernel_t *k, const char **name);

#endif
