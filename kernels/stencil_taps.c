#include "stencil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dp_taps_parse(const char *text, dp_taps_t *t)
{
    static char why[160];
    memset(t, 0, sizeof *t);
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (t->n == DP_STENCIL_MAX_TAPS) {
            snprintf(why, sizeof why, "more than %d taps", DP_STENCIL_MAX_TAPS);
            return why;
        }
        const int q = t->n + 1;
        int nd = 0;
        for (;;) {
            char *end;
            errno = 0;
            const long o = strtol(p, &end, 10);
            if (end == p || errno) {
                snprintf(why, sizeof why, "tap %d: expected a whole offset at '%.24s'", q, p);
                return why;
            }
            if (o < -DP_STENCIL_MAX_RADIUS || o > DP_STENCIL_MAX_RADIUS) {
                snprintf(why, sizeof why, "tap %d: offset %ld is beyond the largest radius %d", q,
                         o, DP_STENCIL_MAX_RADIUS);
                return why;
            }
            if (nd == DP_MAX_DIMS) {
                snprintf(why, sizeof why, "tap %d: more than %d offsets", q, DP_MAX_DIMS);
                return why;
            }
            t->off[t->n][nd++] = (int)o;
            p = end;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ':')
                break;
            snprintf(why, sizeof why, "tap %d: expected ',' or ':' at '%.24s'", q, p);
            return why;
        }
        p++;
        char *end;
        errno = 0;
        const double w = strtod(p, &end);
        if (end == p || (*end && !isspace((unsigned char)*end))) {
            snprintf(why, sizeof why, "tap %d: expected a weight at '%.24s'", q, p);
            return why;
        }
        if (!isfinite(w) || errno == ERANGE) {
            snprintf(why, sizeof why, "tap %d: weight '%.*s' is not a finite double", q,
                     (int)(end - p > 32 ? 32 : end - p), p);
            return why;
        }
        if (t->n > 0 && nd != t->ndim) {
            snprintf(why, sizeof why, "tap %d has %d offset%s, tap 1 has %d", q, nd,
                     nd == 1 ? "" : "s", t->ndim);
            return why;
        }
        t->ndim = nd;
        t->w[t->n++] = w;
        p = end;
    }
    if (t->n == 0)
        return "no taps";
    return NULL;
}

static void add(dp_taps_t *t, const int off[DP_MAX_DIMS], double w)
{
    memcpy(t->off[t->n], off, sizeof t->off[t->n]);
    t->w[t->n++] = w;
}

/* The 2 ndim face neighbours, axis by axis, -1 before +1, each with weight w. */
static void faces(dp_taps_t *t, int reach, double (*weight)(int j, int reach))
{
    for (int d = 0; d < t->ndim; d++)
        for (int j = 1; j <= reach; j++)
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                int off[DP_MAX_DIMS] = {0, 0, 0};
                off[d] = sgn * j;
                add(t, off, sgn * weight(j, reach));
            }
}

static double one(int j, int reach)
{
    (void)j;
    (void)reach;
    return 1;
}

/* The Parallel Research Kernels' star: +-1 / (2 j r) at distance j, antisymmetric. */
static double prk_star(int j, int reach)
{
    return 1.0 / (2.0 * j * reach);
}

/* Every offset of the cube [-r, r]^ndim in row-major order. */
static void cube(dp_taps_t *t, int r, const double *w1d)
{
    const int side = 2 * r + 1;
    int total = 1;
    for (int d = 0; d < t->ndim; d++)
        total *= side;
    for (int q = 0; q < total; q++) {
        int off[DP_MAX_DIMS] = {0, 0, 0}, rest = q;
        double w = 1;
        for (int d = t->ndim - 1; d >= 0; d--) {
            off[d] = rest % side - r;
            w *= w1d[rest % side];
            rest /= side;
        }
        add(t, off, w);
    }
}

void dp_taps_preset(dp_preset_t p, int ndim, double alpha, int radius, dp_taps_t *t)
{
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    const int center[DP_MAX_DIMS] = {0, 0, 0};
    switch (p) {
    case DP_PRESET_CUSTOM:
        break;
    case DP_PRESET_JACOBI: {
        faces(t, 1, one);
        for (int q = 0; q < t->n; q++)
            t->w[q] = 1.0 / (2 * ndim);
        break;
    }
    case DP_PRESET_HEAT:
        add(t, center, 1 - 2 * ndim * alpha);
        faces(t, 1, one);
        for (int q = 1; q < t->n; q++)
            t->w[q] = alpha;
        break;
    case DP_PRESET_LAPLACIAN:
        add(t, center, -2.0 * ndim);
        faces(t, 1, one);
        for (int q = 1; q < t->n; q++)
            t->w[q] = 1;
        break;
    case DP_PRESET_BLUR3: {
        const double w1d[3] = {0.25, 0.5, 0.25};
        cube(t, 1, w1d);
        break;
    }
    case DP_PRESET_STAR:
        faces(t, radius, prk_star);
        break;
    case DP_PRESET_BOX: {
        double w1d[2 * DP_STENCIL_MAX_RADIUS + 1];
        for (int q = 0; q < 2 * radius + 1; q++)
            w1d[q] = 1.0 / (2 * radius + 1);
        cube(t, radius, w1d);
        break;
    }
    }
}
