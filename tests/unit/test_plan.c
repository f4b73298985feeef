#include "dp_test.h"
#include "job.h"
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static dp_shape_t shape(int nd, int64_t a, int64_t b, int64_t c)
{
    dp_shape_t s = {.ndim = nd, .n = {a, nd > 1 ? b : 1, nd > 2 ? c : 1}};
    return s;
}

/* Every element of a small array is owned by exactly one rank, and blocks are boxes. */
static int tiles_exactly(const dp_plan_t *p)
{
    const int64_t n = p->global.n[0] * p->global.n[1] * p->global.n[2];
    int *owner = calloc((size_t)n, sizeof *owner);
    int64_t total = 0;
    int ok = 1;
    for (int r = 0; r < p->nranks; r++) {
        int64_t s[3], c[3];
        dp_plan_block(p, r, s, c);
        for (int d = 0; d < 3; d++)
            ok &= s[d] >= 0 && c[d] >= 0 && s[d] + c[d] <= p->global.n[d];
        total += c[0] * c[1] * c[2];
        for (int64_t i = 0; i < c[0]; i++)
            for (int64_t j = 0; j < c[1]; j++)
                for (int64_t k = 0; k < c[2]; k++)
                    owner[((s[0] + i) * p->global.n[1] + s[1] + j) * p->global.n[2] + s[2] + k]++;
    }
    for (int64_t i = 0; i < n; i++)
        ok &= owner[i] == 1;
    free(owner);
    return ok && total == n;
}

static void test_tiling_many(void)
{
    const int64_t ext[] = {1, 2, 3, 5, 7, 13, 16, 31};
    const int next = sizeof ext / sizeof ext[0];
    for (int nranks = 1; nranks <= 13; nranks++)
        for (int nd = 1; nd <= 3; nd++)
            for (int a = 0; a < next; a++)
                for (int b = 0; b < (nd > 1 ? next : 1); b += 3)
                    for (int c = 0; c < (nd > 2 ? next : 1); c += 4)
                        for (int dec = DP_DECOMP_AUTO; dec <= nd; dec++) {
                            dp_shape_t g = shape(nd, ext[a], ext[b], ext[c]);
                            dp_plan_t p;
                            CU_ASSERT_EQUAL_FATAL(dp_plan_make(&p, &g, nranks, dec, 1, -1), DP_OK);
                            CU_ASSERT_EQUAL(p.dims[0] * p.dims[1] * p.dims[2], nranks);
                            if (dec != DP_DECOMP_AUTO)
                                for (int d = dec; d < 3; d++)
                                    CU_ASSERT_EQUAL(p.dims[d], 1);
                            CU_ASSERT(tiles_exactly(&p));
                        }
}

static void test_uneven_split(void)
{
    dp_shape_t g = shape(1, 10, 1, 1);
    dp_plan_t p;
    CU_ASSERT_EQUAL(dp_plan_make(&p, &g, 4, DP_DECOMP_AUTO, 1, -1), DP_OK);
    const int64_t want_start[] = {0, 3, 6, 8}, want_count[] = {3, 3, 2, 2};
    for (int r = 0; r < 4; r++) {
        int64_t s[3], c[3];
        dp_plan_block(&p, r, s, c);
        CU_ASSERT_EQUAL(s[0], want_start[r]);
        CU_ASSERT_EQUAL(c[0], want_count[r]);
    }
}

static void test_more_ranks_than_elements(void)
{
    dp_shape_t g = shape(1, 1, 1, 1);
    dp_plan_t p;
    CU_ASSERT_EQUAL(dp_plan_make(&p, &g, 7, DP_DECOMP_AUTO, 1, -1), DP_OK);
    int with_data = 0;
    for (int r = 0; r < 7; r++) {
        int64_t s[3], c[3];
        dp_plan_block(&p, r, s, c);
        with_data += c[0] * c[1] * c[2] > 0;
    }
    CU_ASSERT_EQUAL(with_data, 1);
    CU_ASSERT(tiles_exactly(&p));
}

