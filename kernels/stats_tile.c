/* The SIMD passes over one tile of the statistics (see stats.c), compiled once per
 * instruction set: CMake builds this file with -mavx512f -mfma (DP_TILE_ISA avx512), -mavx2 -mfma
 * (avx2) and the baseline (base), each with vectors of the width that set has.
 *
 * Pass B splits every value into two pieces of 40 bits each, counted from the tile's max |x|
 * (the "extractor" trick of binned summation: (S + x) - S rounds x to a multiple of ulp(S)
 * exactly) and sums each piece exactly in a double per SIMD lane; squares the same way, as x*x
 * plus its exact rounding error. Whatever is left below the second piece (from values more than
 * 2^27 times smaller than the tile's largest) is added to the accumulator exactly, one value at
 * a time. */
#include "stats_tile.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)

enum { FOLDS = 2 };

#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX2__)
#define VBYTES 32
#else
#define VBYTES 16
#endif
enum { LANES = VBYTES / 8 };

/* The helpers below are always inlined: no vector crosses a call boundary. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double vd __attribute__((vector_size(VBYTES)));
typedef long long vl __attribute__((vector_size(VBYTES)));

static inline __attribute__((always_inline)) vd load(const double *p)
{
    vd v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) vd splat(double x)
{
    return (vd){0} + x;
}

/* min and max as the processor's instructions do them: when a is NaN, b is returned, which
 * is how NaN values are skipped. */
static inline __attribute__((always_inline)) vd vmin(vd a, vd b)
{
#if defined(__AVX512F__)
    return (vd)_mm512_min_pd((__m512d)a, (__m512d)b);
#elif defined(__AVX2__)
    return (vd)_mm256_min_pd((__m256d)a, (__m256d)b);
#elif defined(__SSE2__)
    return (vd)_mm_min_pd((__m128d)a, (__m128d)b);
#else
    const vl lt = a < b;
    return (vd)(((vl)a & lt) | ((vl)b & ~lt));
#endif
}

static inline __attribute__((always_inline)) vd vmax(vd a, vd b)
{
#if defined(__AVX512F__)
    return (vd)_mm512_max_pd((__m512d)a, (__m512d)b);
#elif defined(__AVX2__)
    return (vd)_mm256_max_pd((__m256d)a, (__m256d)b);
#elif defined(__SSE2__)
    return (vd)_mm_max_pd((__m128d)a, (__m128d)b);
#else
    const vl gt = a > b;
    return (vd)(((vl)a & gt) | ((vl)b & ~gt));
#endif
}

/* The exact rounding error of v * v, given p = v * v. */
static inline __attribute__((always_inline)) vd square_error(vd v, vd p)
{
#if defined(__AVX512F__)
    return (vd)_mm512_fmsub_pd((__m512d)v, (__m512d)v, (__m512d)p);
#elif defined(__FMA__)
    return (vd)_mm256_fmsub_pd((__m256d)v, (__m256d)v, (__m256d)p);
#else
    /* Dekker's product: v split into two 26-bit halves */
    const vd c = splat(134217729.0) * v, hi = c - (c - v), lo = v - hi;
    return ((hi * hi - p) + (hi + hi) * lo) + lo * lo;
#endif
}

/* A chain of two folds whose units are 2^e[0] and 2^e[1] = 2^(e[0] - 40): the first holds the
 * 40 bits below the values' top bit, whatever its alignment, so together they hold every value
 * within 2^27 of the largest exactly. */
typedef struct {
    int e[FOLDS];
    double ext[FOLDS];
} chain_t;

static chain_t chain_for(int top)
{
    chain_t c;
    int e = top + 1 - DP_XSUM_W;             /* unit of the first fold: 40 bits below the top bit */
    if (e - DP_XSUM_W * (FOLDS - 1) < -1074) /* the last fold's unit stays >= 2^-1074 */
        e = -1074 + DP_XSUM_W * (FOLDS - 1);
    for (int k = 0; k < FOLDS; k++) {
        c.e[k] = e - DP_XSUM_W * k;
        c.ext[k] = ldexp(1.5, c.e[k] + 52);
    }
    return c;
}

/* Hands a fold's lanes to the accumulator: each lane's sum, less the extractor, is an integer
 * number of the fold's units below 2^51, so their total is exact in an int64. */
static void fold_flush(const chain_t *c, int k, const double *acc, dp_xsum_t *a)
{
    int64_t units = 0;
    for (int l = 0; l < LANES; l++)
        units += (int64_t)ldexp(acc[l] - c->ext[k], -c->e[k]);
    if (units)
        dp_xsum_add_scaled(a, units, c->e[k]);
}

