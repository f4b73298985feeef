#include "plan.h"

#include "job.h"

#include <limits.h>
#include <string.h>

int64_t dp_shape_elements(const dp_shape_t *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        if (__builtin_mul_overflow(n, s->n[d], &n))
            return -1;
    int64_t bytes;
    if (__builtin_mul_overflow(n, (int64_t)8, &bytes))
        return -1;
    return n;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

typedef struct {
    int64_t largest;
    double surface; /* total area of the cuts between blocks, in elements */
    int dims[DP_MAX_DIMS];
} score_t;

static score_t score(const dp_shape_t *g, const int dims[DP_MAX_DIMS])
{
    score_t s = {.largest = 1, .surface = 0};
    int64_t ext[DP_MAX_DIMS];
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        ext[d] = ceil_div(g->n[d], dims[d]);
        s.dims[d] = dims[d];
        s.largest *= ext[d];
    }
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        double cut = dims[d] - 1;
        for (int e = 0; e < DP_MAX_DIMS; e++)
            if (e != d)
                cut *= (double)g->n[e];
        s.surface += cut;
    }
    return s;
}

static int better(const score_t *a, const score_t *b, int halos)
{
    if (a->largest != b->largest)
        return a->largest < b->largest;
    if (halos && a->surface != b->surface)
        return a->surface < b->surface;
    for (int d = 0; d < DP_MAX_DIMS; d++)
        if (a->dims[d] != b->dims[d])
            return a->dims[d] > b->dims[d];
    return 0;
}

dp_status_t dp_plan_make(dp_plan_t *p, const dp_shape_t *global, int nranks, int decomp, int halos,
                         int whole)
{
    DP_CHECK(nranks >= 1, DP_ERR_INTERNAL, "plan for %d ranks", nranks);
    DP_CHECK(global->ndim >= 1 && global->ndim <= DP_MAX_DIMS, DP_ERR_DATA,
             "the data has %d dimensions; dproc handles 1 to %d", global->ndim, DP_MAX_DIMS);
    DP_CHECK(dp_shape_elements(global) >= 0, DP_ERR_DATA,
             "the data's size overflows 64-bit byte counts");
    int split = decomp == DP_DECOMP_AUTO ? global->ndim : decomp;
    DP_CHECK(split <= global->ndim, DP_ERR_USAGE,
             "%dd needs an array of at least %d dimensions; the data has %d", split, split,
             global->ndim);
    memset(p, 0, sizeof *p);
    p->global = *global;
    for (int d = global->ndim; d < DP_MAX_DIMS; d++)
        p->global.n[d] = 1;
    p->nranks = nranks;
    score_t best = {.largest = -1};
    for (int a = 1; a <= nranks; a++) {
        if (nranks % a)
            continue;
        if (split == 1 && a != nranks)
            continue;
        int rest = nranks / a;
        for (int b = 1; b <= rest; b++) {
            if (rest % b)
                continue;
            int c = rest / b;
            if ((split < 2 && b != 1) || (split < 3 && c != 1))
                continue;
            const int dims[DP_MAX_DIMS] = {a, b, c};
            if (whole >= 0 && whole < DP_MAX_DIMS && dims[whole] != 1)
                continue;
            score_t s = score(&p->global, dims);
            if (best.largest < 0 || better(&s, &best, halos))
                best = s;
        }
    }
    DP_CHECK(best.largest >= 0, DP_ERR_USAGE,
             global->ndim == 1
                 ? "the data have one axis, which this job keeps whole on each rank: it cannot "
                   "be split over %d ranks"
                 : "1d splits axis 0 over %d ranks, and this job keeps it whole on each rank: use "
                   "2d or auto",
             nranks);
    memcpy(p->dims, best.dims, sizeof p->dims);
    return DP_OK;
}

int64_t dp_plan_start(const dp_plan_t *p, int d, int c)
{
    const int64_t n = p->global.n[d], base = n / p->dims[d], rem = n % p->dims[d];
    return c * base + (c < rem ? c : rem);
}

void dp_plan_block(const dp_plan_t *p, int rank, int64_t start[DP_MAX_DIMS],
                   int64_t count[DP_MAX_DIMS])
{
    int coord[DP_MAX_DIMS];
    int r = rank;
    for (int d = DP_MAX_DIMS - 1; d >= 0; d--) {
        coord[d] = r % p->dims[d];
        r /= p->dims[d];
    }
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        start[d] = dp_plan_start(p, d, coord[d]);
        count[d] = dp_plan_start(p, d, coord[d] + 1) - start[d];
    }
}

int64_t dp_plan_piece_rows(const int64_t count[DP_MAX_DIMS], int64_t chunk_bytes,
                           int64_t elem_bytes)
{
    const int64_t row = count[1] * count[2] * elem_bytes;
    if (row <= 0)
        return 1;
    const int64_t rows = chunk_bytes / row;
    return rows < 1 ? 1 : rows;
}

/* Bytes per value of a piece: the buffers that scale with the piece. */
static int64_t piece_bytes(const dp_budget_in_t *in, int whole)
{
    const int64_t convert = in->convert;
    int64_t b = 2 * (int64_t)in->out_size;
    if (in->slots > 0)
        b += whole && !convert ? 0 : in->slots * (int64_t)in->in_size;
    else
        b += convert ? in->in_size : 0;
    if (!whole && (in->slots == 0 || convert))
        b += 8; /* the float64 piece */
    return b;
}

dp_status_t dp_plan_budget(const int64_t count[DP_MAX_DIMS], const dp_budget_in_t *in,
                           dp_budget_t *out)
{
    const int64_t row = count[1] * count[2];
    const int64_t block = count[0] * row;
    int64_t rows = dp_plan_piece_rows(count, in->chunk, in->in_size);
    if (row > 0 && rows > INT_MAX / row)
        rows = INT_MAX / row > 0 ? INT_MAX / row : 1;
    if (rows > count[0])
        rows = count[0] > 0 ? count[0] : 1;
    *out = (dp_budget_t){.piece_rows = rows};
    if (in->multi_pass) {
        const int64_t whole = block * 8 + rows * row * piece_bytes(in, 1);
        if (in->memory == 0 || whole <= in->memory) {
            out->whole = 1;
            out->bytes = whole;
            return DP_OK;
        }
    }
    const int64_t per_row = row * piece_bytes(in, 0);
    if (in->memory > 0 && per_row > 0) {
        const int64_t fit = in->memory / per_row;
        DP_CHECK(fit >= 1, DP_ERR_USAGE,
                 "is too small: one row of a block (%lld values) needs %.2f MiB of buffers "
                 "(reads in flight, conversion, output); raise it, lower [run] prefetch or use "
                 "more ranks",
                 (long long)row, (double)per_row / (1 << 20));
        if (fit < rows)
            rows = fit;
    }
    if (in->align > 0 && rows > in->align)
        rows -= rows % in->align;
    out->piece_rows = rows;
    out->bytes = rows * per_row;
    return DP_OK;
}
