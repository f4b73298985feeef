#include "stencil.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* stencil: out[x] = sum over taps of w * in[x + offset], applied iterations times (Jacobi
 * style, two buffers), with ghost points exchanged between ranks by the driver. Every point is
 * computed by the same operations in the same order whatever the decomposition, so results are
 * identical to the bit for any rank and thread count. */

typedef struct {
    int preset;
    char *taps;
    double alpha;
    int64_t radius;
    int64_t iterations;
    int boundary;
    double boundary_value;
    int64_t halo_depth;
    int temporal_blocking;
    double tolerance;
    int64_t check_every;
    int64_t checkpoint_every;
    char *checkpoint_path;
    int64_t snapshot_every;
    char *snapshot_path;
} stencil_cfg_t;

#define OFF(f) offsetof(stencil_cfg_t, f)

static const dp_opt_t stencil_opts[] = {
    {.key = "preset",
     .type = DP_OPT_CHOICE,
     .def = "custom",
     .allowed = DP_PRESET_NAMES,
     .offset = OFF(preset),
     .help = "a named stencil (taps in docs/stencil.md); custom takes taps"},
    {.key = "taps",
     .type = DP_OPT_STRING,
     .offset = OFF(taps),
     .help = "custom stencil: offset per axis, colon, weight; taps separated by blanks, e.g. "
             "-1,0:0.25 1,0:0.25 0,-1:0.25 0,1:0.25; offsets within -4..4"},
    {.key = "alpha",
     .type = DP_OPT_REAL,
     .def = "0.1",
     .min = -1e300,
     .max = 1e300,
     .offset = OFF(alpha),
     .help = "heat: u + alpha * (sum of the 2d neighbours - 2d u); stable for alpha <= 1/(2d)"},
    {.key = "radius",
     .type = DP_OPT_INT,
     .def = "1",
     .min = 1,
     .max = DP_STENCIL_MAX_RADIUS,
     .offset = OFF(radius),
     .help = "star and box: reach of the stencil along each axis"},
    {.key = "iterations",
     .type = DP_OPT_INT,
     .def = "1",
     .min = 0,
     .max = 1000000000,
     .offset = OFF(iterations),
     .help = "applications of the stencil (each reads the previous result)"},
    {.key = "boundary",
     .type = DP_OPT_CHOICE,
     .def = "dirichlet",
     .allowed = DP_BOUNDARY_NAMES,
     .offset = OFF(boundary),
     .help = "points beyond the array: boundary_value (dirichlet), wrapped around (periodic) or "
             "the nearest edge point (neumann); as np.pad constant / wrap / edge"},
    {.key = "boundary_value",
     .type = DP_OPT_REAL,
     .def = "0",
     .min = -1.7976931348623157e308,
     .max = 1.7976931348623157e308,
     .offset = OFF(boundary_value),
     .help = "dirichlet: the value of every point beyond the array"},
    {.key = "halo_depth",
     .type = DP_OPT_INT,
     .def = "1",
     .min = 1,
     .max = 64,
     .offset = OFF(halo_depth),
     .help = "iterations per halo exchange: a halo halo_depth times as wide, exchanged once "
             "every halo_depth iterations, with the overlap recomputed (same bits)"},
    {.key = "temporal_blocking",
     .type = DP_OPT_BOOL,
     .def = "false",
     .offset = OFF(temporal_blocking),
     .help = "with halo_depth > 1: iterate L2-sized tiles halo_depth times at once (one pass "
             "over memory per halo_depth iterations; same bits); pays off where the sweep is "
             "bound by memory, not by arithmetic"},
    {.key = "tolerance",
     .type = DP_OPT_REAL,
     .def = "0",
     .min = 0,
     .max = 1.7976931348623157e308,
     .offset = OFF(tolerance),
     .help = "stop early when the largest change of a point in one iteration is below this; "
             "0 runs all iterations"},
    {.key = "check_every",
     .type = DP_OPT_INT,
     .def = "10",
     .min = 1,
     .max = 1000000000,
     .offset = OFF(check_every),
     .help = "iterations between convergence checks (each costs one reduction over all ranks)"},
    {.key = "checkpoint_every",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 1000000000,
     .offset = OFF(checkpoint_every),
     .help = "iterations between checkpoints written to checkpoint_path; 0: none"},
    {.key = "checkpoint_path",
     .type = DP_OPT_STRING,
     .offset = OFF(checkpoint_path),
     .help = "HDF5 checkpoint (field and iteration), replaced atomically; dproc --restart "
             "resumes from it"},
    {.key = "snapshot_every",
     .type = DP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 1000000000,
     .offset = OFF(snapshot_every),
     .help = "iterations between snapshots of the field appended to snapshot_path (the "
             "first field too); 0: none"},
    {.key = "snapshot_path",
     .type = DP_OPT_STRING,
     .offset = OFF(snapshot_path),
     .help = "HDF5 time series: /snapshots (time x the field's shape) and /iterations, "
             "published when the job ends"},
    {0},
};

