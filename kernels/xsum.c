#include "xsum.h"

#include <math.h>
#include <string.h>

#define MASK ((int64_t)((UINT64_C(1) << DP_XSUM_W) - 1))

void dp_xsum_init(dp_xsum_t *a)
{
    memset(a, 0, sizeof *a);
}

/* Propagates carries so that every digit but the top one is in [0, 2^40). */
static void normalise(dp_xsum_t *a)
{
    for (int i = 0; i < DP_XSUM_DIGITS - 1; i++) {
        const int64_t carry = a->d[i] >> DP_XSUM_W; /* floor division, also for negatives */
        a->d[i] -= carry * ((int64_t)1 << DP_XSUM_W);
        a->d[i + 1] += carry;
    }
    a->adds = 0;
}

/* Each update adds less than 2^40 to each digit it touches, so 1024 updates between
 * normalisations keep every digit below 2^51. */
static inline void count_update(dp_xsum_t *a)
{
    if (++a->adds >= 1024)
        normalise(a);
}

void dp_xsum_add_scaled(dp_xsum_t *a, int64_t v, int e)
{
    const uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    const int pos = e + 1074, digit = pos / DP_XSUM_W, shift = pos % DP_XSUM_W;
    const unsigned __int128 t = (unsigned __int128)u << shift; /* < 2^103: three digits */
    const int64_t p0 = (int64_t)(t & MASK), p1 = (int64_t)((t >> DP_XSUM_W) & MASK),
                  p2 = (int64_t)(t >> (2 * DP_XSUM_W));
    if (v < 0) {
        a->d[digit] -= p0;
        a->d[digit + 1] -= p1;
        a->d[digit + 2] -= p2;
    } else {
        a->d[digit] += p0;
        a->d[digit + 1] += p1;
        a->d[digit + 2] += p2;
    }
    count_update(a);
}

void dp_xsum_add(dp_xsum_t *a, double x)
{
    if (!isfinite(x)) {
        if (isnan(x))
            a->nan++;
        else if (x > 0)
            a->pinf++;
        else
            a->ninf++;
        return;
    }
    if (x == 0.0)
        return;
    /* |x| = m 2^lo from its bits (no library call: the folds add small values this way) */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    const int biased = (int)(bits >> 52 & 0x7ff);
    uint64_t m = bits & ((UINT64_C(1) << 52) - 1);
    int lo = -1074; /* subnormal */
    if (biased) {
        m |= UINT64_C(1) << 52;
        lo = biased - 1075;
    }
    const int pos = lo + 1074, digit = pos / DP_XSUM_W, shift = pos % DP_XSUM_W;
    const unsigned __int128 v = (unsigned __int128)m << shift; /* < 2^92 */
    const int64_t p0 = (int64_t)(v & MASK), p1 = (int64_t)((v >> DP_XSUM_W) & MASK),
                  p2 = (int64_t)(v >> (2 * DP_XSUM_W));
    if (x > 0) {
        a->d[digit] += p0;
        a->d[digit + 1] += p1;
        a->d[digit + 2] += p2;
    } else {
        a->d[digit] -= p0;
        a->d[digit + 1] -= p1;
        a->d[digit + 2] -= p2;
    }
    count_update(a);
}

void dp_xsum_merge(dp_xsum_t *a, const dp_xsum_t *b)
{
    dp_xsum_t c = *b;
    normalise(a);
    normalise(&c);
    for (int i = 0; i < DP_XSUM_DIGITS; i++)
        a->d[i] += c.d[i];
    a->pinf += c.pinf;
    a->ninf += c.ninf;
    a->nan += c.nan;
    normalise(a);
}

