#!/usr/bin/python3
"""Integration test: every op of kernel reduce (count, sum, min, max, mean, var, std, l2, argmin,
argmax, hist, median, percentiles) on HDF5 datasets of awkward shapes and several types, at the
given rank count with 1 and 2 threads, against references computed here with numpy and
exact integer sums: sum correctly rounded, count/min/max/argmin/argmax/hist/median/
percentiles exactly as numpy, mean and var correctly rounded from exact integer sums, std within
1 ulp of the exact square root, l2 within 1 ulp of the square root of the exact S2;
ill-conditioned data, data far from zero, constants, values near the largest double and squares
below the smallest; the NaN policies (skip, propagate, error) and infinities; the JSON report
equal to the HDF5 results file; and the same bits for threads 1 and 2, chunk_mb 1 and 64 and
(for np > 1) one rank."""

import json
import math
import os
import re
import struct
import warnings
from fractions import Fraction

import h5py
import numpy as np

import dp_harness as dh
from dp_exact import exact_moments, exact_sqrt, exact_sums, rounded, sqrt_within_ulp

h = dh.Harness("reduce_ops", __doc__)
rng = np.random.default_rng(20240917)
warnings.simplefilter("ignore", RuntimeWarning)  # np.var of one value with ddof 1, inf - inf

STATS = ["count", "sum", "min", "max", "mean", "var", "std", "l2", "argmin", "argmax"]
ALL = STATS + ["hist", "median"]
PCTS = ["0", "1", "25", "50", "90", "99.9", "100"]
nan, inf = math.nan, math.inf
DMAX = float(np.finfo(np.float64).max)


class Case:
    """One dataset and the [reduce] keys of its job."""

    def __init__(self, name, data, ops=ALL, ddof=0, bins=16, range_=None, pcts=PCTS,
                 nan_policy="skip", threads=(1,), group=None, dset_kw=None, axis=None, keep=None,
                 checksum=False):
        self.name, self.data, self.ops, self.ddof = name, np.asarray(data), list(ops), ddof
        self.bins, self.range, self.pcts, self.nan = bins, range_, pcts, nan_policy
        self.threads, self.group, self.dset_kw = threads, group, dset_kw or {}
        self.axis, self.keep, self.checksum = axis, keep, checksum
        self.dset = f"/d/{name}"

    def reduce_keys(self):
        keys = {"ops": ",".join(self.ops), "ddof": self.ddof, "nan": self.nan}
        if self.axis is not None:
            keys["axis"] = self.axis
        if self.keep is not None:
            keys["keep"] = self.keep
        if "hist" in self.ops:
            keys["bins"] = self.bins
            if self.range is not None:
                keys["range"] = f"{self.range[0]!r}, {self.range[1]!r}"
        if self.pcts:
            keys["percentiles"] = ", ".join(self.pcts)
        return keys

    def describe(self):
        d = self.data
        along = "" if self.axis is None else f" axis {self.axis}"
        along += "" if self.keep is None else f" keep {self.keep}"
        along += " checksum" if self.checksum else ""
        return f"{self.name} {d.dtype.name}{list(d.shape)}{along}"


cases = []


def add(*args, **kw):
    c = Case(*args, **kw)
    cases.append(c)
    return c


# ---- 1. every op on awkward shapes and several types -----------------------------------------

SHAPES = [(1,), (7,), (13, 1), (5, 7), (3, 4, 5), (301, 257)]
TYPES = ["int16", "uint32", "float32", "float64"]
BINS = [1, 3, 16, 64, 7, 1000]