/* r split over the chain's two folds: each keeps r rounded to its digit's unit, exactly, and
 * passes on the exact remainder. */
#define FOLD2(a0, a1, r)                                                                           \
    do {                                                                                           \
        vd t_ = a0 + r, q_ = t_ - a0;                                                              \
        a0 = t_;                                                                                   \
        r = r - q_;                                                                                \
        t_ = a1 + r;                                                                               \
        q_ = t_ - a1;                                                                              \
        a1 = t_;                                                                                   \
        r = r - q_;                                                                                \
    } while (0)

/* Whether any bit of t is set. */
static inline __attribute__((always_inline)) int any_bits(vl t)
{
#if defined(__AVX512F__)
    return _mm512_test_epi64_mask((__m512i)t, (__m512i)t) != 0;
#elif defined(__AVX2__)
    return !_mm256_testz_si256((__m256i)t, (__m256i)t);
#elif defined(__SSE4_1__)
    return !_mm_testz_si128((__m128i)t, (__m128i)t);
#else
    long long any = 0;
    for (int l = 0; l < LANES; l++)
        any |= t[l];
    return any != 0;
#endif
}

/* The lanes of one SIMD step's chains: sum (s), square (p), square's rounding error (e). Two
 * steps are kept apart (acc[0], acc[1]) so that their additions do not wait for each other. */
typedef struct {
    vd s[FOLDS], p[FOLDS], e[FOLDS];
} lanes_t;

/* What the two folds could not hold (a value far smaller than the tile's largest): added to
 * the accumulator one value at a time, so the sums stay exact. Rare. */
static void add_rest(vd r, vd p, vd e, dp_xsum_t *s1, dp_xsum_t *s2)
{
    for (int l = 0; l < LANES; l++) {
        dp_xsum_add(s1, r[l]);
        if (s2) {
            dp_xsum_add(s2, p[l]);
            dp_xsum_add(s2, e[l]);
        }
    }
}

static inline __attribute__((always_inline)) void step_sum(lanes_t *a, vd r, dp_xsum_t *s1)
{
    FOLD2(a->s[0], a->s[1], r);
    if (any_bits((vl)r))
        add_rest(r, r, r, s1, NULL);
}

static inline __attribute__((always_inline)) void step_squares(lanes_t *a, vd v, dp_xsum_t *s1,
                                                               dp_xsum_t *s2)
{
    vd r = v, p = v * v, e = square_error(v, p); /* p + e = v^2 exactly */
    FOLD2(a->s[0], a->s[1], r);
    FOLD2(a->p[0], a->p[1], p);
    FOLD2(a->e[0], a->e[1], e);
    if (any_bits((vl)r | (vl)p | (vl)e))
        add_rest(r, p, e, s1, s2);
}

static void lanes_start(lanes_t *a, const chain_t *cs, const chain_t *cp, const chain_t *ce)
{
    for (int k = 0; k < FOLDS; k++) {
        a->s[k] = splat(cs->ext[k]);
        a->p[k] = splat(cp->ext[k]);
        a->e[k] = splat(ce->ext[k]);
    }
}

static void CAT(dp_fold_tile, DP_TILE_ISA)(const double *restrict x, int64_t n, double amax,
                                           int squares, dp_xsum_t *s1, dp_xsum_t *s2,
                                           const double *next, int64_t next_n)
{
    const double pmax = amax * amax;
    const int top_p = squares && pmax > 0.0 ? ilogb(pmax) : -1074;
    const chain_t cs = chain_for(ilogb(amax)), cp = chain_for(top_p), ce = chain_for(top_p - 53);
    lanes_t acc[2];
    lanes_start(&acc[0], &cs, &cp, &ce);
    lanes_start(&acc[1], &cs, &cp, &ce);
    for (int64_t i = 0; i < n; i += 2 * LANES) {
        if (i < next_n) { /* the 64-byte lines of the next tile, as far as this step goes */
            __builtin_prefetch(next + i, 0, 3);
            if (2 * LANES > 8)
                __builtin_prefetch(next + i + 8, 0, 3);
        }
        if (squares) {
            step_squares(&acc[0], load(x + i), s1, s2);
            step_squares(&acc[1], load(x + i + LANES), s1, s2);
        } else {
            step_sum(&acc[0], load(x + i), s1);
            step_sum(&acc[1], load(x + i + LANES), s1);
        }
    }
    for (int u = 0; u < 2; u++)
        for (int k = 0; k < FOLDS; k++) {
            fold_flush(&cs, k, (const double *)&acc[u].s[k], s1);
            if (squares) {
                fold_flush(&cp, k, (const double *)&acc[u].p[k], s2);
                fold_flush(&ce, k, (const double *)&acc[u].e[k], s2);
            }
        }
}

