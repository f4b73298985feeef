#include "xsum_ratio.h"

#include <math.h>
#include <string.h>

/* Non-negative integers as little-endian 32-bit limbs. An exact sum takes at most 72 limbs
 * (2240 bits and the top digit's headroom), the square of one 144; n S2 2^1074 at most 137, its
 * S2 below 2^2159 (n < 2^63 values of |x| <= 2^1024) in units of 2^-1074. */
enum { LIMBS = 148 };

typedef struct {
    uint32_t l[LIMBS];
    int n; /* limbs in use: l[n..) are zero */
} big_t;

static void trim(big_t *a)
{
    while (a->n > 0 && a->l[a->n - 1] == 0)
        a->n--;
}

/* a = |s| in units of 2^-1074; returns the sign of s. */
static int from_xsum(big_t *a, const dp_xsum_t *s)
{
    int64_t d[DP_XSUM_DIGITS];
    const int sign = dp_xsum_digits(s, d);
    memset(a, 0, sizeof *a);
    for (int i = 0; i < DP_XSUM_DIGITS; i++) {
        const int bit = DP_XSUM_W * i;
        unsigned __int128 v = (unsigned __int128)(uint64_t)d[i] << (bit % 32);
        for (int j = bit / 32; v; j++) {
            v += a->l[j];
            a->l[j] = (uint32_t)v;
            v >>= 32;
        }
    }
    a->n = LIMBS;
    trim(a);
    return sign;
}

static void from_u64(big_t *a, uint64_t v)
{
    memset(a, 0, sizeof *a);
    a->l[0] = (uint32_t)v;
    a->l[1] = (uint32_t)(v >> 32);
    a->n = 2;
    trim(a);
}

/* r = a b (r distinct from a and b). */
static void mul(big_t *r, const big_t *a, const big_t *b)
{
    memset(r, 0, sizeof *r);
    int b0 = 0;
    while (b0 < b->n && b->l[b0] == 0)
        b0++;
    for (int i = 0; i < a->n; i++) {
        if (a->l[i] == 0)
            continue;
        uint64_t carry = 0;
        for (int j = b0; j < b->n; j++) {
            const uint64_t t = (uint64_t)a->l[i] * b->l[j] + r->l[i + j] + carry;
            r->l[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        r->l[i + b->n] = (uint32_t)carry;
    }
    r->n = a->n + b->n;
    trim(r);
}

/* r = a 2^bits (r distinct from a). */
static void shift_left(big_t *r, const big_t *a, int bits)
{
    const int q = bits / 32, s = bits % 32;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < a->n; i++) {
        const uint64_t v = (uint64_t)a->l[i] << s;
        r->l[i + q] |= (uint32_t)v;
        r->l[i + q + 1] |= (uint32_t)(v >> 32);
    }
    r->n = a->n + q + 1;
    trim(r);
}

/* a += b. */
static void add(big_t *a, const big_t *b)
{
    uint64_t carry = 0;
    const int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        const uint64_t t = (uint64_t)a->l[i] + b->l[i] + carry;
        a->l[i] = (uint32_t)t;
        carry = t >> 32;
    }
    a->l[n] = (uint32_t)carry;
    a->n = n + 1;
    trim(a);
}

static int compare(const big_t *a, const big_t *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->l[i] != b->l[i])
            return a->l[i] < b->l[i] ? -1 : 1;
    return 0;
}

/* a -= b, for a >= b. */
static void subtract(big_t *a, const big_t *b)
{
    int64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        const int64_t t = (int64_t)a->l[i] - (i < b->n ? b->l[i] : 0) - borrow;
        a->l[i] = (uint32_t)t;
        borrow = t < 0;
    }
    trim(a);
}

static int bit_length(const big_t *a)
{
    if (a->n == 0)
        return 0;
    return 32 * (a->n - 1) + (32 - __builtin_clz(a->l[a->n - 1]));
}

static int bit_at(const big_t *a, int k)
{
    return k >= 0 && (a->l[k / 32] >> (k % 32) & 1);
}

