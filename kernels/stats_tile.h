/* The SIMD passes of the statistics over one tile, one implementation per instruction set
 * (stats_tile.c compiled three times); stats.c picks one at run time. */
#ifndef DP_STATS_TILE_H
#define DP_STATS_TILE_H

#include "histogram.h"
#include "xsum.h"

#include <stdint.h>

enum {
    DP_TILE = 2048,   /* values per tile: 16 KiB, stays in L1 */
    DP_TILE_PAD = 16, /* pass B works on a multiple of this many values */
};

/* Histogram counts: DP_BIN_COPIES interleaved arrays of `stride` words (the bins, below, above,
 * then NaN), value i of a tile counted in copy i % DP_BIN_COPIES, so that values falling in one
 * bin one after the other do not wait on each other's increments; stride 0 makes the copies
 * one array. */
typedef struct {
    int64_t *c;
    int64_t stride;
} dp_bin_counts_t;

enum { DP_BIN_COPIES = 4 };

/* The squares of values below DP_SQUARES_EXACT = 2^-485 have bits below 2^-1074, which x*x and
 * its fma error lose: the folds add them from the values scaled by 2^DP_STATS_SMALL_SHIFT, exact
 * for every double, to an accumulator of their own (s2small). */
enum { DP_STATS_SMALL_SHIFT = 537 };
#define DP_SQUARES_EXACT 0x1p-485

typedef struct {
    /* Pass A: copies x[0..n) to clean with NaN replaced by 0 (then zeros up to a multiple of
     * DP_TILE_PAD); returns the count of non-NaN values and their min, max and max |x|. */
    int64_t (*scan)(const double *restrict x, int64_t n, double *restrict clean, double *mn,
                    double *mx, double *amax);
    /* Pass B: adds the sum of the n values (n <= DP_TILE, a multiple of DP_TILE_PAD, finite,
     * |x| < 2^500, amax their largest |x|) to s1 and, when squares is set, the sum of their
     * squares to s2, exactly, but the squares of values below 2^-485 to s2small, scaled by
     * 2^(2 DP_STATS_SMALL_SHIFT); s2small NULL: to s2 as they are (for values whose squares
     * are exact so, as those of x 2^DP_STATS_SMALL_SHIFT are for any double x). Tiles whose
     * values are all that small go one value at a time. Prefetches next[0..next_n) meanwhile,
     * to keep memory busy. */
    void (*fold)(const double *restrict x, int64_t n, double amax, int squares, dp_xsum_t *s1,
                 dp_xsum_t *s2, dp_xsum_t *s2small, const double *next, int64_t next_n);
    /* Passes A and B in one, over x itself, for a tile whose largest |x| is believed to be
     * below 2^(ilogb(guess) + 1) (0 < guess < 2^499): adds the sums as fold does, sets *mn and
     * *mx, and returns 0. Returns -1 and adds nothing if some |x| reaches 2^(ilogb(guess) + 1)
     * or is NaN (pass A and B as two passes handle that tile), or if squares are wanted with
     * s2small and guess is below 2^-472. n <= DP_TILE, a multiple of DP_TILE_PAD. */
    int64_t (*scan_fold)(const double *restrict x, int64_t n, double guess, int squares,
                         dp_xsum_t *s1, dp_xsum_t *s2, dp_xsum_t *s2small, double *mn, double *mx,
                         const double *next, int64_t next_n);
    /* Histogram bins of x[0..n) into idx (the bin, or bins for values below the range,
     * bins + 1 above it, bins + 2 for NaN), counted into counts as they are found: the vector
     * units find one group of bins while the counting of an earlier one waits on loads and
     * stores. Only for histograms with fewer than 2^31 - 3 bins whose edges are i * step + lo
     * (step nonzero). Also sets *mn and *mx (NaN skipped) and returns the count of NaN values,
     * so that a histogram alone needs no pass A. With in_range set, it assumes every value is
     * in [lo, hi] (a faster loop) and, if one was not or was NaN, takes its counts back and
     * returns -1, idx being garbage. Prefetches next[0..next_n) meanwhile. */
    int64_t (*hist_count)(const double *restrict x, int64_t n, const dp_hist_t *h,
                          int32_t *restrict idx, dp_bin_counts_t counts, int in_range, double *mn,
                          double *mx, const double *next, int64_t next_n);
} dp_tile_ops_t;

#if defined(__x86_64__)
extern const dp_tile_ops_t dp_tile_avx512; /* needs AVX-512F and FMA */
extern const dp_tile_ops_t dp_tile_avx2;   /* needs AVX2 and FMA */
#endif
extern const dp_tile_ops_t dp_tile_base; /* the build's baseline (x86-64-v2 on x86) */

#endif
