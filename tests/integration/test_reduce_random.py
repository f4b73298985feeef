#!/usr/bin/python3
"""Integration test: kernel reduce on random awkward datasets against exact references. Each
case draws a type (float64, float32, signed and unsigned integers of 8 to 64 bits; float16 and
bool, which dproc reads through a conversion, in cases of their own after those), a shape of
one to three axes (and, in cases of their own after those, scalars, 4 to 6 axes and empty
arrays), its values (normal, exponents across the whole range, far from zero, signed zeros,
small integers, tiny and subnormal, cancelling pairs of huge values, constants) with
NaN and +-Inf among them, a subset of the ops, ddof, the NaN policy (skip or propagate), bins,
a range or none, percentiles, and a layout: 1 to --np ranks, 1 or 2 threads, chunk_mb 1, 2 or
64. Checks count and NaN count, sum, mean and var correctly rounded from exact integer sums,
std and l2 within 1 ulp of the exact square roots, and min, max, argmin, argmax, median,
percentiles and histogram counts as numpy gives them. The seed is fixed: every run draws the
same cases."""

import math
import warnings
from fractions import Fraction

import h5py
import numpy as np

import dp_harness as dh
from dp_exact import exact_sums, rounded, sqrt_within_ulp

h = dh.Harness("reduce_random", __doc__)
rng = np.random.default_rng(20261203)
warnings.simplefilter("ignore", RuntimeWarning)
TRIALS = 40
# float16 and bool cases, after the others and drawn from a generator of their own, so that the
# cases above stay what they were
EXTRA = ["float16", "bool", "float16", "bool", "float16", "bool"]
rng_extra = np.random.default_rng(20261204)
# scalars, arrays of 4 to 6 axes and empty arrays (reduced whole; the leading axes merged as
# read), after those and from a generator of their own
SHAPED = 10
rng_shaped = np.random.default_rng(20261206)
OPS = ["count", "sum", "min", "max", "mean", "var", "std", "l2", "argmin", "argmax", "hist",
       "median"]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
nan, inf = math.nan, math.inf


def draw_values(n, r=None):
    """n float64 values of one of eight kinds, with NaN and infinities sometimes (from r, by
    default the cases' generator)."""
    r = rng if r is None else r
    kind = int(r.integers(0, 8))
    if kind == 0:
        x = r.standard_normal(n)
    elif kind == 1:
        x = r.standard_normal(n) * 10.0 ** r.uniform(-300, 300, n)
    elif kind == 2:
        x = 1e10 + r.standard_normal(n) * 1e-4
    elif kind == 3:
        x = np.where(r.random(n) < 0.5, -0.0, 0.0)
    elif kind == 4:
        x = r.integers(-3, 3, n).astype(np.float64)
    elif kind == 5:
        scale = float(r.choice([1e-310, 1e-300, 1e-200, 1e-160, 2.0**-470, 2.0**-455]))
        x = r.standard_normal(n) * scale + (float(r.choice([1e-150, 3e-139]))
                                               if r.random() < 0.3 else 0.0)
    elif kind == 6:
        k = n // 2
        big = r.standard_normal(k) * 10.0 ** r.uniform(0, 300, k)
        x = r.permutation(np.concatenate([big, -big, r.standard_normal(n - 2 * k)]))
    else:
        x = np.full(n, float(r.choice([1e-320, 0.1, 3.0, 1e300, -7.5])))
    m = r.random(n)
    if r.random() < 0.4:
        x[m < 0.02] = nan
    if r.random() < 0.2:
        x[(m > 0.5) & (m < 0.505)] = inf
    if r.random() < 0.2:
        x[(m > 0.6) & (m < 0.605)] = -inf
    return x


def draw_case():
    dt = str(rng.choice(["float64"] * 3 + ["float32"] + INTS))
    shape = tuple(int(rng.choice([1, 2, 3, 7, 16, 31, 64, 100, 257, 1000]))
                  for _ in range(int(rng.integers(1, 4))))
    while np.prod(shape) > 300000:
        shape = shape[1:]
    n = int(np.prod(shape))
    if dt in INTS:
        info = np.iinfo(dt)
        lo, hi = (info.min, info.max) if rng.random() < 0.5 else (max(info.min, -5), min(info.max, 5))
        x = rng.integers(lo, hi, n, dtype=dt, endpoint=True)
    else:
        with np.errstate(over="ignore"):
            x = draw_values(n).astype(dt)
    return x.reshape(shape)