/* Whether any bit of a below bit k is set. */
static int any_below(const big_t *a, int k)
{
    if (k <= 0)
        return 0;
    for (int i = 0; i < k / 32; i++)
        if (a->l[i])
            return 1;
    return k % 32 && (a->l[k / 32] & ((UINT32_C(1) << (k % 32)) - 1));
}

/* hi + lo = a 2^e / d, hi rounded to nearest (ties to even), for a > 0 and 0 < d < 2^127. */
static void divide(const big_t *a, int e, unsigned __int128 d, double *hi, double *lo)
{
    /* Long division, one bit of a (then of its zero extension) at a time, until the quotient q
     * has 121 bits; q + (the remainder's fraction) = a 2^-k / d after k = nb - bit bits. */
    const int nb = bit_length(a);
    unsigned __int128 q = 0, r = 0;
    int bit = nb - 1;
    while (!(q >> 120)) {
        r = r << 1 | (unsigned __int128)bit_at(a, bit);
        q <<= 1;
        if (r >= d) {
            r -= d;
            q |= 1;
        }
        bit--;
    }
    const int sticky = r != 0 || any_below(a, bit + 1);
    const int exp = e + bit + 1; /* a 2^e / d = (q + fraction) 2^exp */
    /* keep 53 bits, fewer when the result is subnormal */
    int drop = 121 - 53;
    if (exp + drop < -1074)
        drop = -1074 - exp;
    if (drop > 122) { /* below half the smallest subnormal */
        *hi = *lo = 0.0;
        return;
    }
    unsigned __int128 keep = q >> drop;
    const unsigned __int128 rest = q - (keep << drop), half = (unsigned __int128)1 << (drop - 1);
    if (rest > half || (rest == half && (sticky || (keep & 1))))
        keep++;
    *hi = ldexp((double)(uint64_t)keep, exp + drop);
    *lo = 0.0;
    if (isfinite(*hi) && drop == 121 - 53) /* normal: lo within 2^68 of the quotient's unit */
        *lo = ldexp((double)(__int128)(q - (keep << drop)), exp);
}

void dp_xsum_mean(const dp_xsum_t *s1, int64_t n, double *hi, double *lo)
{
    big_t a;
    const int sign = from_xsum(&a, s1);
    if (a.n == 0) {
        *hi = *lo = 0.0;
        return;
    }
    divide(&a, -1074, (unsigned __int128)n, hi, lo);
    if (sign < 0) {
        *hi = -*hi;
        *lo = -*lo;
    }
}

/* b = S2 in units of 2^-2148. */
static void sum_of_squares(big_t *b, const dp_moment_sums_t *m)
{
    big_t part, shifted;
    from_xsum(&part, m->s2);
    shift_left(b, &part, 1074);
    from_xsum(&part, m->s2_high);
    if (part.n > 0) {
        shift_left(&shifted, &part, m->high_exp + 1074);
        add(b, &shifted);
    }
    from_xsum(&part, m->s2_low); /* (x 2^537)^2 in units of 2^-1074: x^2 in units of 2^-2148 */
    add(b, &part);
}

void dp_xsum_squares(const dp_moment_sums_t *m, int scale_exp, double *hi, double *lo)
{
    big_t b;
    sum_of_squares(&b, m);
    *hi = *lo = 0.0;
    if (b.n > 0)
        divide(&b, scale_exp - 2148, 1, hi, lo);
}

void dp_xsum_var(const dp_moment_sums_t *m, int64_t n, int64_t ddof, int scale_exp, double *hi,
                 double *lo)
{
    big_t a, b, count, nb, square;
    from_xsum(&a, m->s1);
    sum_of_squares(&b, m);
    from_u64(&count, (uint64_t)n);
    mul(&nb, &b, &count); /* n S2 in units of 2^-2148, like S1^2 */
    mul(&square, &a, &a);
    if (compare(&nb, &square) <= 0) {
        *hi = *lo = 0.0;
        return;
    }
    subtract(&nb, &square);
    divide(&nb, scale_exp - 2148, (unsigned __int128)n * (unsigned __int128)(n - ddof), hi, lo);
}
