#!/usr/bin/python3
"""Integration test: kernel reduce over HDF5 datasets of awkward shapes and every element type,
against numpy references (count, nan, min, max exactly; sum and mean within n*eps*sum|x| of
the exact math.fsum), at the given rank count with 1 and 2 threads, several read pieces
(chunk_mb = 1) and each valid decomposition. Also checks the JSON report and the HDF5 results
file of every run."""

import math
import os

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("reduce_hdf5", __doc__)
rng = np.random.default_rng(20240611)

AWKWARD = [(1,), (7,), (13, 1), (5, 7), (3, 4, 5), (1, 1, 9)]
BIG = (301, 257)
DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64"]
ALL_OPS = ("count", "sum", "min", "max", "mean")


def values(dtype, shape):
    """Values spanning the type: its extremes (integers), negatives where the type has them."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind in "iu":
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
        if n == 1:
            x[0] = info.min if dt.kind == "i" else info.max
        else:
            x[0], x[-1] = info.min, info.max
            if dt.kind == "i" and n > 2:
                x[1] = -1
    else:
        x = (rng.standard_normal(n) * 1e3).astype(dt)
        if n >= 4:
            x[0], x[1] = -np.finfo(dt).max / 4, np.finfo(dt).max / 4
            x[2] = np.finfo(dt).tiny / 8  # subnormal
        elif dt.kind == "f":
            x[0] = -abs(x[0]) - 1.0  # a negative even in tiny arrays
    return x.reshape(shape)


# ---- the input file: one dataset per case ----------------------------------------------------

cases = []  # (name, dataset path, numpy data, --set overrides, ops, h5py dataset options)
inp = h.path("in.h5")


def add(name, data, sets=(), ops=None, **dset_kw):
    cases.append((name, f"/g/{name}", data, list(sets), ops, dset_kw))


for i, dt in enumerate(DTYPES):
    shape = AWKWARD[i % len(AWKWARD)]
    add(f"{dt}_{'x'.join(map(str, shape))}", values(dt, shape), [f"run.threads={1 + i % 2}"])
    add(f"{dt}_big", values(dt, BIG), [f"run.threads={2 - i % 2}"])
for j, shape in enumerate(AWKWARD):  # with the thread count the loop above did not use
    add(f"f64_{'x'.join(map(str, shape))}", values("float64", shape),
        [f"run.threads={2 - j % 2}"])

nan, inf = math.nan, math.inf
add("special", np.array([[1.5, nan, -2.0, inf], [3.0, nan, -inf, 0.25]]), ["run.threads=2"])
add("posinf", np.array([1.0, inf, nan, 2.0, -7.5]), ["run.threads=1"])
add("neginf", np.array([[-inf], [4.0], [nan]]), ["run.threads=2"])
add("allnan", np.full((5,), nan), ["run.threads=2"])
add("cancel", np.array([1e16, 1.0, -1e16]), ["run.threads=1"])
add("cancel_t2", np.array([[1e16, 1.0, -1e16, 3.0], [-2.0, 1e16, 5.0, -1e16]]),
    ["run.threads=2"])

# decompositions that the shape allows
for shape, decs in [((3, 4, 5), ("1d", "2d", "3d")), ((5, 7), ("1d", "2d")),
                    ((1, 1, 9), ("3d",)), ((13, 1), ("2d",)), ((7,), ("1d",))]:
    data = values("int32", shape)
    for d in decs:
        add(f"dec{d}_{'x'.join(map(str, shape))}", data,
            [f"run.decomposition={d}", "run.threads=2"])

# several read pieces per rank: 8 MB of float64, 6 MB of float32 in 3-D
big64 = rng.standard_normal((1024, 1000)) * 50.0 - 3.0
add("chunk_f64_t1", big64, ["run.chunk_mb=1", "run.threads=1"])
add("chunk_f64_t2_2d", big64, ["run.chunk_mb=1", "run.threads=2", "run.decomposition=2d"])
add("chunk_f32_3d", (rng.standard_normal((96, 128, 128)) * 7).astype(np.float32),
    ["run.chunk_mb=1", "run.threads=2", "run.decomposition=3d"])

# a subset of the statistics; datasets stored chunked+compressed and big-endian
add("ops_sum_max", values("int16", (17, 19)), ["run.threads=2"], ops="sum,max")
add("ops_count", values("float64", (23,)), ["run.threads=1"], ops="count")
add("gzip_chunked", values("float64", BIG), ["run.threads=2"], chunks=(64, 64),
    compression="gzip")
add("big_endian", values("float64", (37, 11)).astype(">f8"), ["run.threads=2"])

with h5py.File(inp, "w") as f:
    for name, dset, data, _, _, kw in cases:
        f.create_dataset(dset, data=data, **kw)

# ---- the runs --------------------------------------------------------------------------------


def check_results(what, got, ref, ops, exact_nonfinite):
    """got: result name -> value (JSON numbers, or HDF5 values when exact_nonfinite)."""
    want = set(ops) | {"nan"}
    h.check(set(got) == want, f"{what}: results are exactly {sorted(want)}", sorted(got))
    for k in ("count", "nan"):
        if k in want:
            h.check(got.get(k) == ref[k], f"{what}: {k} == {ref[k]}", f"got {got.get(k)}")
    for k in ("min", "max", "sum", "mean"):
        if k not in want or k not in got:
            continue
        w, g = ref[k], got[k]
        tol = ref.get(f"{k}_tol", 0.0)
        if not exact_nonfinite and not math.isfinite(w):
            ok, desc = g == dh.json_nonfinite(w), f"{dh.json_nonfinite(w)!r} (non-finite)"
        else:
            ok = dh.close(g, w, tol)
            desc = f"{w!r}" + (f" +- {tol:.3g}" if tol else " exactly")
        h.check(ok, f"{what}: {k} == {desc}", f"got {g!r}")


def check_report(what, rep, name, data, sets, ops):
    if isinstance(rep, str):
        h.check(False, f"{what}: report readable", rep)
        return
    missing = [k for k in dh.REPORT_KEYS if k not in rep]
    h.check(not missing, f"{what}: report has keys {', '.join(dh.REPORT_KEYS)}",
            f"missing {missing}")
    h.check(rep.get("status") == "ok", f"{what}: report status ok", rep.get("status"))
    h.check(rep.get("job") == name and rep.get("kernel") == "reduce",
            f"{what}: report job/kernel", (rep.get("job"), rep.get("kernel")))
    h.check(rep.get("ranks") == h.np, f"{what}: report ranks == {h.np}", rep.get("ranks"))
    threads = [int(s.split("=")[1]) for s in sets if s.startswith("run.threads=")]
    if threads:
        h.check(rep.get("threads") == threads[0], f"{what}: report threads == {threads[0]}",
                rep.get("threads"))
    h.check(rep.get("elements") == data.size, f"{what}: elements == {data.size}",
            rep.get("elements"))
    want_bytes = data.size * data.dtype.itemsize
    h.check(rep.get("bytes_read") == want_bytes, f"{what}: bytes_read == {want_bytes}",
            rep.get("bytes_read"))
    h.check(rep.get("shape") == list(data.shape), f"{what}: shape == {list(data.shape)}",
            rep.get("shape"))
    grid = rep.get("grid") or []
    dec = [s.split("=")[1] for s in sets if s.startswith("run.decomposition=")]
    split = int(dec[0][0]) if dec else data.ndim
    ok = (len(grid) == data.ndim and int(np.prod(grid)) == h.np and
          all(g == 1 for g in grid[split:]))
    h.check(ok, f"{what}: grid {grid} has {data.ndim} axes, {h.np} ranks, splits only the "
            f"first {split}", grid)
    timing = rep.get("timing") or {}
    h.check(all(isinstance(timing.get(k), (int, float)) and timing[k] >= 0
                for k in dh.TIMING_KEYS),
            f"{what}: timing has non-negative {', '.join(dh.TIMING_KEYS)}", timing)
    check_results(f"{what} (report)", rep.get("results") or {}, ref_of[name], ops, False)


def check_h5_results(what, path, ops, ref):
    if not h.check(os.path.exists(path), f"{what}: results file written", path):
        return
    with h5py.File(path, "r") as f:
        h.check(int(f.attrs.get("dproc_complete", 0)) == 1, f"{what}: dproc_complete == 1")
        g = f.get("/results")
        if not h.check(isinstance(g, h5py.Group), f"{what}: group /results exists"):
            return
        got = {}
        for k, d in g.items():
            v = d[()]
            ok = d.shape == () and (d.dtype == np.int64 if k in ("count", "nan")
                                    else d.dtype == np.float64)
            h.check(ok, f"{what}: /results/{k} is a scalar of the right type",
                    (d.shape, d.dtype))
            got[k] = int(v) if k in ("count", "nan") else float(v)
    check_results(f"{what} (HDF5)", got, ref, ops, True)


ref_of = {}
for i, (name, dset, data, sets, ops, _) in enumerate(cases):
    what = f"{name} {data.dtype.str}{list(data.shape)} {' '.join(sets)}"
    ref_of[name] = ref = dh.reduce_reference(data.astype(np.float64))
    sections = [("job", {"name": name, "kernel": "reduce"}),
                ("input", {"source": "hdf5", "path": "in.h5", "dataset": dset}),
                ("output", {"path": f"res_{i}.h5", "report": f"rep_{i}.json"})]
    if ops:
        sections.append(("reduce", {"ops": ops}))
    job = h.write(f"{name}.ini", dh.job_text(sections))
    op_list = ops.split(",") if ops else ALL_OPS
    if "run.chunk_mb=1" in sets:  # the premise: several read pieces per rank at this rank count
        dry = h.dproc(job, sets=sets, opts=["--dry-run"])
        m = [l for l in dry.out.splitlines() if l.startswith("reads: up to ")]
        pieces = int(m[0].split()[3]) if m else 0
        h.check(dry.rc == 0 and pieces > 1,
                f"{what}: dry run plans several read pieces per rank (got {pieces})",
                dry.describe())
    res = h.dproc(job, sets=sets)
    if not h.expect_ok(res, what):
        continue
    check_report(what, dh.load_json(h.path(f"rep_{i}.json")), name, data, sets, op_list)
    check_h5_results(what, h.path(f"res_{i}.h5"), op_list, ref)

h.check_no_leftovers("all reduce runs")
h.finish()
