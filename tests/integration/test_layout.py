#!/usr/bin/python3
"""Integration test: generator = random gives the same results at every layout. A copy of
random data and the reduce of the same data are identical to the bit for 1 to 4 ranks, 1 or 2
threads and decompositions auto and 1d; the reduce results also agree with numpy on the copied
data (count, nan, min, max exactly; sum and mean within the rounding bound). The values lie in
[0, 1) with a mean near 0.5, and another seed gives other data. This test loops over the rank
counts itself; --np is the largest count it uses (at least 4)."""

import math

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("layout", __doc__)
SHAPE = (37, 23, 11)  # extents no rank count from 2 to 4 divides evenly
SEED = 42
max_np = max(h.np, 4)


def job(kernel, name, seed=SEED, shape=SHAPE):
    text = dh.job_text([
        ("job", {"name": name, "kernel": kernel}),
        ("input", {"source": "generate", "shape": ",".join(map(str, shape)),
                   "generator": "random", "seed": seed}),
        ("output", {"path": f"{name}.h5", "report": f"{name}.json"})])
    return h.write(f"{name}.ini", text)


def copy_run(name, np_, sets, seed=SEED, shape=SHAPE):
    res = h.dproc(job("copy", name, seed, shape), sets=sets, np=np_)
    if not h.expect_ok(res, f"copy {name}"):
        return None
    with h5py.File(h.path(f"{name}.h5"), "r") as f:
        return f["/data"][()]


layouts = [(n, t, d) for n in range(1, max_np + 1) for t in (1, 2) for d in ("auto",)]
layouts += [(3, 2, "1d"), (4, 1, "1d")]

# ---- copies ----------------------------------------------------------------------------------

first = None
for n, t, d in layouts:
    name = f"copy_np{n}_t{t}_{d}"
    data = copy_run(name, n, [f"run.threads={t}", f"run.decomposition={d}"])
    if data is None:
        continue
    if first is None:
        first = (name, data)
        h.check(data.shape == SHAPE and data.dtype == np.float64,
                f"{name}: float64{list(SHAPE)}", (data.shape, data.dtype))
        h.check(np.all((data >= 0.0) & (data < 1.0)), f"{name}: all values in [0, 1)",
                (data.min(), data.max()))
        sigma = math.sqrt(1.0 / 12.0 / data.size)
        h.check(abs(data.mean() - 0.5) < 6 * sigma,
                f"{name}: mean {data.mean():.5f} within 6 sigma ({6 * sigma:.5f}) of 0.5")
        h.check(len(np.unique(data)) > 0.999 * data.size, f"{name}: values are distinct")
    else:
        h.check(dh.same_bits(data, first[1]),
                f"{name}: identical bits to {first[0]}", dh.bits_mismatch(data, first[1]))

other = copy_run("copy_seed7", 2, ["run.threads=2"], seed=7)
if other is not None and first is not None:
    h.check(np.mean(other == first[1]) < 0.001, "seed 7 gives other values than seed 42")

# ---- reduce ----------------------------------------------------------------------------------

ref = dh.reduce_reference(first[1]) if first is not None else None
first_reduce = None
for n, t, d, again in [(*l, "") for l in layouts] + [(3, 2, "auto", "_again")]:
    name = f"reduce_np{n}_t{t}_{d}{again}"  # the last one repeats a layout
    res = h.dproc(job("reduce", name), sets=[f"run.threads={t}", f"run.decomposition={d}"],
                  np=n)
    if not h.expect_ok(res, name):
        continue
    rep = dh.load_json(h.path(f"{name}.json"))
    if not h.check(isinstance(rep, dict) and rep.get("status") == "ok" and
                   rep.get("ranks") == n and rep.get("threads") == t,
                   f"{name}: report status ok, ranks {n}, threads {t}", rep):
        continue
    with h5py.File(h.path(f"{name}.h5"), "r") as f:  # exact values (the report rounds)
        r = {k: v[()] for k, v in f["/results"].items()}
    if ref is not None:
        for k in ("count", "nan"):
            h.check(int(r.get(k, -1)) == ref[k], f"{name}: {k} == {ref[k]}", r.get(k))
        for k in ("min", "max"):
            h.check(float(r.get(k, math.nan)) == ref[k],
                    f"{name}: {k} == {ref[k]!r} exactly (the copied data's)", r.get(k))
        for k in ("sum", "mean"):
            h.check(dh.close(r.get(k), ref[k], ref[f"{k}_tol"]),
                    f"{name}: {k} == {ref[k]!r} +- {ref[f'{k}_tol']:.2g}", r.get(k))
    if first_reduce is None:
        first_reduce = (name, r)
    else:
        same = {k: np.asarray(r.get(k)).tobytes() == np.asarray(v).tobytes()
                for k, v in first_reduce[1].items()}
        h.check(set(r) == set(first_reduce[1]) and all(same.values()),
                f"{name}: results identical to the bit to {first_reduce[0]}",
                {k: (r.get(k), first_reduce[1][k]) for k, ok in same.items() if not ok})

h.check_no_leftovers("all layout runs")
h.finish()
