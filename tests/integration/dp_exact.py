"""Exact references for the reductions' moments: sums of x and x^2 as Python integers, and the
mean, var, std and l2 they define, rounded once or checked to 1 ulp (test_reduce_ops.py,
test_reduce_random.py)."""

import math
from fractions import Fraction

DMAX = 1.7976931348623157e308


def exact_sums(v):
    """Sum of x and of x^2 of the finite float64 values, exactly, as integers in units of
    2^-1074 and 2^-2148 (every double is an integer multiple of 2^-1074)."""
    s1 = s2 = 0
    for t in v.tolist():
        p, q = float(t).as_integer_ratio()  # q a power of two, at most 2^1074
        x = p * ((1 << 1074) // q)
        s1 += x
        s2 += x * x
    return s1, s2


def exact_moments(v, ddof):
    """(mean, var) of the finite values as exact Fractions: S1 / n, (n S2 - S1^2) / (n (n - ddof))
    (var None when n - ddof <= 0)."""
    n = int(v.size)
    s1, s2 = exact_sums(v)
    mean = Fraction(s1, n << 1074)
    var = Fraction(n * s2 - s1 * s1, (n * (n - ddof)) << 2148) if n - ddof > 0 else None
    return mean, var


def exact_sqrt(f):
    """The square root of a non-negative Fraction, for messages: 2^k sqrt(f 2^-2k) in floats."""
    k = (f.numerator.bit_length() - f.denominator.bit_length()) // 2
    return math.sqrt(float(f / Fraction(2) ** (2 * k))) * 2.0**k if k < 1024 else math.inf


def rounded(f):
    """A Fraction rounded to the nearest double (ties to even), inf beyond the largest."""
    try:
        return float(f)
    except OverflowError:
        return math.inf if f > 0 else -math.inf


def sqrt_within_ulp(g, f):
    """Whether the double g is within 1 ulp of the square root of the non-negative Fraction f
    (+Inf only when that square root is beyond the largest double)."""
    if math.isinf(g):
        return g > 0 and f > Fraction(DMAX) ** 2
    if not math.isfinite(g):
        return False
    u = Fraction(math.ulp(g))
    lo = max(Fraction(g) - u, Fraction(0))
    return lo * lo <= f <= (Fraction(g) + u) ** 2