/* Rounds a normalised, non-negative digit vector to the nearest double. */
static double round_magnitude(const dp_xsum_t *a)
{
    int top = DP_XSUM_DIGITS - 1;
    while (top >= 0 && a->d[top] == 0)
        top--;
    if (top < 0)
        return 0.0;
    /* collect the leading bits: top digit plus the next two (at least 81 bits) */
    unsigned __int128 acc = 0;
    int used = 0;
    for (int i = top; i >= 0 && i > top - 3; i--) {
        acc = (acc << DP_XSUM_W) | (unsigned __int128)a->d[i];
        used++;
    }
    int sticky = 0;
    for (int i = top - used; i >= 0; i--)
        sticky |= a->d[i] != 0;
    /* acc holds `used` digits; its lowest bit has weight 2^exp0 */
    const int exp0 = (top - used + 1) * DP_XSUM_W - 1074;
    int len = 0;
    for (unsigned __int128 t = acc; t; t >>= 1)
        len++;
    if (len <= 53 && !sticky)
        return ldexp((double)(uint64_t)acc, exp0); /* exact (also for subnormals) */
    /* keep 53 bits, or fewer when the result is subnormal (lowest kept bit >= 2^-1074) */
    int drop = len - 53;
    if (exp0 + drop < -1074)
        drop = -1074 - exp0;
    if (drop <= 0)
        return ldexp((double)(uint64_t)acc, exp0);
    unsigned __int128 keep = acc >> drop;
    const unsigned __int128 rest = acc - (keep << drop), half = (unsigned __int128)1 << (drop - 1);
    if (rest > half || (rest == half && (sticky || (keep & 1))))
        keep++;
    return ldexp((double)(uint64_t)keep, exp0 + drop); /* keep <= 2^53: exact, or overflow */
}

/* Normalises c to its magnitude (non-negative digits); returns the sign of its value. */
static int to_magnitude(dp_xsum_t *c)
{
    normalise(c);
    if (c->d[DP_XSUM_DIGITS - 1] < 0) {
        for (int i = 0; i < DP_XSUM_DIGITS; i++)
            c->d[i] = -c->d[i];
        normalise(c);
        return -1;
    }
    for (int i = 0; i < DP_XSUM_DIGITS; i++)
        if (c->d[i])
            return 1;
    return 0;
}

static double round_signed(dp_xsum_t *c)
{
    return to_magnitude(c) < 0 ? -round_magnitude(c) : round_magnitude(c);
}

int dp_xsum_digits(const dp_xsum_t *a, int64_t d[DP_XSUM_DIGITS])
{
    dp_xsum_t c = *a;
    const int sign = to_magnitude(&c);
    memcpy(d, c.d, sizeof c.d);
    return sign;
}

double dp_xsum_round(const dp_xsum_t *a)
{
    if (a->nan || (a->pinf && a->ninf))
        return NAN;
    if (a->pinf)
        return INFINITY;
    if (a->ninf)
        return -INFINITY;
    dp_xsum_t c = *a;
    return round_signed(&c);
}

void dp_xsum_round2(const dp_xsum_t *a, double *hi, double *lo)
{
    *hi = dp_xsum_round(a);
    *lo = 0.0;
    if (!isfinite(*hi))
        return;
    dp_xsum_t c = *a;
    dp_xsum_add(&c, -*hi);
    *lo = round_signed(&c);
}

size_t dp_xsum_pack(const dp_xsum_t *a, unsigned char *out)
{
    dp_xsum_t c = *a;
    normalise(&c);
    int lo = 0, hi = DP_XSUM_DIGITS;
    while (lo < hi && c.d[lo] == 0)
        lo++;
    while (hi > lo && c.d[hi - 1] == 0)
        hi--;
    const uint16_t head[2] = {(uint16_t)lo, (uint16_t)(hi - lo)};
    const int64_t counts[3] = {c.pinf, c.ninf, c.nan};
    memcpy(out, head, sizeof head);
    memcpy(out + sizeof head, counts, sizeof counts);
    memcpy(out + sizeof head + sizeof counts, c.d + lo, (size_t)(hi - lo) * sizeof *c.d);
    return sizeof head + sizeof counts + (size_t)(hi - lo) * sizeof *c.d;
}

size_t dp_xsum_unpack(dp_xsum_t *a, const unsigned char *in)
{
    uint16_t head[2];
    int64_t counts[3];
    memcpy(head, in, sizeof head);
    memcpy(counts, in + sizeof head, sizeof counts);
    dp_xsum_init(a);
    memcpy(a->d + head[0], in + sizeof head + sizeof counts, (size_t)head[1] * sizeof *a->d);
    a->pinf = counts[0];
    a->ninf = counts[1];
    a->nan = counts[2];
    return sizeof head + sizeof counts + (size_t)head[1] * sizeof *a->d;
}