static const char *stencil_check(const void *cfgp, const char **key, int *column)
{
    (void)column;
    const stencil_cfg_t *c = cfgp;
    static char why[160];
    if (c->preset == DP_PRESET_CUSTOM && !c->taps) {
        *key = "taps";
        return "missing: give taps, or a preset (" DP_PRESET_NAMES ")";
    }
    if (c->preset != DP_PRESET_CUSTOM && c->taps) {
        *key = "taps";
        return "taps and a preset exclude each other: remove one";
    }
    if (c->taps) {
        dp_taps_t *t = malloc(sizeof *t);
        const char *bad = t ? dp_taps_parse(c->taps, t) : "out of memory";
        free(t);
        if (bad) {
            snprintf(why, sizeof why, "%s", bad);
            *key = "taps";
            return why;
        }
    }
    if (c->checkpoint_every > 0 && !c->checkpoint_path) {
        *key = "checkpoint_every";
        return "needs checkpoint_path";
    }
    if (c->snapshot_every > 0 && !c->snapshot_path) {
        *key = "snapshot_every";
        return "needs snapshot_path";
    }
    return NULL;
}

static int stencil_files(const void *cfgp, const char *keys[], const char *paths[])
{
    const stencil_cfg_t *c = cfgp;
    int n = 0;
    if (c->checkpoint_path)
        keys[n] = "checkpoint_path", paths[n++] = c->checkpoint_path;
    if (c->snapshot_path)
        keys[n] = "snapshot_path", paths[n++] = c->snapshot_path;
    return n;
}

static const char *stencil_check_data(const void *cfgp, const dp_shape_t *global, const char **key)
{
    const stencil_cfg_t *c = cfgp;
    static char why[160];
    if (!c->taps)
        return NULL;
    dp_taps_t *t = malloc(sizeof *t);
    if (!t)
        return "out of memory";
    dp_taps_parse(c->taps, t);
    const int nd = t->ndim;
    free(t);
    if (nd != global->ndim) {
        snprintf(why, sizeof why, "taps have %d offset%s each, but the data have %d dimension%s",
                 nd, nd == 1 ? "" : "s", global->ndim, global->ndim == 1 ? "" : "s");
        *key = "taps";
        return why;
    }
    return NULL;
}

typedef struct {
    dp_taps_t taps;
    const stencil_cfg_t *cfg;
    char signature[512];
    int64_t reach[DP_MAX_DIMS];
    double *scratch; /* temporal blocking: 2 tiles per thread */
    int nscratch;
} stencil_t;

