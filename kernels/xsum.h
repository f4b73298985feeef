/* An exact accumulator for sums of doubles: every finite double is an integer multiple of
 * 2^-1074, so a sum of doubles is an integer in those units, kept here in 40-bit digits held in
 * int64 words (carry-save). Adding is exact, hence independent of order: the same data give the
 * same bits for any number of ranks, threads or pieces. Rounding to double happens once, at the
 * end, to nearest (ties to even). Infinities and NaN are counted beside the digits. */
#ifndef DP_XSUM_H
#define DP_XSUM_H

#include <stddef.h>
#include <stdint.h>

enum {
    DP_XSUM_W = 40,     /* bits per digit */
    DP_XSUM_DIGITS = 56 /* 2^-1074 .. 2^1166: all doubles, 2^63 of them, and the carries */
};

typedef struct {
    int64_t d[DP_XSUM_DIGITS]; /* value = sum of d[i] * 2^(40 i - 1074) */
    int64_t pinf, ninf, nan;   /* +Inf, -Inf and NaN values added */
    int64_t adds;              /* digit updates since the last normalisation */
} dp_xsum_t;

/* Sets the accumulator to zero. Local. */
void dp_xsum_init(dp_xsum_t *a);

/* Adds one double exactly (Inf and NaN are counted). Local. */
void dp_xsum_add(dp_xsum_t *a, double x);

/* Adds v * 2^e exactly (e >= -1074, |v| < 2^63): how the vectorised folds hand over their
 * integer partial sums. Local. */
void dp_xsum_add_scaled(dp_xsum_t *a, int64_t v, int e);

/* a += b, exactly. Local. */
void dp_xsum_merge(dp_xsum_t *a, const dp_xsum_t *b);

/* The sum rounded to the nearest double (ties to even); +-Inf when it overflows or Inf values
 * were added, NaN when NaN or both infinities were. Local. */
double dp_xsum_round(const dp_xsum_t *a);

/* The sum as an unevaluated pair hi + lo, hi = round(sum), lo = round(sum - hi): about 106
 * correct bits, for formulas that need more than a double. Local. */
void dp_xsum_round2(const dp_xsum_t *a, double *hi, double *lo);

/* The finite part of the sum (Inf and NaN counts aside), exactly: returns its sign (-1, 0, 1)
 * and writes its magnitude as sum of d[i] * 2^(40 i - 1074), every d[i] in [0, 2^40) but the
 * top one, which is non-negative. Local. */
int dp_xsum_digits(const dp_xsum_t *a, int64_t d[DP_XSUM_DIGITS]);

enum { DP_XSUM_PACK_MAX = 4 + 3 * 8 + DP_XSUM_DIGITS * 8 };

/* Writes a into out (at most DP_XSUM_PACK_MAX bytes) as its non-zero digits only; returns the
 * bytes written. Local. */
size_t dp_xsum_pack(const dp_xsum_t *a, unsigned char *out);

/* Sets a from what dp_xsum_pack wrote; returns the bytes read. Local. */
size_t dp_xsum_unpack(dp_xsum_t *a, const unsigned char *in);

#endif
