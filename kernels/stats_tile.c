/* The SIMD passes over one tile of the statistics (see stats.c), compiled once per
 * instruction set: CMake builds this file with -mavx512f -mfma (DP_TILE_ISA avx512), -mavx2 -mfma
 * (avx2) and the baseline (base), each with vectors of the width that set has.
 *
 * Pass B splits every value into two pieces of 40 bits each, counted from the tile's max |x|
 * (the "extractor" trick of binned summation: (S + x) - S rounds x to a multiple of ulp(S)
 * exactly) and sums each piece exactly in a double per SIMD lane; squares the same way, as x*x
 * plus its exact rounding error. Values too small for two pieces to hold them (more than 2^13
 * times smaller than the tile's largest with squares, 2^27 without) are set aside, found by one
 * comparison per vector (with squares on AVX-512, a comparison of their squares and a test for
 * zero), and added afterwards: folded as a tile of their own when there are many, else one at
 * a time into the accumulator. */
#include "stats_tile.h"

#include <float.h>
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

/* Tiles are prefetched as non-temporal data (prefetchnta): they are read once, from L1, and
 * need not take room in the caches behind it. On the Zen 5 VM, from memory at 2 threads, a bare
 * loop of folds alternating both hints in one process read a median 0.83 of the probe with
 * squares against 0.79 with prefetcht0 (ahead in 7 runs of 7), the sum alone about the same;
 * alternating dp_bench runs moved the same way (shares of the probe 0.81 to 0.83 for sum, 0.75
 * to 0.80 for sum,min,max,mean,var, 0.51 to 0.55 for hist), within their noise. */
#define PREFETCH(p) __builtin_prefetch((p), 0, 0)

/* The helpers below are always inlined: no vector crosses a call boundary. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double vd __attribute__((vector_size(VBYTES)));
typedef long long vl __attribute__((vector_size(VBYTES)));
typedef unsigned long long vu __attribute__((vector_size(VBYTES)));

/* Unaligned loads and stores. GCC 12 moves a 64-byte vector copied by memcpy through the stack,
 * so AVX-512 takes the intrinsics. */
static inline __attribute__((always_inline)) vd load(const double *p)
{
#if defined(__AVX512F__)
    return (vd)_mm512_loadu_pd(p);
#else
    vd v;
    memcpy(&v, p, sizeof v);
    return v;
#endif
}