static void *stencil_create(const void *cfgp, const dp_shape_t *global)
{
    const stencil_cfg_t *c = cfgp;
    stencil_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = c;
    if (c->taps)
        dp_taps_parse(c->taps, &s->taps);
    else
        dp_taps_preset(c->preset, global->ndim, c->alpha, (int)c->radius, &s->taps);
    /* what decides the bits of the result, to refuse a checkpoint of another computation */
    static const char *const bnames[] = {"dirichlet", "periodic", "neumann"};
    int len = snprintf(s->signature, sizeof s->signature,
                       "boundary=%s value=%.17g taps=", bnames[c->boundary], c->boundary_value);
    unsigned long long h = 1469598103934665603ull; /* FNV-1a of the taps */
    for (int q = 0; q < s->taps.n; q++) {
        unsigned char bytes[sizeof s->taps.off[q] + sizeof(double)];
        memcpy(bytes, s->taps.off[q], sizeof s->taps.off[q]);
        memcpy(bytes + sizeof s->taps.off[q], &s->taps.w[q], sizeof(double));
        for (size_t b = 0; b < sizeof bytes; b++)
            h = (h ^ bytes[b]) * 1099511628211ull;
    }
    snprintf(s->signature + len, sizeof s->signature - (size_t)len, "%d:%016llx", s->taps.n, h);
    for (int q = 0; q < s->taps.n; q++)
        for (int d = 0; d < s->taps.ndim; d++)
            if (abs(s->taps.off[q][d]) > s->reach[d])
                s->reach[d] = abs(s->taps.off[q][d]);
    if (c->halo_depth > 1 && c->temporal_blocking) {
        s->nscratch = omp_get_max_threads();
        s->scratch = malloc((size_t)s->nscratch * 2 * DP_TILE_POINTS * sizeof(double));
        if (!s->scratch) { /* 1 MiB per thread: as small bookkeeping, fatal */
            fprintf(stderr, "dproc: out of memory for the stencil's tiles\n");
            abort();
        }
    }
    return s;
}

static void stencil_iteration(const void *stp, dp_iteration_t *it)
{
    const stencil_t *s = stp;
    const stencil_cfg_t *c = s->cfg;
    *it = (dp_iteration_t){
        .periodic = c->boundary == DP_BOUNDARY_PERIODIC,
        .iterations = c->iterations,
        .halo_depth = c->halo_depth,
        .tiles = c->halo_depth > 1 && c->temporal_blocking,
        .tolerance = c->tolerance,
        .check_every = c->check_every,
        .checkpoint_every = c->checkpoint_every,
        .checkpoint_path = c->checkpoint_path,
        .snapshot_every = c->snapshot_every,
        .snapshot_path = c->snapshot_path,
        .signature = s->signature,
    };
    memcpy(it->radius, s->reach, sizeof it->radius);
    for (int q = 0; q < s->taps.n; q++) {
        int off_axes = 0;
        for (int d = 0; d < s->taps.ndim; d++)
            off_axes += s->taps.off[q][d] != 0;
        if (off_axes > 1)
            it->corners = 1;
    }
}

static void stencil_sweep(const void *stp, const dp_field_t *in, dp_field_t *out,
                          const dp_box_t *box)
{
    const stencil_t *s = stp;
    dp_taps_sweep(&s->taps, in, out, box);
}

static void stencil_fill(const void *stp, dp_field_t *f, const dp_edges_t *edges)
{
    const stencil_t *s = stp;
    dp_field_fill_edges(f, edges, s->cfg->boundary, s->cfg->boundary_value);
}

static double stencil_steps(const void *stp, const dp_field_t *in, dp_field_t *out,
                            const dp_edges_t *edges, int64_t steps, const dp_box_t *tiles,
                            int64_t ntiles, int want_change)
{
    const stencil_t *s = stp;
    return dp_taps_steps(&s->taps, s->cfg->boundary, s->cfg->boundary_value, in, out, edges, steps,
                         s->reach, tiles, ntiles, s->scratch, s->nscratch, want_change);
}

static void stencil_destroy(void *stp)
{
    stencil_t *s = stp;
    if (s)
        free(s->scratch);
    free(s);
}

const dp_kernel_t dp_kernel_stencil = {
    .name = "stencil",
    .summary = "iterate a weighted neighbourhood sum (diffusion, smoothing) with halo exchange",
    .kind = DP_KERNEL_STENCIL,
    .opts = stencil_opts,
    .config_size = sizeof(stencil_cfg_t),
    .check = stencil_check,
    .check_data = stencil_check_data,
    .files = stencil_files,
    .create = stencil_create,
    .iteration = stencil_iteration,
    .sweep = stencil_sweep,
    .fill = stencil_fill,
    .steps = stencil_steps,
    .destroy = stencil_destroy,
};
