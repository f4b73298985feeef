#include "plugin.h"

#include "err.h"
#include "fault.h"
#include "opts.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_PLUGINS = 32 };

/* The plugins loaded: their real paths and the kernels each brought. */
static struct {
    char *path;
    const dp_plugin_t *plugin;
    char *error; /* why one of its kernels was refused, or NULL */
} loaded[MAX_PLUGINS];
static int nloaded;

static char why[PATH_MAX + 400];

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file that name means: itself when it holds a '/', else the first of DIR/name for the
 * directories of DPROC_PLUGIN_PATH and ./name that exists. NULL when none does. */
static const char *resolve(const char *name, char *buf, size_t size)
{
    if (strchr(name, '/'))
        return name;
    const char *list = getenv("DPROC_PLUGIN_PATH");
    for (const char *p = list; p && *p;) {
        const char *colon = strchr(p, ':');
        const int len = (int)(colon ? (size_t)(colon - p) : strlen(p));
        if (len > 0) {
            snprintf(buf, size, "%.*s/%s", len, p, name);
            if (is_file(buf))
                return buf;
        }
        p = colon ? colon + 1 : NULL;
    }
    snprintf(buf, size, "./%s", name);
    return is_file(buf) ? buf : NULL;
}

/* Why a default of kernel k's option table is refused by its own row, or NULL: a plugin's
 * mistake, found when it is loaded rather than blamed on the job. */
static const char *bad_default(const dp_kernel_t *k)
{
    static char msg[600];
    msg[0] = '\0';
    void *cfg = dp_xcalloc(1, k->config_size ? k->config_size : 1);
    dp_diag_t d = {0};
    const dp_where_t w = {.file = "default"};
    for (const dp_opt_t *o = k->opts; o->key && !d.n; o++)
        if (o->def && o->type != DP_OPT_NAMED)
            dp_opts_parse_as(k->opts, o->key, k->name, o->key, o->def, w, cfg, &d);
    if (d.n)
        snprintf(msg, sizeof msg, "kernel '%s': a default its option table refuses: %s", k->name,
                 d.msg[0]);
    dp_opts_free(k->opts, cfg);
    free(cfg);
    dp_diag_free(&d);
    return msg[0] ? msg : NULL;
}

static const char *load_file(const char *file)
{
    char real[PATH_MAX];
    if (!realpath(file, real)) {
        snprintf(why, sizeof why, "%s: %s", file, strerror(errno));
        return why;
    }
    if (!is_file(real)) {
        snprintf(why, sizeof why, "%s: not a regular file", file);
        return why;
    }
    for (int i = 0; i < nloaded; i++)
        if (!strcmp(loaded[i].path, real))
            return loaded[i].error;
    if (nloaded == MAX_PLUGINS) {
        snprintf(why, sizeof why, "%s: more than %d plugins", file, MAX_PLUGINS);
        return why;
    }
    if (dp_fault_hit(DP_FAULT_PLUGIN)) {
        snprintf(why, sizeof why, "%s: cannot be loaded: injected fault (DPROC_FAULT)", file);
        return why;
    }
    void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "%s: cannot be loaded: %s", file, e ? e : "unknown error");
        return why;
    }
    const dp_plugin_t *pl = dlsym(h, DP_PLUGIN_SYMBOL);
    if (!pl) {
        snprintf(why, sizeof why,
                 "%s: not a dproc plugin: it defines no '%s' (DP_PLUGIN_EXPORT const "
                 "dp_plugin_t dproc_plugin = {...}, see docs/kernels.md)",
                 file, DP_PLUGIN_SYMBOL);
    } else if (pl->api_version != DP_KERNEL_API_VERSION) {
        snprintf(why, sizeof why,
                 "%s: built for kernel API version %d, this dproc has version %d: rebuild it "
                 "against this dproc's <dproc/kernel.h>",
                 file, pl->api_version, DP_KERNEL_API_VERSION);
    } else if (!pl->kernels || !pl->kernels[0]) {
        snprintf(why, sizeof why, "%s: the plugin lists no kernels", file);
    } else { /* from here its code stays loaded: kernels added before a bad one live on */
        loaded[nloaded].path = dp_xstrdup(real);
        loaded[nloaded++].plugin = pl;
        int added = 0;
        for (const dp_kernel_t *const *k = pl->kernels; *k; k++) {
            const char *bad = dp_kernel_add(*k);
            if (!bad) {
                added++;
                bad = bad_default(*k);
            }
            if (bad) { /* then none of its kernels */
                snprintf(why, sizeof why, "%s: %s", file, bad);
                loaded[nloaded - 1].error = dp_xstrdup(why);
                dp_kernel_drop(added);
                return why;
            }
        }
        return NULL;
    }
    dlclose(h);
    return why;
}

const char *dp_plugin_load(const char *name)
{
    char buf[PATH_MAX];
    const char *file = resolve(name, buf, sizeof buf);
    if (!file) {
        snprintf(why, sizeof why,
                 "%s: no such plugin in the directories of DPROC_PLUGIN_PATH (%s) or the working "
                 "directory",
                 name, getenv("DPROC_PLUGIN_PATH") ? getenv("DPROC_PLUGIN_PATH") : "not set");
        return why;
    }
    return load_file(file);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_so(const struct dirent *d)
{
    const size_t n = strlen(d->d_name);
    return n > 3 && !strcmp(d->d_name + n - 3, ".so");
}

/* Loads every *.so of directory dir, by name. */
static const char *load_dir(const char *dir)
{
    struct dirent **names;
    const int n = scandir(dir, &names, is_so, by_name);
    if (n < 0) {
        snprintf(why, sizeof why, "%s: %s", dir, strerror(errno));
        return why;
    }
    const char *bad = NULL;
    for (int i = 0; i < n; i++) {
        char file[PATH_MAX + 256];
        snprintf(file, sizeof file, "%s/%s", dir, names[i]->d_name);
        if (!bad)
            bad = load_file(file);
        free(names[i]);
    }
    free(names);
    return bad;
}

const char *dp_plugin_load_path(void)
{
    static int done;
    static const char *result;
    if (done)
        return result;
    done = 1;
    const char *list = getenv("DPROC_PLUGIN_PATH");
    for (const char *p = list; p && *p && !result;) {
        const char *colon = strchr(p, ':');
        const size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char entry[PATH_MAX];
        snprintf(entry, sizeof entry, "%.*s", (int)len, p);
        struct stat st;
        const char *bad = NULL;
        if (len > 0 && stat(entry, &st) != 0) {
            snprintf(why, sizeof why, "%s: %s", entry, strerror(errno));
            bad = why;
        } else if (len > 0) {
            bad = S_ISDIR(st.st_mode) ? load_dir(entry) : load_file(entry);
        }
        result = bad ? dp_xstrdup(bad) : NULL; /* why is overwritten by later loads */
        p = colon ? colon + 1 : NULL;
    }
    return result;
}

const char *dp_plugin_of(const dp_kernel_t *k, const char **name)
{
    for (int i = 0; i < nloaded; i++)
        for (const dp_kernel_t *const *q = loaded[i].plugin->kernels; *q; q++)
            if (*q == k) {
                *name = loaded[i].plugin->name ? loaded[i].plugin->name : "?";
                return loaded[i].path;
            }
    return NULL;
}