def draw_extra(dt):
    """Values of type dt (float16 or bool) in a shape of one to three axes: halves of every
    magnitude, subnormals and the largest included, NaN and infinities sometimes."""
    r = rng_extra
    shape = tuple(int(r.choice([1, 3, 16, 100, 257, 1000])) for _ in range(int(r.integers(1, 4))))
    while np.prod(shape) > 300000:
        shape = shape[1:]
    n = int(np.prod(shape))
    if dt == "bool":
        return (r.random(n) < r.uniform(0, 1)).reshape(shape)
    x = r.standard_normal(n) * 10.0 ** r.uniform(-8, 4.8, n)
    m = r.random(n)
    x[m < 0.01] = 65504.0
    x[(m > 0.1) & (m < 0.11)] = -65504.0
    if r.random() < 0.4:
        x[(m > 0.2) & (m < 0.22)] = nan
    if r.random() < 0.2:
        x[(m > 0.5) & (m < 0.505)] = inf
    with np.errstate(over="ignore"):
        return x.astype(np.float16).reshape(shape)


def draw_shaped():
    """(values, dataset keywords): a scalar, an array of 4 to 6 axes (chunked or not) or an
    empty array of 1 to 5 axes, of a float or integer type."""
    r = rng_shaped
    kind = int(r.integers(0, 5))
    if kind == 0:
        shape = ()
    elif kind == 1:
        shape = tuple(int(r.choice([0, 1, 3, 4])) for _ in range(int(r.integers(1, 6))))
        shape = shape if 0 in shape else (0,) + shape
    else:
        shape = tuple(int(r.choice([1, 2, 3, 5, 7, 16])) for _ in range(int(r.integers(4, 7))))
        while np.prod(shape) > 200000:
            shape = tuple(max(1, e // 2) for e in shape)
    n = int(np.prod(shape))
    dt = str(r.choice(["float64", "float32", "int16", "uint64"]))
    if dt.startswith("float"):
        with np.errstate(over="ignore"):
            x = draw_values(n, r).astype(dt)
    else:
        info = np.iinfo(dt)
        x = r.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    kw = {}
    if shape and r.random() < 0.4:
        kw = {"chunks": tuple(int(r.integers(1, max(e, 1) + 1)) for e in shape),
              "maxshape": tuple(None for _ in shape)}
    return x.reshape(shape), kw


def hist_range(f):
    """(lo, hi) for the job's range key, or None for the data's own (only where numpy's own
    histogram can bin that range)."""
    fin = f[np.isfinite(f)]
    if fin.size and rng.random() < 0.5:
        lo, hi = float(fin.min()), float(fin.max())
        if 0 < hi - lo < 1e300 and np.isfinite(1000 / np.float64(hi - lo)) and fin.size == f.size:
            return None
    return (-2.0, 3.0)


def results_of(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f["results"].visititems(visit)
    return out


def same(g, w):
    return (math.isnan(g) and math.isnan(w)) or g == w


def check_case(what, x, ops, ddof, policy, bins, rng_, pcts, got):
    a = x.astype(np.float64)
    v = a.ravel()
    isnan = np.isnan(v)
    f = v[~isnan]
    n = int(f.size)
    prop = policy == "propagate" and bool(isnan.any())
    pinf, ninf = bool(np.isposinf(f).any()), bool(np.isneginf(f).any())
    fin = f[np.isfinite(f)]
    s1, s2 = exact_sums(fin)
    want = {"nan": int(isnan.sum())}
    if "count" in ops:
        want["count"] = n
    if "sum" in ops:
        want["sum"] = nan if prop or (pinf and ninf) else inf if pinf else -inf if ninf \
            else rounded(Fraction(s1, 1 << 1074))
    if "mean" in ops:
        want["mean"] = nan if prop or n == 0 or (pinf and ninf) else inf if pinf else \
            -inf if ninf else rounded(Fraction(s1, n << 1074))
    for k in ("min", "max"):
        if k in ops:
            want[k] = nan if prop or n == 0 else float(getattr(f, k)())
    var = None
    if not (prop or pinf or ninf) and n - ddof > 0:
        var = Fraction(n * s2 - s1 * s1, (n * (n - ddof)) << 2148)
    if "var" in ops:
        want["var"] = nan if var is None else rounded(var)
    if "median" in ops:
        want["median"] = nan if prop or n == 0 else float(np.median(f))
    for q in pcts:
        want[f"percentiles/{q}"] = nan if prop or n == 0 else float(np.percentile(f, float(q)))
    for k, w in want.items():
        g = got.get(k)
        ok = g is not None and (int(g) == w if isinstance(w, int) else same(float(g), w))
        h.check(ok, f"{what}: {k} == {w!r}", repr(g))
    if "std" in ops:
        g = float(got.get("std", nan))
        ok = math.isnan(g) if var is None else sqrt_within_ulp(g, var)
        h.check(ok, f"{what}: std within 1 ulp of the exact square root", repr(g))
    if "l2" in ops:
        g = float(got.get("l2", nan))
        if prop:
            ok = math.isnan(g)
        elif pinf or ninf:
            ok = g == inf
        else:
            ok = sqrt_within_ulp(g, Fraction(s2, 1 << 2148))
        h.check(ok, f"{what}: l2 within 1 ulp of the exact square root of S2", repr(g))
    for k, fn in (("argmin", np.nanargmin), ("argmax", np.nanargmax)):
        if k in ops and n:
            flat = (np.argmin if k == "argmin" else np.argmax)(v) if prop else fn(v)
            w = [int(i) for i in np.unravel_index(int(flat), a.shape)]
            g = [int(i) for i in np.atleast_1d(got.get(k, []))]
            h.check(g == w, f"{what}: {k} == {w}", repr(g))
    if "hist" in ops and n:
        lo, hi = rng_ if rng_ is not None else (float(f.min()), float(f.max()))
        counts, _ = np.histogram(f[(f >= lo) & (f <= hi)], bins, range=(lo, hi))
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        g = np.asarray(got.get("hist/counts", []))
        h.check(g.tolist() == counts.tolist(), f"{what}: histogram counts as numpy's",
                f"{g[:8]} vs {counts[:8]}")
        g = (int(got.get("hist/below", -1)), int(got.get("hist/above", -1)))
        w = (int((f < lo).sum()), int((f > hi).sum()))
        h.check(g == w, f"{what}: below, above == {w}", repr(g))


with h5py.File(h.path("in.h5"), "w") as fh:
    cases = []
    for t in range(TRIALS):
        x = draw_case()
        fh[f"/c{t}"] = x
        cases.append(x)
    for t, dt in enumerate(EXTRA, TRIALS):
        x = draw_extra(dt)
        fh[f"/c{t}"] = x
        cases.append(x)
    for t in range(TRIALS + len(EXTRA), TRIALS + len(EXTRA) + SHAPED):
        x, kw = draw_shaped()
        fh.create_dataset(f"/c{t}", data=x, **kw)
        cases.append(x)

for t, x in enumerate(cases):
    ops = [o for o in OPS if rng.random() < 0.7] or ["sum"]
    ddof = int(rng.integers(0, 2))
    policy = str(rng.choice(["skip", "skip", "propagate"]))
    bins = int(rng.choice([1, 2, 5, 64, 256, 1000]))
    pcts = sorted({repr(float(q)).removesuffix(".0") for q in
                   rng.choice([0, 1, 5, 25, 50, 75, 90, 99, 99.9, 100], int(rng.integers(0, 4)))})
    f = x.astype(np.float64).ravel()
    f = f[~np.isnan(f)]
    rng_ = hist_range(f) if "hist" in ops else None
    npr, threads, chunk = int(rng.integers(1, h.np + 1)), int(rng.integers(1, 3)), \
        int(rng.choice([1, 2, 64]))
    red = {"ops": ",".join(ops), "ddof": ddof, "nan": policy}
    if "hist" in ops:
        red["bins"] = bins
        if rng_ is not None:
            red["range"] = f"{rng_[0]!r}, {rng_[1]!r}"
    if pcts:
        red["percentiles"] = ", ".join(pcts)
    tag = f"c{t}"
    job = h.write(f"{tag}.ini", dh.job_text([
        ("job", {"name": tag, "kernel": "reduce"}),
        ("input", {"source": "hdf5", "path": "in.h5", "dataset": f"/c{t}"}),
        ("reduce", red),
        ("output", {"path": f"{tag}.h5"})]))
    what = (f"case {t} {x.dtype}{list(x.shape)} ops {','.join(ops)} ddof {ddof} nan {policy} "
            f"np {npr} threads {threads} chunk_mb {chunk}")
    res = h.dproc(job, sets=[f"run.threads={threads}", f"run.chunk_mb={chunk}"], opts=["-q"],
                  np=npr)
    if h.expect_ok(res, what):
        check_case(what, x, ops, ddof, policy, bins, rng_, pcts, results_of(h.path(f"{tag}.h5")))

h.finish()