static void test_grid_choice(void)
{
    dp_plan_t p;
    dp_shape_t square = shape(2, 1000, 1000, 1);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &square, 4, DP_DECOMP_AUTO, 1, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 2 && p.dims[1] == 2);
    dp_shape_t tall = shape(2, 4000, 3, 1);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &tall, 4, DP_DECOMP_AUTO, 1, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 4 && p.dims[1] == 1);
    dp_shape_t cube = shape(3, 64, 64, 64);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &cube, 8, DP_DECOMP_AUTO, 1, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 2 && p.dims[1] == 2 && p.dims[2] == 2);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &cube, 8, DP_DECOMP_1D, 1, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 8 && p.dims[1] == 1 && p.dims[2] == 1);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &square, 6, DP_DECOMP_AUTO, 1, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 3 && p.dims[1] == 2);
    /* without halos, balance first, then row slabs (contiguous in the file) */
    CU_ASSERT_EQUAL(dp_plan_make(&p, &square, 4, DP_DECOMP_AUTO, 0, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 4 && p.dims[1] == 1);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &cube, 8, DP_DECOMP_AUTO, 0, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 8 && p.dims[1] == 1 && p.dims[2] == 1);
    dp_shape_t wide = shape(2, 3, 1000, 1); /* 4 row slabs would leave a rank without a row */
    CU_ASSERT_EQUAL(dp_plan_make(&p, &wide, 4, DP_DECOMP_AUTO, 0, -1), DP_OK);
    CU_ASSERT(p.dims[0] == 1 && p.dims[1] == 4);
}

/* An axis kept whole (an axis reduction whose ranks own their outputs) is never split. */
static void test_whole_axis(void)
{
    dp_plan_t p;
    dp_shape_t table = shape(2, 100000, 300, 1); /* auto alone would cut the 100000 rows */
    CU_ASSERT_EQUAL(dp_plan_make(&p, &table, 4, DP_DECOMP_AUTO, 0, 0), DP_OK);
    CU_ASSERT(p.dims[0] == 1 && p.dims[1] == 4);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &table, 4, DP_DECOMP_2D, 0, 0), DP_OK);
    CU_ASSERT(p.dims[0] == 1 && p.dims[1] == 4);
    dp_shape_t cube = shape(3, 64, 64, 64);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &cube, 8, DP_DECOMP_AUTO, 0, 1), DP_OK);
    CU_ASSERT(p.dims[1] == 1 && p.dims[0] * p.dims[2] == 8);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &cube, 8, DP_DECOMP_1D, 0, 1), DP_OK);
    CU_ASSERT(p.dims[0] == 8);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &table, 4, DP_DECOMP_1D, 0, 0), DP_ERR_USAGE);
    dp_shape_t line = shape(1, 1000, 1, 1);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &line, 2, DP_DECOMP_AUTO, 0, 0), DP_ERR_USAGE);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &line, 1, DP_DECOMP_AUTO, 0, 0), DP_OK);
}

static void test_refusals(void)
{
    dp_plan_t p;
    dp_shape_t flat = shape(2, 5, 5, 1);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &flat, 2, DP_DECOMP_3D, 1, -1), DP_ERR_USAGE);
    dp_shape_t huge = shape(3, (int64_t)1 << 21, (int64_t)1 << 21, (int64_t)1 << 21);
    CU_ASSERT_EQUAL(dp_plan_make(&p, &huge, 2, DP_DECOMP_AUTO, 1, -1), DP_ERR_DATA);
    CU_ASSERT_EQUAL(dp_shape_elements(&huge), -1);
    dp_shape_t big = shape(3, (int64_t)1 << 20, (int64_t)1 << 20, (int64_t)1 << 19);
    CU_ASSERT_EQUAL(dp_shape_elements(&big), (int64_t)1 << 59);
    dp_shape_t over = shape(1, INT64_MAX / 4, 1, 1);
    CU_ASSERT_EQUAL(dp_shape_elements(&over), -1);
}

static void test_large_extents_no_wrap(void)
{
    dp_shape_t g = shape(1, (int64_t)1 << 59, 1, 1);
    dp_plan_t p;
    CU_ASSERT_EQUAL_FATAL(dp_plan_make(&p, &g, 3, DP_DECOMP_AUTO, 1, -1), DP_OK);
    int64_t total = 0, next = 0;
    for (int r = 0; r < 3; r++) {
        int64_t s[3], c[3];
        dp_plan_block(&p, r, s, c);
        CU_ASSERT_EQUAL(s[0], next);
        next = s[0] + c[0];
        total += c[0];
    }
    CU_ASSERT_EQUAL(total, (int64_t)1 << 59);
}

