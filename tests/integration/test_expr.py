#!/usr/bin/python3
"""Integration test: kernel expr at the given rank count, 1 and 2 threads.

1. Formulas over a 3-D HDF5 array of awkward values (signed zeros, subnormals, 1e308, infinities,
   NaN, negatives): arithmetic (+ - * /, comparisons, logic, where, fmin/fmax, the index i)
   equal numpy's element-wise result to the bit; library functions (sqrt, exp, log1p, atan2, sin,
   cos, tanh, erf, hypot, cbrt, pow, fmod) are within 1 ulp of the C library's function called
   per element from Python (ctypes), the formula itself evaluated here in Python.
2. Every run gives the same bits at 1 and 2 threads (and, across the registered tests, at 1 to 3
   ranks: each compares with the same reference). dtype = int16 rounds as numpy's rint + clip
   (NaN to 0); then_reduce sums exactly what was written (math.fsum).
3. Bad formulas exit 2 with `JOB.ini:LINE:COL: [expr] y: ...` pointing at the offending column of
   the job-file line (also inside quotes), followed by the line and a caret; a --set override
   names the character of the value; bad, unused and reserved constants name their own key."""

import ctypes
import math

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("expr", __doc__)
libm = ctypes.CDLL("libm.so.6")
for name in ("sqrt", "exp", "log1p", "sin", "cos", "tanh", "erf", "cbrt", "fabs"):
    getattr(libm, name).restype = ctypes.c_double
    getattr(libm, name).argtypes = [ctypes.c_double]
for name in ("atan2", "hypot", "pow", "fmod"):
    getattr(libm, name).restype = ctypes.c_double
    getattr(libm, name).argtypes = [ctypes.c_double, ctypes.c_double]

rng = np.random.default_rng(20261202)
SHAPE = (9, 17, 23)
x = rng.standard_normal(SHAPE) * np.exp(rng.uniform(-3, 3, SHAPE))
special = [0.0, -0.0, 5e-324, -2.2e-310, 1e308, -1e308, np.inf, -np.inf, np.nan, 1.0, -1.0,
           0.5, 0.7, 2.0, 1e-300, 710.0, -745.5]
x.flat[:len(special)] = special
x.flat[rng.choice(x.size - 40, 30, replace=False) + 40] = np.nan
with h5py.File(h.path("x.h5"), "w") as f:
    f["x"] = x
h.guard_inputs([h.path("x.h5")])
X = x.ravel()
I = np.arange(X.size, dtype=np.float64)
A, B, C = 2.5, -1.0, 0.25


def per_element(f):
    """The formula f(x, i) evaluated in Python per element."""
    return np.array([f(float(v), float(k)) for v, k in zip(X, I)]).reshape(SHAPE)


ARITH = [  # (formula, constants, numpy reference)
    ("a*x + b", "ab", lambda: A * x + B),
    ("(x - 1) * (x + 1) / (x*x + 3)", "", lambda: (x - 1) * (x + 1) / (x * x + 3)),
    ("-x^2 + x/a", "a", lambda: -(x * x) + x / A),
    ("where(x > 0.5, x, -x)", "", lambda: np.where(x > 0.5, x, -x)),
    ("(x >= 0 && x < 1) || x != x", "", lambda: ((x >= 0) & (x < 1) | (x != x)) * 1.0),
    ("!(x <= c) * 3 - (x == 0)", "c", lambda: (~(x <= C)) * 3.0 - (x == 0)),
    ("min(x, c) + max(x, -c)", "c", lambda: np.fmin(x, C) + np.fmax(x, -C)),
    ("i * 0.5 + x", "", lambda: I.reshape(SHAPE) * 0.5 + x),
    ("where(x, 1, 2) + pi", "", lambda: np.where(x != 0, 1.0, 2.0) + math.pi),
]
LIBM = [
    ("sqrt(x*x + 1) * a", "a", lambda v, k: libm.sqrt(v * v + 1) * A),
    ("exp(-x*x/2)", "", lambda v, k: libm.exp(-v * v / 2)),
    ("log1p(abs(x))", "", lambda v, k: libm.log1p(libm.fabs(v))),
    ("atan2(x, a)", "a", lambda v, k: libm.atan2(v, A)),
    ("sin(x) * cos(x)", "", lambda v, k: libm.sin(v) * libm.cos(v)),
    ("tanh(x) + erf(x)", "", lambda v, k: libm.tanh(v) + libm.erf(v)),
    ("hypot(x, 1) - cbrt(x)", "", lambda v, k: libm.hypot(v, 1) - libm.cbrt(v)),
    ("x^3 + x % 0.7", "", lambda v, k: libm.pow(v, 3) + libm.fmod(v, 0.7)),
]
CONSTS = {"a": A, "b": B, "c": C}


def job(formula, consts, extra=None, out="y.h5"):
    sec = {"y": formula, **{k: repr(CONSTS[k]) for k in consts}, **(extra or {})}
    return dh.job_text({
        "job": {"kernel": "expr"},
        "input": {"source": "hdf5", "path": "x.h5", "dataset": "/x"},
        "expr": sec,
        "output": {"path": out, "dataset": "/y", "overwrite": "true", "report": "y.json"},
        "run": {"threads": 1},
    })