static inline __attribute__((always_inline)) void store(double *p, vd v)
{
#if defined(__AVX512F__)
    _mm512_storeu_pd(p, (__m512d)v);
#else
    memcpy(p, &v, sizeof v);
#endif
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

/* 2^k as ldexp(1.0, k) gives it (Inf above 2^1023, 0 below 2^-1074), from its bits. */
static double pow2(int k)
{
    if (k > 1023)
        return INFINITY;
    if (k < -1074)
        return 0.0;
    const uint64_t bits = k >= -1022 ? (uint64_t)(k + 1023) << 52 : (uint64_t)1 << (k + 1074);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static chain_t chain_for(int top)
{
    chain_t c;
    int e = top + 1 - DP_XSUM_W;             /* unit of the first fold: 40 bits below the top bit */
    if (e - DP_XSUM_W * (FOLDS - 1) < -1074) /* the last fold's unit stays >= 2^-1074 */
        e = -1074 + DP_XSUM_W * (FOLDS - 1);
    for (int k = 0; k < FOLDS; k++) {
        c.e[k] = e - DP_XSUM_W * k;
        c.ext[k] = 1.5 * pow2(c.e[k] + 52); /* exact: a normal power of two */
    }
    return c;
}

/* Hands a fold's lanes to the accumulator. Each lane's sum stays within 2^51 units of the
 * extractor, in its binade, where one unit is one step of the bit pattern: the lane's integer
 * number of units is the difference of the two patterns, and their total is exact in an int64. */
static inline __attribute__((always_inline)) void fold_flush(const chain_t *c, int k, vd acc,
                                                             dp_xsum_t *a)
{
    const vl units = (vl)acc - (vl)splat(c->ext[k]);
    int64_t total = 0;
    for (int l = 0; l < LANES; l++)
        total += units[l];
    if (total)
        dp_xsum_add_scaled(a, total, c->e[k]);
}

/* t - a, exactly (the folds' differences are exact); see sub_on_fma for the other way. */
static inline __attribute__((always_inline)) vd sub_on_add(vd t, vd a)
{
    return t - a;
}

/* t - a as a fused multiply-add, a * -1 + t: the same exact difference, on the multiply units,
 * which the folds otherwise leave idle while the adders bound the loop (AMD's Zen cores and
 * Intel's AVX-512 cores have two adders and two FMA units of their own). */
#if defined(__AVX512F__)
static inline __attribute__((always_inline)) vd sub_on_fma(vd t, vd a)
{
    const vd minus_one = splat(-1.0);
    __asm__("vfmadd132pd %[m1], %[t], %[a]" : [a] "+v"(a) : [t] "v"(t), [m1] "v"(minus_one));
    return a;
}
#elif defined(__AVX2__) && defined(__FMA__)
/* The -1 is a memory operand, so that it costs no register: the loop needs all sixteen. */
static const double minus_one[4] __attribute__((aligned(32))) = {-1.0, -1.0, -1.0, -1.0};

static inline __attribute__((always_inline)) vd sub_on_fma(vd t, vd a)
{
    __asm__("vfmadd132pd %[m1], %[t], %[a]" : [a] "+x"(a) : [t] "x"(t), [m1] "m"(minus_one));
    return a;
}
#else
#define sub_on_fma sub_on_add
#endif

/* Which unit takes each subtraction of a fold (FOLD2): SUBQ_ the first, SUBR_ the second, for
 * the chains of the sum (SUM) and of the squares (SQUARES). The adders must keep the additions
 * that carry the folds from one vector to the next (an FMA takes longer): AVX-512 gives every
 * subtraction to the FMA units, which balances the two kinds of unit; AVX2 (whose loop was
 * measured on Zen 3) the first subtraction of the squares' chains only. */
#if defined(__AVX512F__)
#define SUBQ_SUM sub_on_fma
#define SUBR_SUM sub_on_fma
#define SUBQ_SQUARES sub_on_fma
#define SUBR_SQUARES sub_on_fma
#else
#define SUBQ_SUM sub_on_add
#define SUBR_SUM sub_on_add
#define SUBQ_SQUARES sub_on_fma
#define SUBR_SQUARES sub_on_add
#endif

/* r split over the chain's two folds: the first keeps r rounded to its unit, exactly, and the
 * second takes the exact remainder. The second addition is exact only when r has no bit below
 * the second fold's unit: the caller sees to that by the value's magnitude (see SMALL_SUM).
 * chain (SUM or SQUARES) says which units take the subtractions. */
#define FOLD2(a0, a1, r, chain)                                                                    \
    do {                                                                                           \
        const vd t_ = a0 + r, q_ = SUBQ_##chain(t_, a0);                                           \
        a0 = t_;                                                                                   \
        a1 = a1 + SUBR_##chain(r, q_);                                                             \
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

/* Which values the two folds hold exactly, by magnitude. A value of exponent k has no bit below
 * 2^(k-52), its square none below 2^(2k-52) and the square's rounding error none below
 * 2^(2k-104). The second folds' units are 2^(top-79) for the values (top = ilogb of the tile's
 * max |x|), 2^(top_p-79) for the squares and 2^(top_p-132) for their errors (top_p <= 2 top + 1):
 * all three hold every bit when k >= top - 27 (sums alone) or k >= top - 13 (with squares).
 * Smaller non-zero values are "small": set aside and added apart. */
enum { SMALL_SUM = 27, SMALL_SQUARES = 13 };

/* Without FMA the lanes take the squares' rounding errors from Dekker's product, which equals
 * fma(x, x, -x*x) (what values added one at a time use) only while its partial products do not
 * underflow, for |x| above about 2^-459. Below this floor every value is small there, so that
 * where a tile's values go cannot change a bit of the sum of squares. */
#if defined(__FMA__) || defined(__AVX512F__)
#define DEKKER_FLOOR 0.0
#else
#define DEKKER_FLOOR 0x1p-440
#endif

/* The magnitude of each lane of v as a signed integer key, |x| < |y| if and only if key(x) <
 * key(y), except that zero has the largest key: the bits shifted left (the sign out), less 2,
 * with the top bit flipped, so that zero wraps around. The constant of the AVX2 variant is a
 * memory operand, which costs no register. */
static const uint64_t key_bias[LANES]
    __attribute__((aligned(VBYTES))) = {[0 ... LANES - 1] = 0x7ffffffffffffffeULL};

static inline __attribute__((always_inline)) vl magnitude_key(vd v)
{
    vu k = (vu)v << 1;
#if defined(__AVX2__) && !defined(__AVX512F__)
    __asm__("vpaddq %[b], %[k], %[k]" : [k] "+x"(k) : [b] "m"(key_bias));
#else
    vu b;
    memcpy(&b, key_bias, sizeof b);
    k += b;
#endif
    return (vl)k;
}

/* Where the small values of a tile go: at most DP_TILE of them, then zeros up to a multiple of
 * DP_TILE_PAD, so that they can be folded as a tile of their own. */
typedef struct {
    double v[DP_TILE + DP_TILE_PAD];
    int64_t n;
    double amax;
} smalls_t;

/* A set of lanes: with AVX-512 a mask register, as its comparisons give (kept in a vector, each
 * mask costs two conversions to test it); else a vector of all-ones or all-zero lanes. */
#if defined(__AVX512F__)
typedef __mmask8 lanes_mask_t;

/* The lanes where a < b, as signed integers. */
static inline __attribute__((always_inline)) lanes_mask_t lanes_below(vl a, vl b)
{
    return _mm512_cmplt_epi64_mask((__m512i)a, (__m512i)b);
}

static inline __attribute__((always_inline)) int lanes_any(lanes_mask_t m)
{
    return m != 0;
}

/* v with the lanes of m set to 0. */
static inline __attribute__((always_inline)) vd lanes_clear(vd v, lanes_mask_t m)
{
    return (vd)_mm512_maskz_mov_pd((__mmask8)~m, (__m512d)v);
}

static inline __attribute__((always_inline)) int lanes_has(lanes_mask_t m, int l)
{
    return (m >> l) & 1;
}
#else
typedef vl lanes_mask_t;

static inline __attribute__((always_inline)) lanes_mask_t lanes_below(vl a, vl b)
{
    return a < b;
}

static inline __attribute__((always_inline)) int lanes_any(lanes_mask_t m)
{
    return any_bits(m);
}

static inline __attribute__((always_inline)) vd lanes_clear(vd v, lanes_mask_t m)
{
    return (vd)((vl)v & ~m);
}

static inline __attribute__((always_inline)) int lanes_has(lanes_mask_t m, int l)
{
    return m[l] != 0;
}
#endif

/* The lanes of v with 0 < |v| < small: by their magnitude keys (below key_lim, see
 * magnitude_key), or, with by_square, by their squares p (p < small2 = small^2, v not zero), which
 * takes two instructions per vector instead of three, and the loop of squares is at the vector
 * units' limit. By squares only with AVX-512, whose comparisons give masks that the test of v
 * takes as they come, and only while small^2 is normal (small is a power of two, so small^2 is
 * exact): then every square of a value below small is below it (rounding is monotonic; squares
 * that underflow are subnormal or 0, below DBL_MIN), and none of a value at or above it is. */
#if defined(__AVX512F__)
enum { TINY_BY_SQUARE = 1 };
#else
enum { TINY_BY_SQUARE = 0 };
#endif

static inline __attribute__((always_inline)) lanes_mask_t tiny_lanes(vd v, vd p, vl key_lim,
                                                                     vd small2, int by_square)
{
#if defined(__AVX512F__)
    if (by_square) {
        const __mmask8 below = _mm512_cmp_pd_mask((__m512d)p, (__m512d)small2, _CMP_LT_OQ);
        return _mm512_mask_test_epi64_mask(below, (__m512i)v,
                                           _mm512_set1_epi64(0x7fffffffffffffffLL));
    }
#else
    (void)p;
    (void)small2;
    (void)by_square;
#endif
    return lanes_below(magnitude_key(v), key_lim);
}

/* The lanes m of v appended to sm; rare, and inline so that no call is made in the loops (a
 * call clobbers every vector register, and the lanes would live in memory). */
static inline __attribute__((always_inline)) void set_aside(vd v, lanes_mask_t m, smalls_t *sm)
{
    double lane[LANES];
    store(lane, v);
    for (int l = 0; l < LANES; l++)
        if (lanes_has(m, l)) {
            sm->v[sm->n++] = lane[l];
            sm->amax = fabs(lane[l]) > sm->amax ? fabs(lane[l]) : sm->amax;
        }
}

/* The lanes of a fold: the chains of the sum (s), the squares (p) and their rounding errors (e),
 * each over two folds; without squares, a second chain of the sum (t) takes every other vector,
 * since the sum alone waits on its chain's additions (two in turn per step: 10% of its time on
 * an L1 tile on Zen 5). Each lane takes at most DP_TILE / LANES values of at most 2^40 units: its
 * total stays below 2^51 units, within what the extractor holds. */
typedef struct {
    vd s[FOLDS], t[FOLDS], p[FOLDS], e[FOLDS];
} lanes_t;

static void lanes_start(lanes_t *a, const chain_t *cs, const chain_t *cp, const chain_t *ce)
{
    for (int k = 0; k < FOLDS; k++) {
        a->s[k] = a->t[k] = splat(cs->ext[k]);
        a->p[k] = splat(cp->ext[k]);
        a->e[k] = splat(ce->ext[k]);
    }
}

/* What pass A finds when it is done by the fold itself (dp_tile_ops_t.scan_fold). */
typedef struct {
    vd mn, mx; /* min and max, NaN skipped */
    int nan;   /* a lane of the folds is NaN: there was a NaN (or Inf) among the values */
} scan_t;

/* Folds x[0..n) into the lanes; values with |x| < small (other than 0) go to sm instead, found
 * by their squares with by_square (see tiny_lanes). The lanes are local variables for the loop,
 * so that they stay in registers. With sc, the loop also keeps min and max (pass A); it does not
 * test for NaN or values too large for the folds: the caller finds them afterwards (a NaN leaves a
 * NaN lane, a large value a large max) and discards the lanes. */
static inline __attribute__((always_inline)) void
fold_loop(const double *restrict x, int64_t n, int squares, int by_square, double small, lanes_t *a,
          smalls_t *sm, scan_t *sc, const double *next, int64_t next_n)
{
    vd s0 = a->s[0], s1 = a->s[1], t0 = a->t[0], t1 = a->t[1];
    vd p0 = a->p[0], p1 = a->p[1], e0 = a->e[0], e1 = a->e[1];
    /* 0 < |x| < small: as one signed comparison of magnitude keys (none when small is 0), or
     * by the squares (tiny_lanes) */
    const vl lim = small > 0.0 ? magnitude_key(splat(small)) : (vl){0} + INT64_MIN;
    const vd small2 = splat(small * small);
    vd mn = splat(INFINITY), mx = splat(-INFINITY);
    /* two vectors per step (n is a multiple of DP_TILE_PAD): half the loop's own instructions
     * and one branch for both */
    for (int64_t i = 0; i < n; i += 2 * LANES) {
        for (int64_t j = 0; j < 2 * LANES; j += 8)
            if ((2 * LANES >= 8 || i % 8 == 0) && i + j < next_n)
                PREFETCH(next + i + j);
        vd v0 = load(x + i), v1 = load(x + i + LANES);
        /* the squares come first only where they find the small values (else they are
         * computed after the test: across it, they would take two of the AVX2 loop's sixteen
         * registers, which cost that loop 13%) */
        vd pa = by_square ? v0 * v0 : v0, pb = by_square ? v1 * v1 : v1;
        const lanes_mask_t tiny0 = tiny_lanes(v0, pa, lim, small2, by_square),
                           tiny1 = tiny_lanes(v1, pb, lim, small2, by_square);
        if (sc) {
            mn = vmin(v1, vmin(v0, mn));
            mx = vmax(v1, vmax(v0, mx));
        }
        if (__builtin_expect(lanes_any(tiny0 | tiny1), 0)) {
            set_aside(v0, tiny0, sm);
            set_aside(v1, tiny1, sm);
            v0 = lanes_clear(v0, tiny0);
            v1 = lanes_clear(v1, tiny1);
            pa = lanes_clear(pa, tiny0);
            pb = lanes_clear(pb, tiny1);
        }
        if (!by_square) {
            pa = v0 * v0;
            pb = v1 * v1;
        }
        FOLD2(s0, s1, v0, SUM);
        if (squares)
            FOLD2(s0, s1, v1, SUM);
        else
            FOLD2(t0, t1, v1, SUM);
        if (squares) {
            /* p + e = v^2 exactly */
            const vd ea = square_error(v0, pa), eb = square_error(v1, pb);
            FOLD2(p0, p1, pa, SQUARES);
            FOLD2(e0, e1, ea, SQUARES);
            FOLD2(p0, p1, pb, SQUARES);
            FOLD2(e0, e1, eb, SQUARES);
        }
    }
    a->s[0] = s0;
    a->s[1] = s1;
    a->t[0] = t0;
    a->t[1] = t1;
    a->p[0] = p0;
    a->p[1] = p1;
    a->e[0] = e0;
    a->e[1] = e1;
    if (sc) {
        sc->mn = mn;
        sc->mx = mx;
        sc->nan = any_bits((s0 != s0) | (s1 != s1) | (t0 != t0) | (t1 != t1) | (p0 != p0) |
                           (p1 != p1) | (e0 != e0) | (e1 != e1));
    }
}

/* Folds x[0..n) (n a multiple of DP_TILE_PAD, every |x| < 2^(top + 1), every square below
 * 2^(top_p + 1)) exactly into s1 (and its squares into s2); its small values go to sm. With sc,
 * does pass A too (see fold_loop) and returns 0, adding nothing, if there was a NaN or a value
 * with |x| >= 2^(top + 1). */
static int fold_pass(const double *restrict x, int64_t n, int top, int top_p, int squares,
                     dp_xsum_t *s1, dp_xsum_t *s2, smalls_t *sm, scan_t *sc, const double *next,
                     int64_t next_n)
{
    const chain_t cs = chain_for(top), cp = chain_for(top_p), ce = chain_for(top_p - 53);
    const double small =
        squares ? fmax(pow2(top - SMALL_SQUARES), DEKKER_FLOOR) : pow2(top - SMALL_SUM);
    lanes_t acc;
    lanes_start(&acc, &cs, &cp, &ce);
    sm->n = 0;
    sm->amax = 0.0;
    if (squares && TINY_BY_SQUARE && small * small >= DBL_MIN)
        fold_loop(x, n, 1, 1, small, &acc, sm, sc, next, next_n);
    else if (squares)
        fold_loop(x, n, 1, 0, small, &acc, sm, sc, next, next_n);
    else
        fold_loop(x, n, 0, 0, small, &acc, sm, sc, next, next_n);
    if (sc) {
        const double big = pow2(top + 1);
        double mn = INFINITY, mx = -INFINITY;
        for (int l = 0; l < LANES; l++) {
            mn = sc->mn[l] < mn ? sc->mn[l] : mn;
            mx = sc->mx[l] > mx ? sc->mx[l] : mx;
        }
        if (sc->nan || mx >= big || mn <= -big)
            return 0;
        sc->mn[0] = mn;
        sc->mx[0] = mx;
    }
    for (int k = 0; k < FOLDS; k++) {
        /* both chains of the sum at once: t's units added to s's pattern, still exact */
        fold_flush(&cs, k, (vd)((vl)acc.s[k] + ((vl)acc.t[k] - (vl)splat(cs.ext[k]))), s1);
        if (squares) {
            fold_flush(&cp, k, acc.p[k], s2);
            fold_flush(&ce, k, acc.e[k], s2);
        }
    }
    return 1;
}

/* The chains' tops for values of largest |x| amax, as fold_pass takes them. */
static void tops_of(double amax, int squares, int *top, int *top_p)
{
    const double pmax = amax * amax;
    *top = ilogb(amax);
    *top_p = squares && pmax > 0.0 ? ilogb(pmax) : -1074;
}

/* Small values left after a pass: fewer than this are added one at a time; more are folded as
 * a tile of their own (their largest sets the new chains). */
enum { SMALL_ONE_BY_ONE = 64 };

/* Below DP_SQUARES_EXACT the square of a value loses bits below 2^-1074 (see stats_tile.h); a
 * pass with squares folds values down to 2^-SMALL_SQUARES of its largest, so with s2small it
 * folds only tiles whose largest reaches SQUARES_FOLD_FLOOR, and the values below go one at a
 * time. */
#define SQUARES_FOLD_FLOOR 0x1p-472

/* Adds the square of v exactly: to s2, or, below DP_SQUARES_EXACT with s2small, scaled to
 * s2small. */
static void add_square(double v, dp_xsum_t *s2, dp_xsum_t *s2small)
{
    if (s2small && fabs(v) < DP_SQUARES_EXACT) {
        v = ldexp(v, DP_STATS_SMALL_SHIFT);
        s2 = s2small;
    }
    const double p = v * v;
    dp_xsum_add(s2, p);
    dp_xsum_add(s2, fma(v, v, -p));
}

/* What fold_pass set aside, added exactly: folded again as a tile of its own while there are
 * many, then one at a time. */
static void add_smalls(smalls_t sm[2], int cur, int squares, dp_xsum_t *s1, dp_xsum_t *s2,
                       dp_xsum_t *s2small)
{
    /* each pass leaves fewer: its largest stays (unless below DEKKER_FLOOR) */
    while (sm[cur].n >= SMALL_ONE_BY_ONE && !(squares && sm[cur].amax < DEKKER_FLOOR) &&
           !(squares && s2small && sm[cur].amax < SQUARES_FOLD_FLOOR)) {
        smalls_t *in = &sm[cur];
        int64_t m = in->n;
        for (; m % DP_TILE_PAD; m++)
            in->v[m] = 0.0;
        cur = !cur;
        int top, top_p;
        tops_of(in->amax, squares, &top, &top_p);
        fold_pass(in->v, m, top, top_p, squares, s1, s2, &sm[cur], NULL, NULL, 0);
    }
    for (int64_t i = 0; i < sm[cur].n; i++) {
        const double v = sm[cur].v[i];
        dp_xsum_add(s1, v);
        if (squares)
            add_square(v, s2, s2small);
    }
}

static void CAT(dp_fold_tile, DP_TILE_ISA)(const double *restrict x, int64_t n, double amax,
                                           int squares, dp_xsum_t *s1, dp_xsum_t *s2,
                                           dp_xsum_t *s2small, const double *next, int64_t next_n)
{
    smalls_t sm[2];
    if (squares && s2small && amax < SQUARES_FOLD_FLOOR) { /* every value one at a time */
        memcpy(sm[0].v, x, (size_t)n * sizeof *x);
        sm[0].n = n;
        sm[0].amax = amax;
        add_smalls(sm, 0, squares, s1, s2, s2small);
        return;
    }
    int top, top_p;
    tops_of(amax, squares, &top, &top_p);
    fold_pass(x, n, top, top_p, squares, s1, s2, &sm[0], NULL, next, next_n);
    add_smalls(sm, 0, squares, s1, s2, s2small);
}

static int64_t CAT(dp_scan_fold_tile, DP_TILE_ISA)(const double *restrict x, int64_t n,
                                                   double guess, int squares, dp_xsum_t *s1,
                                                   dp_xsum_t *s2, dp_xsum_t *s2small, double *mn,
                                                   double *mx, const double *next, int64_t next_n)
{
    if (squares && s2small && guess < SQUARES_FOLD_FLOOR)
        return -1;
    smalls_t sm[2];
    const int top = ilogb(guess);
    scan_t sc;
    if (!fold_pass(x, n, top, squares ? 2 * top + 1 : -1074, squares, s1, s2, &sm[0], &sc, next,
                   next_n))
        return -1;
    add_smalls(sm, 0, squares, s1, s2, s2small);
    *mn = sc.mn[0];
    *mx = sc.mx[0];
    return 0;
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
        store(clean + i, c);
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

/* m ? a : b, lane by lane (m all ones or all zeros per lane). */
static inline __attribute__((always_inline)) vd pick(vl m, vd a, vd b)
{
#if defined(__AVX2__) && !defined(__AVX512F__)
    return (vd)_mm256_blendv_pd((__m256d)b, (__m256d)a, (__m256d)m);
#elif defined(__SSE4_1__) && !defined(__AVX2__)
    return (vd)_mm_blendv_pd((__m128d)b, (__m128d)a, (__m128d)m);
#else
    return (vd)(((vl)a & m) | ((vl)b & ~m));
#endif
}

static inline __attribute__((always_inline)) vd vfloor(vd v)
{
#if defined(__AVX512F__)
    return (vd)_mm512_roundscale_pd((__m512d)v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
#elif defined(__AVX2__)
    return (vd)_mm256_floor_pd((__m256d)v);
#elif defined(__SSE4_1__)
    return (vd)_mm_floor_pd((__m128d)v);
#else
    for (int l = 0; l < LANES; l++)
        v[l] = floor(v[l]);
    return v;
#endif
}

/* The bin of each lane of v as numpy.histogram finds it (see histogram.c), in double lanes
 * (bins < 2^31 are exact there): scaled, then corrected by one against the edges, recomputed as
 * dp_hist_make computes them (i * step + lo) instead of being looked up. Garbage for lanes out
 * of [lo, hi] or NaN. */
static inline __attribute__((always_inline)) vd bin_of(vd v, vd lo, vd norm, vd step, vd last)
{
    const vd one = splat(1.0);
    const vd b = vmin(vfloor((v - lo) * norm), last);
    const vl dec = v < b * step + lo, inc = v >= (b + one) * step + lo; /* not both */
    return vmin(b - (vd)(dec & (vl)one) + (vd)(inc & (vl)one), last);
}

/* floor(f) is numpy's bin unless f is within this eps of an integer, eps bounding the rounding
 * errors of f (4 roundings, in bins) and of the edges (3 roundings of the width, one of
 * lo + k step, in bins), with a margin of 2; only those vectors need the correction. */
static double edge_eps(const dp_hist_t *h)
{
    return 16.0 * 0x1p-53 * ((double)h->bins + fmax(fabs(h->lo), fabs(h->hi)) * fabs(h->norm));
}

/* Whether a lane of a is not <= b (or NaN). AVX-512 tests the comparison's mask as it comes. */
static inline __attribute__((always_inline)) int any_above(vd a, vd b)
{
#if defined(__AVX512F__)
    return _mm512_cmp_pd_mask((__m512d)a, (__m512d)b, _CMP_NLE_UQ) != 0;
#else
    return any_bits(~(a <= b));
#endif
}

/* min(r, top) lane by lane, both taken as unsigned: negative bins become top too. */
static inline __attribute__((always_inline)) vi clamp_bins(vi r, vi top)
{
#if defined(__AVX512F__)
    return (vi)_mm256_min_epu32((__m256i)r, (__m256i)top);
#elif defined(__AVX2__)
    return (vi)_mm_min_epu32((__m128i)r, (__m128i)top);
#else
    for (int l = 0; l < LANES; l++)
        r[l] = (unsigned)r[l] < (unsigned)top[l] ? r[l] : top[l];
    return r;
#endif
}

/* How many values behind the binning the counting runs: enough for the bins of one group to be
 * found while an earlier group's increments wait on their loads and stores (on one L1 tile, 48
 * to 96 were as fast, and 17-24% faster than binning the whole tile first; 32 was slower). */
enum { COUNT_LAG = 64 };

/* Counts the bins of values j..j+7 of a tile (j a multiple of 8) into their copies. */
static inline __attribute__((always_inline)) void count8(dp_bin_counts_t b,
                                                         const int32_t *restrict idx, int64_t j)
{
    for (int k = 0; k < 8; k++)
        b.c[k % DP_BIN_COPIES * b.stride + idx[j + k]]++;
}

/* Bins of x[0..n) into idx, LANES at a time, counted COUNT_LAG values behind, with min, max
 * and the NaN count (pass A). With in_range, the loop skips what values out of the range or NaN
 * need (their bins are only clamped to the counts' words), and takes its counts back and returns
 * -1 if there was one. With quick (edge_eps(h) < 0.125), only the vectors with a value near an
 * edge are corrected. */
static inline __attribute__((always_inline)) int64_t
hist_loop(const double *restrict x, int64_t n, const dp_hist_t *h, int32_t *restrict idx,
          dp_bin_counts_t counts, int in_range, int quick, double *mn_out, double *mx_out,
          const double *next, int64_t next_n)
{
    const vd lo = splat(h->lo), hi = splat(h->hi), norm = splat(h->norm);
    const vd step = splat((h->hi - h->lo) / (double)h->bins), one = splat(1.0);
    const vd last = splat((double)(h->bins - 1)), below = last + one, above = below + one,
             nan = above + one;
    const vi top = (vi){0} + (int)h->bins + 2; /* the NaN word */
    vd mn = splat(INFINITY), mx = splat(-INFINITY);
    vl nans = {0};
    const vd half = splat(0.5), near = splat(0.5 - edge_eps(h));
    const vl abs_mask = (vl){0} + 0x7fffffffffffffffLL;
    int64_t i = 0, counted = 0;
    for (; i + LANES <= n; i += LANES) {
        const vd v = load(x + i);
        mn = vmin(v, mn);
        mx = vmax(v, mx);
        vd r;
        if (quick) {
            const vd f = (v - lo) * norm, b = vfloor(f), c = f - b - half;
            /* no clamp to the last bin: a value in the range with f >= bins has f within eps of
             * bins, so it takes the correction below; values out of it are picked apart */
            r = b;
            /* near an edge, or NaN (c is NaN then, and the comparison false): rare */
            if (__builtin_expect(any_above((vd)((vl)c & abs_mask), near), 0)) {
                r = bin_of(v, lo, norm, step, last);
                nans -= v != v;
            }
        } else {
            r = bin_of(v, lo, norm, step, last);
            nans -= v != v;
        }
        vi ri;
        if (in_range) { /* a value out of the range has a garbage bin: one of the words still */
            ri = clamp_bins(__builtin_convertvector(r, vi), top);
        } else {
            const vl lt = v<lo, gt = v> hi, in = (v >= lo) & (v <= hi);
            ri = __builtin_convertvector(pick(in, r, pick(gt, above, pick(lt, below, nan))), vi);
        }
        memcpy(idx + i, &ri, sizeof ri);
        if (i + LANES - counted >= COUNT_LAG + 8) {
            if (counted < next_n)
                PREFETCH(next + counted);
            count8(counts, idx, counted);
            counted += 8;
        }
    }
    int64_t nan_count = 0;
    double smn = INFINITY, smx = -INFINITY;
    for (int l = 0; l < LANES; l++) {
        nan_count += nans[l];
        smn = mn[l] < smn ? mn[l] : smn;
        smx = mx[l] > smx ? mx[l] : smx;
    }
    for (; i < n; i++) {
        const double v = x[i];
        smn = v < smn ? v : smn;
        smx = v > smx ? v : smx;
        if (v < h->lo) {
            idx[i] = (int32_t)h->bins;
        } else if (v > h->hi) {
            idx[i] = (int32_t)h->bins + 1;
        } else if (v != v) {
            idx[i] = (int32_t)h->bins + 2;
            nan_count++;
        } else {
            const double sp = (h->hi - h->lo) / (double)h->bins;
            int64_t b = (int64_t)((v - h->lo) * h->norm);
            b = b > h->bins - 1 ? h->bins - 1 : b;
            const int dec = v < (double)b * sp + h->lo;
            const int inc = !dec && b != h->bins - 1 && v >= (double)(b + 1) * sp + h->lo;
            idx[i] = (int32_t)(b - dec + inc);
        }
    }
    for (; counted < n; counted++) {
        if (counted % 8 == 0 && counted < next_n)
            PREFETCH(next + counted);
        counts.c[counted % DP_BIN_COPIES * counts.stride + idx[counted]]++;
    }
    *mn_out = smn;
    *mx_out = smx;
    if (in_range && (nan_count || smn < h->lo || smx > h->hi)) {
        for (int64_t j = 0; j < n; j++)
            counts.c[j % DP_BIN_COPIES * counts.stride + idx[j]]--;
        return -1;
    }
    return nan_count;
}

static int64_t CAT(dp_hist_count, DP_TILE_ISA)(const double *restrict x, int64_t n,
                                               const dp_hist_t *h, int32_t *restrict idx,
                                               dp_bin_counts_t counts, int in_range, double *mn,
                                               double *mx, const double *next, int64_t next_n)
{
    /* one loop per case, so that none tests them per vector */
    if (edge_eps(h) < 0.125)
        return in_range ? hist_loop(x, n, h, idx, counts, 1, 1, mn, mx, next, next_n)
                        : hist_loop(x, n, h, idx, counts, 0, 1, mn, mx, next, next_n);
    return in_range ? hist_loop(x, n, h, idx, counts, 1, 0, mn, mx, next, next_n)
                    : hist_loop(x, n, h, idx, counts, 0, 0, mn, mx, next, next_n);
}

const dp_tile_ops_t CAT(dp_tile, DP_TILE_ISA) = {
    .scan = CAT(dp_scan_tile, DP_TILE_ISA),
    .fold = CAT(dp_fold_tile, DP_TILE_ISA),
    .scan_fold = CAT(dp_scan_fold_tile, DP_TILE_ISA),
    .hist_count = CAT(dp_hist_count, DP_TILE_ISA),
};