def typed_values(dt, shape):
    """Values spanning the type, with the minimum and the maximum each at two places (the
    first occurrence not at the start) and, for floats, a NaN."""
    dt = np.dtype(dt)
    n = int(np.prod(shape))
    if dt.kind in "iu":
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
        lo, hi = info.min, info.max
    else:
        x = (rng.standard_normal(n) * 1e3).astype(dt)
        if dt == np.float32:
            lo, hi = -np.finfo(dt).max / 4, np.finfo(dt).max / 4
        else:  # exact cancellation of huge values: the sum is that of the others
            lo, hi = -1e150, 1e150
        if n >= 40:
            x[5] = np.finfo(dt).tiny / 8  # subnormal
    if n == 1:
        x[0] = lo
    else:
        x[[n * 3 // 5, n - 1]] = lo
        x[[n // 4, n * 4 // 5]] = hi
        if dt.kind == "f" and n >= 7:
            x[2] = np.nan
    return x.reshape(shape)


for s, shape in enumerate(SHAPES):
    for t, dt in enumerate(TYPES):
        kw = dict(ddof=(t // 2 + s) % 2, bins=BINS[s], threads=(1 + (t + s) % 2,))
        if shape == (1,):
            kw["range_"] = (-1e10, 1e10)  # the data's own range would be empty
        if (dt, shape) == ("int16", (301, 257)):
            kw["nan_policy"] = "propagate"  # no NaN in integers: the usual results
        if (dt, shape) == ("uint32", (3, 4, 5)):
            kw["nan_policy"] = "error"
        if (dt, shape) == ("float64", (301, 257)):
            kw["threads"] = (1, 2)
        add(f"{dt}_{'x'.join(map(str, shape))}", typed_values(dt, shape), **kw)

ILL = [1e16, 1.0, -1e16, 3.5, -2.0**-30, 2.0**53, 1.0, -2.0**53, 2.0**-60, 1e-300, -1e16, 7.0,
       1e16, -3.5, 0.1, -0.1, 1e-17, 2.0**-1074, -1e100, 1e100]
ill = np.array(ILL).reshape(4, 5)
add("ill_conditioned", ill, ddof=1, threads=(2,))
add("ill_conditioned_t1", ill.T.copy(), threads=(1,))
add("sum_tie_even", np.array([2.0**53, 1.0]), threads=(1,))  # 2^53 + 1: ties to even, 2^53
add("sum_tie_up", np.array([2.0**53, 1.0, 2.0**-60]), threads=(2,))  # rounds up to 2^53 + 2
add("offset_1e8", 1e8 + rng.standard_normal((301, 257)), ddof=1, threads=(2,))
add("offset_1e6_f32", (1e6 + rng.standard_normal((96, 130)) * 8).astype(np.float32),
    threads=(1,))
# far from zero: S2 and S1^2 / n agree to more bits than a double-double holds
add("offset_1e15", 1e15 + np.arange(4) * 0.25, threads=(2,))
add("offset_int64", np.int64(1_600_000_000_000_000_000) + 256 * np.arange(1001, dtype=np.int64),
    ddof=1, threads=(1,))
add("offset_1e12", 1e12 + rng.standard_normal((37, 29)) * 1e-3, threads=(1, 2))
add("constant_tenth", np.full((317, 317), 0.1), ddof=1, threads=(2,))
add("constant_5", np.full((5,), 123.456), threads=(1,))
# near the largest double: exact sums do not overflow where their rounding would
add("largest", np.array([DMAX, DMAX, DMAX, -DMAX]), ops=STATS, pcts=None, threads=(2,))
add("large_mean", np.array([1e308, 1e308]), ops=STATS, pcts=None, threads=(1,))
add("squares_overflow", np.array([1e200, 1e200, -3e199]), ops=STATS, pcts=None, threads=(1,))
add("large_constant", np.full((3, 700), 1e200), ops=STATS, pcts=None, threads=(2,))
# near the smallest double: squares below 2^-1074 are summed scaled, so var, std and l2 stay
# exact where every square underflows
add("tiny_1e-200", rng.standard_normal((301, 257)) * 1e-200, ops=STATS, ddof=1, pcts=None,
    threads=(1, 2))
add("tiny_subnormal", rng.standard_normal(5000) * 1e-310, ops=STATS, pcts=None, threads=(2,))
add("tiny_after_larger", np.concatenate([rng.uniform(1, 2, 4096) * 2.0**-455,
                                         rng.standard_normal(6000) * 1e-300]),
    ops=STATS, pcts=None, threads=(1,))  # tiles of tiny values after larger ones
add("tiny_mixed", np.concatenate([rng.standard_normal(300) * 2.0**-450,
                                  rng.standard_normal(5000) * 1e-150,
                                  rng.standard_normal(100) * 2.0**-455,
                                  rng.standard_normal(2000) * 1e-310,
                                  rng.standard_normal(3000) * 1e-200]),
    ops=STATS, ddof=1, pcts=None, threads=(1, 2))  # tiles tiny or mixed, differently at each np
add("large_and_small", rng.permutation(np.concatenate([
    [2.0**500, -2.0**501, 3.0 * 2.0**500], rng.standard_normal(5000) * 2.0**499,
    rng.standard_normal(3000)])),
    ops=STATS, ddof=1, pcts=None, threads=(1, 2))  # large squares in tiles with small ones

def cancelling(shape, seed_mag=20):
    """Pairs +b, -b of huge values at random places, among ordinary ones."""
    n = int(np.prod(shape))
    k = n // 3
    big = rng.standard_normal(k) * 10.0 ** rng.uniform(0, seed_mag, k)
    x = np.concatenate([big, -big, rng.standard_normal(n - 2 * k) * 10.0 ** rng.uniform(
        -20, 3, n - 2 * k)])
    return rng.permutation(x).reshape(shape)


add("cancelling", cancelling((301, 257)), ddof=1, threads=(1, 2))

# as many percentiles as a list holds (32), with the median: 66 order statistics at once
add("percentiles_32", rng.standard_normal(1001), ops=["median"],
    pcts=[str(3 * i) for i in range(32)], threads=(2,))

# percentiles 1 ulp apart, and one 1 ulp below 100: each is named as written, none merged with
# its neighbour in the report or the file
add("percentiles_ulp", rng.standard_normal(101) * 10.0 ** rng.integers(-5, 5, 101),
    ops=["median"], pcts=["33.33333333333333", "33.333333333333336", "99.99999999999999", "100"],
    threads=(1, 2))

# ---- 3. histograms ---------------------------------------------------------------------------


def around(values):
    v = np.asarray(values, dtype=np.float64)
    return np.concatenate([v, np.nextafter(v, -inf), np.nextafter(v, inf)])


e10 = np.linspace(-1.0, 1.0, 11)
h1 = np.concatenate([rng.uniform(-1.3, 1.3, 1000), around(e10), [nan, nan, -0.0, 1.0, 1.0]])
add("hist_range_10", rng.permutation(h1), ops=["count", "hist"], bins=10, range_=(-1.0, 1.0),
    pcts=None, threads=(2,))
e7 = np.linspace(-0.3, 2.9, 8)
h2 = np.concatenate([rng.uniform(-0.5, 3.1, 940), around(e7), -0.3 + np.arange(8) * (3.2 / 7),
                     -0.3 + np.arange(8) * 3.2 / 7])
h2 = np.concatenate([h2, rng.uniform(0, 1, 1000 - h2.size)])
add("hist_range_7", rng.permutation(h2).reshape(40, 25), ops=["hist", "min", "max"], bins=7,
    range_=(-0.3, 2.9), pcts=None, threads=(1,))
add("hist_auto_f32", (rng.standard_normal((301, 257)) * 3).astype(np.float32), ops=["hist"],
    bins=37, pcts=None, threads=(2,))
add("hist_auto_int16_edges",
    np.array([-10, -6, -2, 2, 6, 10, -10, 10, 0, 3, -6, 6, 5], dtype=np.int16).reshape(13, 1),
    ops=["hist", "count"], bins=5, pcts=None, threads=(1,))
# ranges narrower than bins / DBL_MAX (subnormal widths): bins / (hi - lo) overflows
add("hist_subnormal", np.repeat(np.array([0.0, 1e-310, 2e-310, 3e-310, 4e-310]), 200).reshape(
    40, 25), ops=["hist", "count"], bins=4, pcts=None, threads=(1, 2))
add("hist_narrow_auto", np.array([1e-307, 2e-307, 3e-307, 4e-307] * 25), ops=["hist"], bins=64,
    pcts=None, threads=(2,))
add("hist_narrow_range", rng.permutation(np.array([1e-307, 2e-307, 3e-307, 4e-307, -1.0, 5e-307] *
    30)), ops=["hist"], bins=7, range_=(1e-307, 4e-307), pcts=None, threads=(1,))
# range = 2,2 is widened to 1.5,2.5 as numpy does, values on and beside the new edges
add("hist_range_equal", rng.permutation(np.concatenate([around([1.5, 1.75, 2.0, 2.25, 2.5]),
                                                        rng.uniform(1.0, 3.0, 200)])),
    ops=["hist", "count"], bins=4, range_=(2.0, 2.0), pcts=None, threads=(1, 2))
add("hist_range_uint32", rng.integers(0, 2**32 - 1, (3, 4, 5), dtype=np.uint32, endpoint=True),
    ops=["hist"], bins=9, range_=(1e9, 3.5e9), pcts=None, threads=(2,))

# ---- 3b. along one axis: one value per line, exact per output, NaN skipped --------------------

MOMENTS = ["count", "sum", "min", "max", "mean", "var", "std", "l2"]
ax3 = 1e6 + rng.standard_normal((37, 23, 11)) * 10.0 ** rng.integers(-6, 3, (37, 23, 11))
ax3.flat[rng.choice(ax3.size, 40, replace=False)] = nan
ax3[4, :, 7] = nan  # a line of NaN only (axis 1): count 0, the rest NaN
for axis in (0, 1, 2):
    add(f"axis{axis}_3d", ax3, ops=MOMENTS, ddof=axis % 2, pcts=None, axis=axis,
        threads=(1 + axis % 2,), keep="all")
ax2 = np.concatenate([rng.standard_normal((3000, 5)), np.full((1, 5), 1e16)]) * [1, 1e-9, 1e9, 1, 1]
add("axis0_tall", ax2, ops=MOMENTS, pcts=None, axis=0, threads=(1, 2))  # lines of many tiles
add("axis0_1d", 1e12 + rng.standard_normal(999) * 1e-3, ops=MOMENTS, pcts=None, axis=0,
    threads=(2,))  # a 1-D array: scalars, as numpy's np.var(x, axis=0)

# ---- 4. percentiles and median ---------------------------------------------------------------


def median_pair():
    """Two values whose mean (numpy's median) differs from their linear interpolation at 0.5
    (numpy's 50th percentile), so that the test tells the two apart."""
    for _ in range(10000):
        a, b = rng.uniform(-5, -0.1), rng.uniform(0.1, 5)
        if (a + b) / 2 != b - (b - a) * 0.5:
            return a, b
    return None


pair = median_pair()
h.check(pair is not None, "premise: found two values whose mean differs from numpy's "
        "interpolation at 0.5")
if pair:
    lower = rng.integers(-20, -6, 11).astype(np.float64)  # duplicates and negatives
    upper = rng.integers(6, 20, 11).astype(np.float64)
    add("pct_even_dups", rng.permutation(np.concatenate([lower, pair, upper])).reshape(4, 6),
        ops=["median", "count"], threads=(2,))
add("pct_odd_f32", (rng.integers(-100, 100, (7, 11, 13)) / 4).astype(np.float32),
    ops=["median", "min", "max"], threads=(1,))
pn = rng.standard_normal((301, 257))
pn[rng.random(pn.shape) < 0.05] = nan
add("pct_nan_skip", pn, threads=(2,), ddof=1)
add("pct_two_int16", np.array([-7, 4], dtype=np.int16), ops=["median"], threads=(1,),
    group="/stats/r")
# an odd count: the median is the middle value itself, even when twice it would overflow
add("pct_odd_huge", np.array([1.7e308, 1.6e308, 1.0, 2.0, 1.5e308]), ops=["median", "max"],
    threads=(1,))


def index_formula_case():
    """A count n and a percentile for which numpy's position (n-1)*(p/100) differs in its last
    bit from (n-1)*p/100, and data with a huge gap after that position, so that dproc must
    interpolate at numpy's position to give numpy's value."""
    for n in range(50, 4000):
        for q in PCTS:
            p = float(q)
            pos = (n - 1) * (p / 100)
            if pos != (n - 1) * p / 100 and int(pos) + 1 < n:
                k = int(pos)
                s = np.concatenate([np.arange(k + 1, dtype=np.float64),
                                    1e12 + np.arange(n - k - 1, dtype=np.float64)])
                return n, q, rng.permutation(s)
    return None


found = index_formula_case()
h.check(found is not None, "premise: found n, p where (n-1)*(p/100) != (n-1)*p/100")
if found:
    n_, q_, data_ = found
    h.note(f"percentile position case: n = {n_}, p = {q_}")
    add("pct_position", data_, ops=["count"], threads=(2,))

# ---- 5. NaN policies and infinities ----------------------------------------------------------

p1 = rng.standard_normal((5, 7))
p1[0, 3] = -50.0
p1.flat[[30, 33]] = nan
add("nan_propagate", p1, ops=STATS + ["median"], nan_policy="propagate", threads=(1,))
p2 = rng.standard_normal((301, 257)).astype(np.float32)
p2[3, 4] = -50.0
p2[250, 17] = p2[280, 0] = nan
add("nan_propagate_big", p2, ops=STATS + ["median"], nan_policy="propagate", threads=(2,))
add("inf_pos", np.array([1, inf, 2, nan, -3, 5, 0.5, 7, inf, -1, 2.5, 3]).reshape(3, 4),
    ops=["count", "sum", "min", "max", "mean", "l2", "argmin", "argmax", "hist"], bins=6,
    range_=(-5.0, 4.0), pcts=None, threads=(2,))
add("inf_both", np.array([1, -inf, 2, inf, nan, 3, 4]),
    ops=["count", "sum", "min", "max", "mean", "l2", "argmin", "argmax"], pcts=None,
    threads=(1,))
add("square_overflow", np.array([[1e200, -1e200, 3], [1e155, -2.5, 7]]), threads=(2,))

# ---- 2. reproducibility: several read pieces per rank ----------------------------------------

rows = 1500
rep = np.empty((rows, 1000))
rep[: rows // 2] = cancelling((rows // 2, 1000), seed_mag=30)
rep[rows // 2:] = 1e3 + rng.standard_normal((rows - rows // 2, 1000))
repro = Case("repro", rep, ddof=1, bins=64, range_=(-5e3, 5e3))

# ---- the input file --------------------------------------------------------------------------

# types read through a conversion: float16 (HDF5 converts it to float32, subnormals and the
# largest half included; big-endian too) and h5py's bool (an enum over bytes, read as 0 and 1:
# contiguous through MPI-IO, chunked through HDF5). Their values come from a generator of their
# own, so that the cases above keep theirs.
rng_types = np.random.default_rng(20261205)
half = (rng_types.standard_normal(5 * 7 * 3) * 300).astype(np.float16)
half[[4, 50]] = np.float16(65504.0)
half[[9, 77]] = -np.float16(65504.0)
half[[13, 90, 91]] = [np.float16(2.0**-24), np.float16(-2.0**-20), np.nan]
add("float16_5x7x3", half.reshape(5, 7, 3), ddof=1, bins=7, threads=(1, 2))
add("float16_chunked", (rng_types.standard_normal((64, 33)) * 0.01).astype(np.float16),
    threads=(2,), dset_kw={"chunks": (5, 33), "compression": "gzip"})
add("float16_big_endian", (rng_types.standard_normal(1001) * 1e4).astype(">f2"), threads=(1,))
add("bool_13x1", rng_types.random((13, 1)) < 0.4, bins=2, threads=(1,))
add("bool_3x4x5", rng_types.random((3, 4, 5)) < 0.7, ddof=1, bins=3, threads=(2,))
add("bool_chunked", rng_types.random((300, 7)) < 0.2, threads=(1, 2),
    dset_kw={"chunks": (16, 7), "compression": "gzip"})

# arrays of 0 dimensions (a scalar), of more than 3 (reduced whole: dproc merges the leading
# axes, and reports indices along the file's own axes) and empty arrays (count 0, sum 0, the
# rest NaN, as numpy's nan* functions on an empty selection). Their values come from a
# generator of their own, so that the cases above keep theirs.
rng_shapes = np.random.default_rng(20261203)
add("scalar_f64", np.array(-2.75), bins=3, threads=(1,))
add("scalar_int32", np.array(-7, dtype=np.int32), ops=STATS + ["median"], threads=(2,))
nd4 = (rng_shapes.standard_normal((3, 4, 5, 6)) * 100).astype(np.float64)
nd4[1, 2, 3, 4] = nd4[2, 0, 0, 5] = 1e150  # the maximum twice: the first is reported
nd4[0, 3, 1, 2] = -1e150
nd4[2, 3, 4, 5] = nan
add("float64_3x4x5x6", nd4, ddof=1, bins=16, threads=(1, 2))
add("int16_2x3x2x5x7_chunked", rng_shapes.integers(-30000, 30000, (2, 3, 2, 5, 7), np.int16),
    bins=7, threads=(2,), dset_kw={"chunks": (1, 2, 2, 3, 4), "compression": "gzip"})
add("float32_4x1x3x1x2x5", (rng_shapes.standard_normal((4, 1, 3, 1, 2, 5)) * 1e3)
    .astype(np.float32), threads=(1,))
add("bool_2x2x2x2", rng_shapes.random((2, 2, 2, 2)) < 0.5, bins=2, threads=(2,))
big4 = 1e6 + rng_shapes.standard_normal((5, 7, 60, 100))  # several read pieces at chunk_mb 1
big4[4, 6, 59, 99] = -1e6
nd4_big = add("float64_5x7x60x100", big4, ops=STATS + ["median"], pcts=["10", "99.9"],
              threads=(2,))
add("empty_0", np.zeros(0), bins=4, threads=(1,))
add("empty_3x0_range", np.zeros((3, 0), np.int32), bins=4, range_=(0.0, 1.0), threads=(2,))
add("empty_0x4_chunked", np.zeros((0, 4), np.float32), threads=(1,),
    dset_kw={"chunks": (8, 4), "maxshape": (None, 4)})
add("empty_2x0x3x4", np.zeros((2, 0, 3, 4)), ops=STATS, pcts=None, threads=(2,))
add("empty_axis1_3x0", np.zeros((3, 0)), ops=MOMENTS, pcts=None, axis=1, threads=(1,))
add("empty_axis0_3x0", np.zeros((3, 0)), ops=MOMENTS, pcts=None, axis=0, threads=(2,))
# read in pieces through HDF5 (chunked): at chunk_mb 1 and np 1 a piece is 32 rows of the 105
# that the leading axes make, so pieces start inside blocks of them
nd5_chunked = add("float64_3x5x7x40x100_chunked", rng_shapes.standard_normal((3, 5, 7, 40, 100)),
                  ops=STATS, pcts=None, threads=(1,), dset_kw={"chunks": (1, 2, 3, 40, 100)})
# never written: HDF5 fills them with the fill value (a rank that reads nothing must not wait
# for one that reads fill values)
add("unwritten_scalar", np.array(4.5), ops=STATS + ["median"], pcts=None, threads=(1,),
    dset_kw={"unwritten": True})
add("unwritten_1", np.full(1, -1.25), ops=STATS, pcts=None, threads=(2,),
    dset_kw={"unwritten": True})
add("unwritten_chunked_2", np.full(2, 3.0), ops=STATS, pcts=None, threads=(1,),
    dset_kw={"unwritten": True, "chunks": (1,)})
add("unwritten_3x4x5x6x7", np.full((3, 4, 5, 6, 7), 2.0, np.float32), ops=STATS, pcts=None,
    threads=(2,), dset_kw={"unwritten": True})
# chunked and written in part: the chunks never written hold the fill value
part = np.full((40, 10), 2.5)
part[8:12] = rng_shapes.standard_normal((4, 10))
part[30:34] = -7.0
add("partly_written_40x10", part, ops=STATS, pcts=None, threads=(1,),
    dset_kw={"written": [(8, 12), (30, 34)], "chunks": (4, 10)})
part4 = np.full((6, 3, 4, 5), -0.5, np.float32)
part4[2:4] = rng_shapes.standard_normal((2, 3, 4, 5)).astype(np.float32)
add("partly_written_gzip_6x3x4x5", part4, ops=STATS + ["median"], pcts=None, threads=(2,),
    dset_kw={"written": [(2, 4)], "chunks": (1, 3, 2, 5), "compression": "gzip"})
# 31 axes, chunked: the most HDF5 1.10 reads in part
add("float64_31d_chunked", rng_shapes.standard_normal((2,) + (1,) * 28 + (3, 4)), ops=STATS,
    pcts=None, threads=(1,), dset_kw={"chunks": (1,) * 30 + (2,)})
# along an axis of 4 or more dimensions: the axes before it and after it merged as read, the
# results written with the file's other extents (numpy's shapes)
for axis in range(4):  # keep = all: auto would keep some outputs by rank at np > 1
    add(f"axis{axis}_3x4x5x6", nd4, ops=MOMENTS, ddof=axis % 2, pcts=None, axis=axis,
        threads=(1 + axis % 2,), keep="all")
add("axis2_int16_3x5x4x6x7_chunked",
    rng_shapes.integers(-30000, 30000, (3, 5, 4, 6, 7), np.int16), ops=MOMENTS, pcts=None,
    axis=2, threads=(2,), dset_kw={"chunks": (2, 2, 3, 4, 3), "compression": "gzip"})
add("axis5_float32_4x1x3x1x2x5", (rng_shapes.standard_normal((4, 1, 3, 1, 2, 5)) * 1e3)
    .astype(np.float32), ops=MOMENTS, pcts=None, axis=5, threads=(1,))
add("empty_axis1_2x0x3x4", np.zeros((2, 0, 3, 4)), ops=MOMENTS, pcts=None, axis=1, threads=(2,))
add("empty_axis2_2x0x3x4", np.zeros((2, 0, 3, 4)), ops=MOMENTS, pcts=None, axis=2, threads=(1,))
nd5_axis = add("axis3_3x5x7x40x100_chunked", nd5_chunked.data, ops=MOMENTS, pcts=None, axis=3,
               threads=(1,), dset_kw={"chunks": (1, 2, 3, 40, 100)})
# chunked, so read through HDF5 selections: axis 0 and the last (2-D as read), and 3x2x1x3x2
# along axis 2, read as 6x1x6, whose boxes at np 4 (grid 2x1x2) start inside both merged groups
for axis in (0, 3):
    add(f"axis{axis}_3x4x5x6_chunked", nd4, ops=MOMENTS, pcts=None, axis=axis, threads=(2,),
        dset_kw={"chunks": (2, 3, 2, 4)})
# along axis 0 in several pieces: at chunk_mb 1 and np 1, 82 rows each (deeper than chunk_mb's
# 65, as deep as the accumulators allow the buffers): every column's values come in runs,
# 2000 columns gathered up to 32 side by side (and the 16 left over)
rng_axis = np.random.default_rng(20261207)
cols = rng_axis.standard_normal((500, 2000)) * 10.0 ** rng_axis.integers(-8, 8, (1, 2000))
cols[rng_axis.random(cols.shape) < 0.01] = nan
cols_case = add("axis0_500x2000", cols, ops=MOMENTS, pcts=None, axis=0, ddof=1, threads=(2,),
                keep="all")
add("axis2_3x2x1x3x2_chunked", rng_shapes.standard_normal((3, 2, 1, 3, 2)), ops=MOMENTS,
    pcts=None, axis=2, threads=(1,), dset_kw={"chunks": (2, 1, 1, 2, 1)})
# keep = own: each rank keeps the outputs of its block, the axis whole on every rank, and the
# outputs are gathered; the same exact values. Every axis of the 3-D and 4-D arrays (blocks cut
# along the other axes, contiguous and chunked), the table along axis 0 in pieces, and a
# 3x1x2 array along axis 1, whose grid at np 4 (4x1x1) leaves a rank without outputs
for axis in (0, 1, 2):
    add(f"axis{axis}_3d_own", ax3, ops=MOMENTS, ddof=axis % 2, pcts=None, axis=axis,
        threads=(2 - axis % 2,), keep="own")
for axis in range(4):
    add(f"axis{axis}_3x4x5x6_own", nd4, ops=MOMENTS, pcts=None, axis=axis,
        threads=(1 + axis % 2,), keep="own")
add("axis1_3x4x5x6_chunked_own", nd4, ops=MOMENTS, pcts=None, axis=1, threads=(2,),
    dset_kw={"chunks": (2, 3, 2, 4)}, keep="own")
cols_own = add("axis0_500x2000_own", cols, ops=MOMENTS, pcts=None, axis=0, ddof=1, threads=(1,),
               keep="own")
add("axis1_3x1x2_own", rng_shapes.standard_normal((3, 1, 2)), ops=MOMENTS, pcts=None, axis=1,
    threads=(1,), keep="own")
add("empty_axis0_0x7_own", np.zeros((0, 7)), ops=MOMENTS, pcts=None, axis=0, threads=(1,),
    keep="own")
# checksummed outputs (collective writes): an empty reduced array, and values kept by rank
add("empty_axis1_0x3x4_checksum", np.zeros((0, 3, 4)), ops=MOMENTS, pcts=None, axis=1,
    threads=(1,), checksum=True)
add("axis0_7x5x3_own_checksum", rng_shapes.standard_normal((7, 5, 3)), ops=MOMENTS, pcts=None,
    axis=0, threads=(2,), keep="own", checksum=True)
# more outputs than one rank may keep (200000 x 1976 bytes of exact accumulators > 256 MiB):
# keep = auto owns them from 2 ranks on, and refuses one rank; keep = all refuses any layout.
# Integers, so that an independent reference is plain float64 arithmetic: exact sums, and the
# mean and var rounded once from exact integers, as dproc rounds its exact ones
many = Case("axis0_int16_3x400x500_auto", rng_shapes.integers(-30000, 30000, (3, 400, 500),
                                                              np.int16),
            ops=["count", "sum", "min", "max", "mean", "var"], pcts=None, axis=0, ddof=1)
# keep = own along axis 0 of a chunked table, read through HDF5 (collective reads) in pieces as
# deep as rank 0's accumulators allow at chunk_mb 1: 247 rows for its 3001/np + 1 columns, where
# the other ranks' fewer columns alone would allow 246, one piece more over 494 rows; integers
# stored as float64, for the integer reference below
deep = Case("axis0_494x3001_chunked_own",
            rng_shapes.integers(-30000, 30000, (494, 3001)).astype(np.float64),
            ops=["count", "sum", "min", "max", "mean", "var"], pcts=None, axis=0, keep="own",
            dset_kw={"chunks": (1, 3001)})


with h5py.File(h.path("in.h5"), "w") as f:
    for c in cases + [repro, many, deep]:
        kw = dict(c.dset_kw)
        written = kw.pop("written", None)
        if kw.pop("unwritten", False):  # every value is the fill value
            f.create_dataset(c.dset, shape=c.data.shape, dtype=c.data.dtype,
                             fillvalue=c.data.flat[0], **kw)
        elif written:  # only these rows; the rest is the fill value, the data's first value
            d = f.create_dataset(c.dset, shape=c.data.shape, dtype=c.data.dtype,
                                 fillvalue=c.data.flat[0], **kw)
            for a, b in written:
                d[a:b] = c.data[a:b]
        else:
            f.create_dataset(c.dset, data=c.data, **kw)


# ---- references ------------------------------------------------------------------------------

def index_list(flat, shape):
    return [int(i) for i in np.unravel_index(int(flat), shape)]


def axis_reference(c):
    """name -> (kind, expected) for an axis reduction (nan = skip): exact values per line along
    c.axis, in numpy's result shape (scalars for a 1-D input)."""
    a = np.moveaxis(c.data.astype(np.float64), c.axis, -1)
    shape = a.shape[:-1]
    cols = {k: [] for k in c.ops}
    for line in a.reshape(int(np.prod(shape)), a.shape[-1]):
        v = line[~np.isnan(line)]
        n = int(v.size)
        s1, s2 = exact_sums(v)
        var = Fraction(n * s2 - s1 * s1, (n * (n - c.ddof)) << 2148) if n - c.ddof > 0 else None
        vals = {"count": n, "sum": rounded(Fraction(s1, 1 << 1074)),
                "min": float(v.min()) if n else nan, "max": float(v.max()) if n else nan,
                "mean": rounded(Fraction(s1, n << 1074)) if n else nan,
                "var": rounded(var) if var is not None else nan, "std": var,
                "l2": Fraction(s2, 1 << 2148)}
        for k in c.ops:
            cols[k].append(vals[k])
    ref = {"nan": ("int", int(np.isnan(c.data).sum()))}
    for k, col in cols.items():
        if k == "count":
            ref[k] = ("int", col[0]) if shape == () else ("ints", np.reshape(col, shape))
        elif k in ("std", "l2"):
            ref[k] = ("sqrt", col[0]) if shape == () else \
                ("sqrts", np.array(col, dtype=object).reshape(shape))
        else:
            ref[k] = ("exact", col[0]) if shape == () else ("floats", np.reshape(col, shape))
    return ref


def reference(c):
    """name -> (kind, expected[, tolerance]) for every result the job of case c asks for."""
    if c.axis is not None:
        return axis_reference(c)
    a = c.data.astype(np.float64)
    x = a.ravel()
    isnan = np.isnan(x)
    v = x[~isnan]
    n = int(v.size)
    nnan = int(isnan.sum())
    prop = c.nan == "propagate" and nnan > 0
    pinf, ninf = bool(np.isposinf(v).any()), bool(np.isneginf(v).any())
    ref = {"nan": ("int", nnan)}
    ops = set(c.ops)
    if "count" in ops:
        ref["count"] = ("int", n)
    if "sum" in ops or "mean" in ops:
        if prop or (pinf and ninf):
            s = nan
        elif pinf or ninf:
            s = inf if pinf else -inf
        else:
            s = rounded(Fraction(exact_sums(v)[0], 1 << 1074))
        if "sum" in ops:
            ref["sum"] = ("exact", s)
        if "mean" in ops:
            if prop or pinf or ninf or n == 0:
                ref["mean"] = ("exact", s / n if n else nan)
            else:
                ref["mean"] = ("exact", rounded(exact_moments(v, 0)[0]))
    for k, fn in (("min", np.min), ("max", np.max)):
        if k in ops:
            ref[k] = ("exact", nan if prop or n == 0 else float(fn(v)))
    if ops & {"var", "std"}:
        # var correctly rounded from the exact sums, std within 1 ulp of its exact square root,
        # also where squares or var exceed the largest double; NaN with infinities in the data
        if prop or n - c.ddof <= 0 or pinf or ninf:
            var = std = ("exact", nan)
        else:
            exact = exact_moments(v, c.ddof)[1]
            var, std = ("exact", rounded(exact)), ("sqrt", exact)
        for k, want in (("var", var), ("std", std)):
            if k in ops:
                ref[k] = want
    if "l2" in ops:
        if prop:
            ref["l2"] = ("exact", nan)
        elif pinf or ninf:
            ref["l2"] = ("exact", inf)
        else:
            ref["l2"] = ("sqrt", Fraction(exact_sums(v)[1], 1 << 2148))
    for k, fn in (("argmin", np.nanargmin), ("argmax", np.nanargmax)):
        if k in ops and n == 0 and not prop:  # no value to point at: one null per axis
            ref[k] = ("floats", [nan] * a.ndim)
        elif k in ops:
            # numpy's argmin/argmax without nan* return the first NaN, as propagate does
            flat = (np.argmin if k == "argmin" else np.argmax)(x) if prop else fn(x)
            ref[k] = ("ints", index_list(flat, a.shape))
    if "hist" in ops and n == 0 and c.range is None:  # no range to bin: the bins only
        ref["hist/bins"] = ("int", c.bins)
    elif "hist" in ops:
        lo, hi = c.range if c.range is not None else (float(v.min()), float(v.max()))
        with np.errstate(over="ignore", divide="ignore"):
            narrow = not np.isfinite(c.bins / np.float64(hi - lo)) and lo < hi
        if narrow:  # numpy cannot scale such a range (1.24 raises IndexError): by the edges
            edges = np.linspace(lo, hi, c.bins + 1)
            inside = v[(v >= lo) & (v <= hi)]
            counts = np.bincount(np.minimum(np.searchsorted(edges, inside, "right") - 1,
                                            c.bins - 1), minlength=c.bins)
        else:
            counts, edges = np.histogram(v, c.bins, range=(lo, hi))
        if lo == hi:  # numpy widens an empty range by 0.5 each way
            lo, hi = lo - 0.5, hi + 0.5
        ref["hist/bins"] = ("int", c.bins)
        ref["hist/range"] = ("floats", [lo, hi])
        ref["hist/edges"] = ("floats", edges)
        ref["hist/counts"] = ("ints", counts)
        ref["hist/below"] = ("int", int((v < lo).sum()))
        ref["hist/above"] = ("int", int((v > hi).sum()))
    if "median" in ops:
        ref["median"] = ("exact", nan if prop or n == 0 else float(np.median(v)))
    for q in c.pcts or ():
        ref[f"percentiles/{q}"] = ("exact", nan if prop or n == 0 else
                                   float(np.percentile(v, float(q))))
    return ref


def expected_top_keys(c):
    keys = set(c.ops) | {"nan"}
    if c.pcts:
        keys.add("percentiles")
    return keys


# ---- comparing -------------------------------------------------------------------------------

def same_float(g, w):
    g, w = float(g), float(w)
    if math.isnan(w):
        return math.isnan(g)
    return g == w  # == as numpy compares: -0.0 == 0.0


def judge(kind, got, want, tol=None):
    """(ok, description of the expectation)"""
    if kind == "int":
        ok = (isinstance(got, (int, np.integer)) and not isinstance(got, bool)
              and int(got) == want)
        return ok, f"{want}"
    if kind == "ints":
        g = np.asarray(got)
        want = np.asarray(want)
        ok = g.dtype.kind in "iu" and g.shape == want.shape and np.array_equal(g, want)
        return ok, (f"{want.tolist()}" if want.size <= 12 else f"numpy's {want.size} values")
    if kind == "floats":
        g = np.asarray(got)
        want = np.asarray(want, dtype=np.float64)
        ok = g.dtype == np.float64 and dh.same_bits(g, want)
        return ok, (f"{want.tolist()} bit-for-bit" if want.size <= 12
                    else f"numpy's {want.size} values bit-for-bit")
    if kind == "sqrts":  # want: an object array of exact Fractions (None: NaN expected)
        g = np.asarray(got)
        ok = g.dtype == np.float64 and g.shape == want.shape and all(
            math.isnan(gv) if w is None else judge("sqrt", gv, w)[0]
            for gv, w in zip(g.ravel().tolist(), want.ravel().tolist()))
        return ok, f"{want.size} values, each within 1 ulp of its exact square root"
    if not isinstance(got, (float, np.floating)):
        return False, f"a float64 ({want!r})"
    g = float(got)
    if kind == "exact":
        return same_float(g, want), f"{want!r} exactly"
    if kind == "rel":
        if not math.isfinite(want):
            return same_float(g, want), f"{want!r}"
        return abs(g - want) <= tol * abs(want), f"{want!r} within {tol:g} relative"
    if kind == "sqrt":  # want: an exact Fraction whose square root g should be within 1 ulp of
        if want is None:
            return math.isnan(g), "nan"
        return sqrt_within_ulp(g, want), \
            f"{exact_sqrt(want)!r} within 1 ulp of the exact square root"
    raise ValueError(kind)


def got_detail(got, want):
    g = np.asarray(got)
    if g.size <= 12:
        return f"got {g.tolist()!r} ({g.dtype})"
    w = np.asarray(want)
    if g.shape != w.shape:
        return f"got {g.size} values of shape {g.shape}, dtype {g.dtype}"
    bad = np.flatnonzero(g != w)
    i = int(bad[0]) if bad.size else 0
    return f"got {g.size} values, dtype {g.dtype}; {bad.size} differ, first at {i}: " \
        f"{g.ravel()[i]!r} vs {w.ravel()[i]!r}"


def flatten(obj, prefix=""):
    out = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "/"))
        else:
            out[key] = v
    return out


def read_h5_results(path, group):
    """dproc_complete and the flattened {name: value} of the datasets under group (None
    when there is no such group)."""
    with h5py.File(path, "r") as f:
        return int(f.attrs.get("dproc_complete", 0)), dh.h5_datasets(f, group)


def json_vs_h5(jflat, hflat):
    """Mismatches between the JSON results (NaN as null, Inf as "Infinity" or "-Infinity") and
    the HDF5 results."""
    bad = []
    if set(jflat) != set(hflat):
        bad.append(f"keys differ: JSON only {sorted(set(jflat) - set(hflat))}, "
                   f"HDF5 only {sorted(set(hflat) - set(jflat))}")
    for k in sorted(set(jflat) & set(hflat)):
        j, hv = jflat[k], np.asarray(hflat[k])
        jl = j if isinstance(j, list) else [j]
        hl = hv.ravel().tolist()
        if len(jl) != len(hl) or (hv.shape == () and isinstance(j, list)) or \
                (hv.shape != () and not isinstance(j, list)):
            bad.append(f"{k}: JSON {j!r} vs HDF5 shape {hv.shape}")
            continue
        for jv, hvv in zip(jl, hl):
            if hv.dtype.kind in "iu":
                ok = isinstance(jv, int) and jv == hvv
            elif jv is None:
                ok = math.isnan(hvv)
            elif isinstance(jv, str):
                ok = jv == dh.json_nonfinite(hvv) if math.isinf(hvv) else False
            else:
                ok = isinstance(jv, (int, float)) and float(jv) == hvv and (
                    float(jv) != 0 or isinstance(jv, int) or
                    math.copysign(1, jv) == math.copysign(1, hvv))
            if not ok:
                bad.append(f"{k}: JSON {j!r} vs HDF5 {hl!r}")
                break
    return bad


def literal_results(path):
    """The report's results with every number kept as the text dproc printed."""
    with open(path) as f:
        return json.load(f, parse_float=str, parse_int=str).get("results")


# ---- running ---------------------------------------------------------------------------------

def write_job(c, tag):
    out = {"path": f"{tag}.h5", "report": f"{tag}.json", "overwrite": "true"}
    if c.group:
        out["dataset"] = c.group
    if c.checksum:
        out["checksum"] = "true"
    sections = [("job", {"name": tag, "kernel": "reduce"}),
                ("input", {"source": "hdf5", "path": "in.h5", "dataset": c.dset}),
                ("reduce", c.reduce_keys()), ("output", out)]
    return h.write(f"{tag}.ini", dh.job_text(sections))


def run_case(c, threads, chunk=None, np_=None, ref=None):
    """Runs the job of case c and checks everything; returns the tag of the run or None."""
    np_ = h.np if np_ is None else np_
    tag = f"{c.name}_t{threads}" + (f"_c{chunk}" if chunk else "") + \
        (f"_np{np_}" if np_ != h.np else "")
    sets = [f"run.threads={threads}"] + ([f"run.chunk_mb={chunk}"] if chunk else [])
    what = f"{c.describe()} np {np_} threads {threads}" + (f" chunk_mb {chunk}" if chunk else "")
    if c.ops != ALL:
        what += f" ops {','.join(c.ops)}"
    if c.nan != "skip":
        what += f" nan {c.nan}"
    job = write_job(c, tag)
    res = h.dproc(job, sets=sets, opts=["-q"], np=np_)
    if not h.expect_ok(res, what):
        return None
    rep = dh.load_json(h.path(f"{tag}.json"))
    if not h.check(isinstance(rep, dict), f"{what}: report readable", rep):
        return None
    h.check(rep.get("status") == "ok" and rep.get("ranks") == np_ and
            rep.get("threads") == threads and rep.get("shape") == list(c.data.shape),
            f"{what}: report status ok, ranks {np_}, threads {threads}, shape",
            {k: rep.get(k) for k in ("status", "ranks", "threads", "shape")})
    jres = rep.get("results") or {}
    want_keys = expected_top_keys(c)
    h.check(set(jres) == want_keys, f"{what}: results are exactly {sorted(want_keys)}",
            sorted(jres))
    hpath = h.path(f"{tag}.h5")
    if not h.check(os.path.exists(hpath), f"{what}: HDF5 results file written", hpath):
        return None
    group = c.group or "/results"
    complete, hres = read_h5_results(hpath, group)
    h.check(complete == 1, f"{what}: dproc_complete == 1 in the results file", complete)
    if not h.check(hres is not None, f"{what}: group {group} in the results file"):
        return None
    bad = json_vs_h5(flatten(jres), hres)
    h.check(not bad, f"{what}: the JSON results equal the HDF5 results {group}/*",
            "\n".join(bad[:10]))
    # with keep = own rank 0 alone holds the values: every digest must be of what it wrote
    if c.keep == "own" or c.checksum:
        res = h.run(["verify", hpath], np=1, mpi=False)
        h.check(res.rc == 0 and "0 failed" in res.out,
                f"{what}: dproc verify finds every dataset's digest right", res.describe())
    ref = reference(c) if ref is None else ref
    for key, spec in ref.items():
        if key not in hres:
            h.check(False, f"{what}: {group}/{key} present", sorted(hres))
            continue
        ok, desc = judge(spec[0], hres[key], *spec[1:])
        h.check(ok, f"{what}: {key} == {desc}", got_detail(hres[key], spec[1]))
    return tag


for c in cases:
    ref = reference(c)
    for t in c.threads:
        run_case(c, t, ref=ref)

# the 4-D array read in several pieces per rank: pieces start inside blocks of the merged axes
run_case(nd4_big, 2, chunk=1)
run_case(nd5_chunked, 2, chunk=1)
run_case(nd5_axis, 2, chunk=1)
run_case(cols_case, 1, chunk=1)
run_case(cols_own, 2, chunk=1)


def many_reference(c):
    a = c.data.astype(np.int64)
    n = a.shape[0]
    s1, s2 = a.sum(axis=0), (a * a).sum(axis=0)
    var = (n * s2 - s1 * s1).astype(np.float64) / float(n * (n - c.ddof))  # both exact < 2^53
    return {"nan": ("int", 0), "count": ("ints", np.full(s1.shape, n)),
            "sum": ("floats", s1.astype(np.float64)), "min": ("floats", a.min(axis=0) * 1.0),
            "max": ("floats", a.max(axis=0) * 1.0),
            "mean": ("floats", s1.astype(np.float64) / n), "var": ("floats", var)}


run_case(deep, 1, chunk=1, ref=many_reference(deep))
if h.np > 1:
    run_case(many, 1, ref=many_reference(many))
else:
    what = f"{many.describe()} np 1"
    res = h.dproc(write_job(many, "many_np1"), opts=["-q"])
    h.check(res.rc == dh.EXIT_USAGE and not res.timed_out, f"{what}: refused, exit status 2",
            res.describe())
    h.check(re.search(r"\[reduce\] axis: reducing along axis 0 leaves 200000 values per op; .*"
                      r"use at least 2 ranks", res.err), f"{what}: says to use at least 2 ranks",
            res.err[:2000])
    h.check(not os.path.exists(h.path("many_np1.h5")), f"{what}: no results file")
all_many = Case(many.name, many.data, ops=["sum"], pcts=None, axis=0, keep="all")
res = h.dproc(write_job(all_many, "many_all"), opts=["-q"])
h.check(res.rc == dh.EXIT_USAGE and re.search(r"\[reduce\] axis: .*with keep = all .*use keep = "
                                              r"own or auto", res.err),
        f"{many.describe()} keep all np {h.np}: refused, exit status 2, pointing to keep",
        res.describe())
# a map kernel's then_reduce keeps every output on every rank: the same size is refused there
then_job = h.write("then_many.ini", dh.job_text([
    ("job", {"name": "then_many", "kernel": "map"}),
    ("input", {"source": "generate", "shape": "3, 200000"}),
    ("map", {"op": "abs", "then_reduce": "sum"}), ("reduce", {"axis": 0}),
    ("output", {"path": "then_many.h5"})]))
res = h.dproc(then_job, opts=["-q"])
h.check(res.rc == dh.EXIT_USAGE and re.search(
    r"\[reduce\] axis: reducing along axis 0 leaves 200000 values per op, more than one rank may "
    r"keep", res.err) and not os.path.exists(h.path("then_many.h5")),
    f"then_reduce along axis 0 of 3x200000 np {h.np}: refused, exit status 2, no output",
    res.describe())
if h.np > 1:  # 1d cuts the axis every rank must keep whole
    res = h.dproc(write_job(many, "many_1d"), sets=["run.decomposition=1d"], opts=["-q"])
    h.check(res.rc == dh.EXIT_USAGE and re.search(
        r"\[run\] decomposition: 1d splits axis 0 over \d+ ranks, and this job keeps it whole",
        res.err), f"{many.describe()} decomposition 1d np {h.np}: refused, exit status 2",
        res.describe())

# ---- 5. nan = error --------------------------------------------------------------------------

e1 = rng.standard_normal((5, 7))
e1.flat[[0, 17, 34]] = nan
e2 = rng.standard_normal((301, 257))
e2[300, [5, 200]] = nan  # only in the last rank's block
with h5py.File(h.path("in.h5"), "a") as f:
    f["/d/nan_error"] = e1
    f["/d/nan_error_last"] = e2
for name, data, nnan, threads in (("nan_error", e1, 3, 1), ("nan_error_last", e2, 2, 2)):
    c = Case(name, data, nan_policy="error")
    what = f"{c.describe()} ({nnan} NaN) np {h.np} threads {threads} nan error"
    job = write_job(c, name)
    res = h.dproc(job, sets=[f"run.threads={threads}"], opts=["-q"])
    h.check(res.rc == dh.EXIT_RUNTIME and not res.timed_out, f"{what}: exit status 1",
            res.describe())
    lines = [l for l in res.err.splitlines() if re.search(r"\bnan\b", l, re.I)]
    h.check(lines, f"{what}: stderr mentions NaN", res.err[:2000])
    h.check(any(re.search(rf"\b{nnan}\b", l) for l in lines),
            f"{what}: the NaN message gives the count {nnan}", lines)
    h.check(not os.path.exists(h.path(f"{name}.h5")), f"{what}: no results file")
    h.check_no_leftovers(what)

# ---- 2. reproducibility ----------------------------------------------------------------------

rjob = write_job(repro, "repro_dry")
dry = h.dproc(rjob, sets=["run.chunk_mb=1"], opts=["--dry-run"])
m = re.search(r"^reads: up to (\d+) piece", dry.out, re.M)
pieces = int(m.group(1)) if m else 0
h.check(dry.rc == 0 and pieces > 1, f"repro: chunk_mb = 1 plans several read pieces per rank at "
        f"np {h.np} (got {pieces})", dry.describe())
rref = reference(repro)
runs = [(t, cm, h.np) for cm in (1, 64) for t in (1, 2)]
if h.np > 1:
    runs.append((2, 1, 1))
tags = {}
for t, cm, npr in runs:
    tag = run_case(repro, t, chunk=cm, np_=npr, ref=rref)
    if tag:
        tags[(t, cm, npr)] = tag
h.check(len(tags) == len(runs), f"repro: all {len(runs)} runs succeeded", sorted(tags))
if tags:
    base_key = (1, 64, h.np) if (1, 64, h.np) in tags else sorted(tags)[0]
    base = tags[base_key]
    blit = literal_results(h.path(f"{base}.json"))
    _, bh5 = read_h5_results(h.path(f"{base}.h5"), "/results")
    for key, tag in sorted(tags.items()):
        if key == base_key:
            continue
        lit = literal_results(h.path(f"{tag}.json"))
        fb, fl = flatten(blit), flatten(lit)
        diff = [f"{k}: {fl.get(k)!r} vs {fb.get(k)!r}" for k in sorted(set(fb) | set(fl))
                if fb.get(k) != fl.get(k)]
        label = f"threads {key[0]} chunk_mb {key[1]} np {key[2]}"
        blabel = f"threads {base_key[0]} chunk_mb {base_key[1]} np {base_key[2]}"
        h.check(not diff, f"repro: JSON results of {label} print the same digits as {blabel}",
                "\n".join(diff[:10]))
        _, th5 = read_h5_results(h.path(f"{tag}.h5"), "/results")
        hdiff = []
        for k in sorted(set(bh5) | set(th5)):
            a_, b_ = np.asarray(bh5.get(k)), np.asarray(th5.get(k))
            same = (a_.shape == b_.shape and a_.dtype == b_.dtype and
                    a_.tobytes() == b_.tobytes())
            if not same:
                hdiff.append(f"{k}: {b_.ravel()[:4]!r} vs {a_.ravel()[:4]!r}")
        h.check(not hdiff, f"repro: HDF5 results of {label} have the same bits as {blabel}",
                "\n".join(hdiff[:10]))
        for k in ("sum", "mean", "var", "std", "l2"):
            a_, b_ = bh5.get(k), th5.get(k)
            h.check(a_ is not None and b_ is not None and
                    struct.pack("<d", float(a_)) == struct.pack("<d", float(b_)),
                    f"repro: {k} of {label} has the bits of {blabel}", f"{b_!r} vs {a_!r}")

h.check_no_leftovers("all reduce runs")
h.finish()