def run(formula, consts, extra=None):
    """Runs the formula at 1 and 2 threads; returns the output (None on failure) and report."""
    got = []
    for threads in (1, 2):
        h.write("e.ini", job(formula, consts, extra))
        res = h.dproc("e.ini", sets=[f"run.threads={threads}"])
        if not h.expect_ok(res, f"y = {formula} ({threads} threads)"):
            return None, None
        with h5py.File(h.path("y.h5"), "r") as f:
            got.append(f["y"][()])
    h.check(got[0].dtype == got[1].dtype and got[0].tobytes() == got[1].tobytes(),
            f"y = {formula}: same bits at 1 and 2 threads")
    return got[0], dh.load_json(h.path("y.json"))


def ulps(got, want):
    """Largest distance in ulps of want; NaN and infinities must match exactly."""
    same_nan = np.isnan(got) == np.isnan(want)
    inf = np.isinf(want) | np.isinf(got)
    same_inf = np.where(inf, got == want, True)
    if not (same_nan.all() and same_inf.all()):
        return math.inf
    fin = np.isfinite(want)
    if not fin.any():
        return 0.0
    return float(np.max(np.abs(got[fin] - want[fin]) / np.spacing(np.abs(want[fin]))))


for formula, consts, ref in ARITH:
    got, _ = run(formula, consts)
    if got is not None:
        with np.errstate(all="ignore"):
            want = ref()
        nan = np.isnan(want)  # NaN is NaN: its sign and payload carry no meaning
        h.check(np.array_equal(np.isnan(got), nan) and
                dh.same_bits(np.where(nan, 0.0, got), np.where(nan, 0.0, want)),
                f"y = {formula}: numpy's values to the bit (NaN where numpy's is NaN)",
                dh.bits_mismatch(got, want))

for formula, consts, ref in LIBM:
    got, _ = run(formula, consts)
    if got is not None:
        want = per_element(ref)
        d = ulps(got, want)
        h.check(d <= 1.0, f"y = {formula}: within 1 ulp of libm per element (max {d:g})")

got, rep = run("x * 300", "", {"dtype": "int16"})
if got is not None:
    with np.errstate(all="ignore"):
        want = np.clip(np.rint(x * 300), -32768, 32767)
    want[np.isnan(want)] = 0
    h.check(got.dtype == np.int16 and np.array_equal(got, want.astype(np.int16)),
            "dtype = int16: numpy's rint, clip to the type's limits, NaN to 0")

got, rep = run("where(x != x || abs(x) == inf, 0, x) * c", "c", {"then_reduce": "sum,max,count"})
if got is not None:
    res = rep.get("results", {}) if isinstance(rep, dict) else {}
    vals = [float(v) for v in got.ravel()]
    h.check(res.get("sum") == math.fsum(vals) and res.get("max") == max(vals) and
            res.get("count") == len(vals),
            "then_reduce: the exact sum, max and count of the values written", res)
h.check_inputs("expr runs")

# ---- errors: the column of the job-file line ---------------------------------------------------


def expect_error(what, text, line, col, want, sets=()):
    h.write("bad.ini", text)
    res = h.dproc("bad.ini", sets=sets)
    head = f"bad.ini:{line}:{col}: [expr] y: " if col else f"bad.ini:{line}: [expr] "
    lines = res.err.splitlines()
    first = [i for i, l in enumerate(lines) if l.startswith(head)]
    ok = res.rc == 2 and len(first) == 1 and want in lines[first[0]]
    if ok and col:  # the job-file line, then the caret under the column
        src = text.split("\n")[line - 1]
        ok = (first[0] + 2 < len(lines) and lines[first[0] + 1] == "    " + src and
              lines[first[0] + 2] == "    " + " " * (col - 1) + "^")
    h.check(ok, f"{what}: exit 2, '{head}{want}' with the line and a caret", res.describe())


def col_of(text, line, needle):
    return text.split("\n")[line - 1].index(needle) + 1


for formula, col, want in [  # the column within the formula, counted by hand
        ("sqrt(x*x + 1) * q", 17, "unknown name 'q'"),
        ("sqrt(x, 2)", 1, "sqrt takes 1 argument, not 2"),
        ("2 * (x + 1", 5, "'(' is never closed"),
        ("x + * 2", 5, ""),
        ("sqr(x) + 1", 1, "did you mean 'sqrt'?"),
        ("x 2", 3, "expected an operator")]:
    text = job(formula, "")
    line = dh.line_of(text, "y = ")
    expect_error(f"y = {formula}", text, line, col_of(text, line, formula) + col - 1, want)
text = job("x", "").replace("y = x", 'y = "x + $"   ; quoted')
line = dh.line_of(text, "y = ")
expect_error("a quoted formula", text, line, col_of(text, line, "$"), "")
h.write("bad.ini", job("x", ""))
res = h.dproc("bad.ini", sets=["expr.y=x+*2"])
h.check(res.rc == 2 and "--set expr.y=x+*2: [expr] y: " in res.err and
        "(at character 3 of the value)" in res.err,
        "--set expr.y=x+*2: exit 2, names character 3 of the value", res.describe())
text = job("x + a", "ab")
expect_error("unused constant b", text, dh.line_of(text, "b = "), 0,
             "b: a constant that y does not use")
text = job("x", "").replace("y = x", "y = x\nx = 2")
expect_error("a constant named x", text, dh.line_of(text, "x = 2"), 0,
             "x: names a variable of the formula")
text = job("x * k", "").replace("y = x * k", "y = x * k\nk = abc")
expect_error("a constant that is not a number", text, dh.line_of(text, "k = "), 0,
             "k: 'abc' is not a number")
text = job("x", "").replace("y = x", "y = x\n2k = 1")
expect_error("a key that is not a name", text, dh.line_of(text, "2k = "), 0, "2k: not a name")
h.check_inputs("expr errors")
h.check_no_leftovers("all runs")
h.finish()