static int64_t CAT(dp_scan_tile, DP_TILE_ISA)(const double *restrict x, int64_t n,
                                              double *restrict clean, double *mn_out,
                                              double *mx_out, double *amax_out)
{
    vd mn = splat(INFINITY), mx = splat(-INFINITY), am = splat(0.0);
    vl cnt = {0};
    const vl abs_mask = (vl){0} + 0x7fffffffffffffffLL;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        const vd v = load(x + i);
        const vl ok = v == v;
        const vd c = (vd)((vl)v & ok);
        memcpy(clean + i, &c, sizeof c);
        cnt -= ok;
        mn = vmin(v, mn);
        mx = vmax(v, mx);
        am = vmax((vd)((vl)c & abs_mask), am);
    }
    int64_t count = 0;
    double smn = INFINITY, smx = -INFINITY, sam = 0.0;
    for (int l = 0; l < LANES; l++) {
        count += cnt[l];
        smn = mn[l] < smn ? mn[l] : smn;
        smx = mx[l] > smx ? mx[l] : smx;
        sam = am[l] > sam ? am[l] : sam;
    }
    for (; i < n; i++) {
        const double v = x[i];
        const int ok = v == v;
        clean[i] = ok ? v : 0.0;
        count += ok;
        smn = v < smn ? v : smn;
        smx = v > smx ? v : smx;
        sam = fabs(clean[i]) > sam ? fabs(clean[i]) : sam;
    }
    for (; i % DP_TILE_PAD; i++)
        clean[i] = 0.0;
    *mn_out = smn;
    *mx_out = smx;
    *amax_out = sam;
    return count;
}

typedef int vi __attribute__((vector_size(VBYTES / 2)));

/* Bins of x[0..n) as numpy.histogram finds them (see histogram.c), LANES at a time; the edges
 * are recomputed as dp_hist_make computes them (i * step + lo) instead of being looked up. */
static void CAT(dp_hist_index, DP_TILE_ISA)(const double *restrict x, int64_t n, const dp_hist_t *h,
                                            int32_t *restrict idx)
{
    const vd lo = splat(h->lo), hi = splat(h->hi), norm = splat(h->norm);
    const vd step = splat((h->hi - h->lo) / (double)h->bins), one = splat(1.0);
    const vi last = (vi){0} + (int)(h->bins - 1), below = last + 1, above = last + 2,
             nan = last + 3;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        const vd v = load(x + i);
        const vi in = __builtin_convertvector((v >= lo) & (v <= hi), vi);
        const vd f = (vd)((vl)((v - lo) * norm) & ((v >= lo) & (v <= hi)));
        vi b = __builtin_convertvector(f, vi);
        const vi over = b > last;
        b = (over & last) | (~over & b);
        const vd bd = __builtin_convertvector(b, vd);
        const vi dec = __builtin_convertvector(v < bd * step + lo, vi);
        const vi inc =
            __builtin_convertvector(v >= (bd + one) * step + lo, vi) & ~dec & (b != last);
        b = b + dec - inc; /* true lanes are -1 */
        const vi lt = __builtin_convertvector(v < lo, vi), gt = __builtin_convertvector(v > hi, vi);
        const vi out = (lt & below) | (gt & above) | (~lt & ~gt & nan);
        const vi r = (in & b) | (~in & out);
        memcpy(idx + i, &r, sizeof r);
    }
    for (; i < n; i++) {
        const double v = x[i];
        if (v < h->lo) {
            idx[i] = (int32_t)h->bins;
        } else if (v > h->hi) {
            idx[i] = (int32_t)h->bins + 1;
        } else if (v != v) {
            idx[i] = (int32_t)h->bins + 2;
        } else {
            const double sp = (h->hi - h->lo) / (double)h->bins;
            int64_t b = (int64_t)((v - h->lo) * h->norm);
            b = b > h->bins - 1 ? h->bins - 1 : b;
            const int dec = v < (double)b * sp + h->lo;
            const int inc = !dec && b != h->bins - 1 && v >= (double)(b + 1) * sp + h->lo;
            idx[i] = (int32_t)(b - dec + inc);
        }
    }
}

const dp_tile_ops_t CAT(dp_tile, DP_TILE_ISA) = {
    .scan = CAT(dp_scan_tile, DP_TILE_ISA),
    .fold = CAT(dp_fold_tile, DP_TILE_ISA),
    .hist_index = CAT(dp_hist_index, DP_TILE_ISA),
};