static void test_pieces(void)
{
    const int64_t count[3] = {100, 10, 10};
    CU_ASSERT_EQUAL(dp_plan_piece_rows(count, 8000, 8), 10);
    CU_ASSERT_EQUAL(dp_plan_piece_rows(count, 100, 8), 1);
    CU_ASSERT_EQUAL(dp_plan_piece_rows(count, 1 << 30, 8), 1342177);
    const int64_t empty[3] = {0, 0, 0};
    CU_ASSERT_EQUAL(dp_plan_piece_rows(empty, 8000, 8), 1);
}

/* Expected values worked by hand from the documented buffers: rows of 100 values. */
static void test_budget(void)
{
    const int64_t count[3] = {100, 10, 10};
    dp_budget_t b;
    /* float64 read directly, 3 slots: 24 bytes a value; 8000-byte chunks are 10 rows */
    dp_budget_in_t in = {.chunk = 8000, .in_size = 8, .slots = 3};
    CU_ASSERT_EQUAL(dp_plan_budget(count, &in, &b), DP_OK);
    CU_ASSERT_EQUAL(b.piece_rows, 10);
    CU_ASSERT_EQUAL(b.whole, 0);
    CU_ASSERT_EQUAL(b.bytes, 10 * 100 * 24);
    /* memory for 4 rows and a little: 4-row pieces */
    in.memory = 4 * 100 * 24 + 5;
    CU_ASSERT_EQUAL(dp_plan_budget(count, &in, &b), DP_OK);
    CU_ASSERT_EQUAL(b.piece_rows, 4);
    CU_ASSERT_EQUAL(b.bytes, 4 * 100 * 24);
    CU_ASSERT(b.bytes <= in.memory);
    /* not even one row */
    in.memory = 100 * 24 - 1;
    CU_ASSERT_EQUAL(dp_plan_budget(count, &in, &b), DP_ERR_USAGE);
    /* a multi-pass kernel keeps the block when there is no bound: float64 read in place */
    in.memory = 0;
    in.multi_pass = 1;
    CU_ASSERT_EQUAL(dp_plan_budget(count, &in, &b), DP_OK);
    CU_ASSERT_EQUAL(b.whole, 1);
    CU_ASSERT_EQUAL(b.bytes, 100 * 100 * 8);
    /* ... and streams it when the block does not fit */
    in.memory = 50000;
    CU_ASSERT_EQUAL(dp_plan_budget(count, &in, &b), DP_OK);
    CU_ASSERT_EQUAL(b.whole, 0);
    CU_ASSERT_EQUAL(b.piece_rows, 10);
    /* int16 through the source (2 + a float64 piece 8) with a float32 output (2 x 4): 18 */
    dp_budget_in_t conv = {.chunk = 8000, .in_size = 2, .convert = 1, .out_size = 4};
    CU_ASSERT_EQUAL(dp_plan_budget(count, &conv, &b), DP_OK);
    CU_ASSERT_EQUAL(b.piece_rows, 40);
    CU_ASSERT_EQUAL(b.bytes, 40 * 100 * 18);
    conv.align = 16; /* storage chunks of 16 rows: 32-row pieces */
    CU_ASSERT_EQUAL(dp_plan_budget(count, &conv, &b), DP_OK);
    CU_ASSERT_EQUAL(b.piece_rows, 32);
    /* pieces never exceed an MPI count */
    const int64_t wide[3] = {(int64_t)1 << 20, 4096, 1};
    dp_budget_in_t big = {.chunk = (int64_t)1 << 40, .in_size = 1, .convert = 1, .slots = 1};
    CU_ASSERT_EQUAL(dp_plan_budget(wide, &big, &b), DP_OK);
    CU_ASSERT_EQUAL(b.piece_rows, 2147483647 / 4096);
}

int main(void)
{
    static const dp_test_case_t cases[] = {
        {"blocks tile the array for 1..13 ranks", test_tiling_many},
        {"uneven split", test_uneven_split},
        {"more ranks than elements", test_more_ranks_than_elements},
        {"grid choice", test_grid_choice},
        {"an axis kept whole", test_whole_axis},
        {"refused shapes and overflow", test_refusals},
        {"2^59 elements split without wrapping", test_large_extents_no_wrap},
        {"pieces", test_pieces},
        {"buffers within chunk_mb and memory_mb", test_budget},
        {NULL, NULL},
    };
    return dp_test_main("plan", cases);
}
