#!/usr/bin/python3
"""Integration test: the command line. --help, --version (the project's version), --list-kernels,
--help-job (every section and key), --dry-run (the grid and one line per rank whose blocks tile
the array exactly; exit 0 and nothing written) at several rank counts, -q, bad command lines,
and a singleton run without the MPI launcher."""

import itertools
import os
import re

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("cli", __doc__)
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def once(res, needle, what):
    n = res.out.count(needle)
    h.check(n == 1, f"{what}: '{needle}' printed once", f"{n} times; {res.describe()}")


# ---- information options ---------------------------------------------------------------------

for opt in ("--help", "-h"):
    res = h.run([opt])
    h.expect_ok(res, f"{opt} at np {h.np}")
    once(res, "usage: dproc", opt)
    for o in ("--help", "--version", "--list-kernels", "--help-job", "--dry-run", "--set",
              "--quiet", "--verbose"):
        h.check(o in res.out, f"{opt} mentions {o}")

with open(os.path.join(SRC, "CMakeLists.txt")) as f:
    m = re.search(r"project\(dproc\s+VERSION\s+([\d.]+)", f.read())
project_version = m.group(1) if m else None
for opt in ("--version", "-V"):
    res = h.run([opt], mpi=False)
    h.expect_ok(res, opt)
    h.check(res.out == f"dproc {project_version}\n",
            f"{opt} prints 'dproc {project_version}' (the version in CMakeLists.txt)", res.out)

res = h.run(["--list-kernels"])
h.expect_ok(res, "--list-kernels")
kernels = {l.split()[0]: l.split(None, 1)[1:] for l in res.out.splitlines() if l.strip()}
for k in ("reduce", "copy"):
    h.check(k in kernels and kernels[k], f"--list-kernels lists {k} with a description",
            res.out)
h.check(len(res.out.splitlines()) == len(kernels), "--list-kernels: one line per kernel, once",
        res.out)

REFERENCE = {
    "job": ["name", "kernel"],
    "input": ["source", "path", "dataset", "dtype", "shape", "offset", "generator", "seed"],
    "output": ["path", "dataset", "report", "overwrite"],
    "run": ["threads", "chunk_mb", "decomposition"],
    "reduce": ["ops"],
}
res = h.run(["--help-job"], mpi=False)
h.expect_ok(res, "--help-job")
blocks = {}
for part in re.split(r"^### ", res.out, flags=re.M)[1:]:
    m = re.match(r"\[(\w+)\]", part)
    if m:
        blocks[m.group(1)] = part
for sec, keys in REFERENCE.items():
    if not h.check(sec in blocks, f"--help-job has section [{sec}]", sorted(blocks)):
        continue
    for k in keys:
        h.check(re.search(rf"^\| `{k}` \|", blocks[sec], re.M),
                f"--help-job documents [{sec}] {k}")
h.check("copy" in blocks, "--help-job has the section of kernel copy", sorted(blocks))
allowed = {"source": "hdf5, raw, generate", "generator": "ramp, random, bump",
           "decomposition": "auto, 1d, 2d, 3d", "ops": "count, sum, min, max, mean",
           "dtype": "int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64"}
for k, v in allowed.items():
    m = re.search(rf"^\| `{k}` \|[^|]*\|[^|]*\| ([^|]*) \|", res.out, re.M)
    listed = set(m.group(1).split(", ")) if m else set()
    h.check(set(v.split(", ")) <= listed, f"--help-job lists the values of {k}: {v}",
            m.group(0) if m else res.out)

# ---- bad command lines -----------------------------------------------------------------------

h.write("a.ini", dh.job_text({"job": {"kernel": "reduce"},
                              "input": {"source": "generate", "shape": "10,10"}}))
for args, what, needle in [([], "no job file", "no job file given"),
                           (["a.ini", "a.ini"], "two job files", "more than one job file"),
                           (["--set"], "--set without a value", "incomplete option"),
                           (["--bogus", "a.ini"], "unknown option", "unknown or incomplete")]:
    res = h.run(args)
    h.check(res.rc == 2, f"{what}: exit status 2", res.describe())
    n = res.err.count(needle)
    h.check(n == 1, f"{what}: stderr says '{needle}' once", res.err)

# ---- singleton runs (no launcher) ------------------------------------------------------------

n = 100
h.write("single.ini", dh.job_text({"job": {"kernel": "reduce", "name": "single"},
                                   "input": {"source": "generate", "shape": "10,10"},
                                   "output": {"report": "single.json"}}))
res = h.run(["single.ini"], mpi=False)
if h.expect_ok(res, "singleton reduce without mpiexec"):
    rep = dh.load_json(h.path("single.json"))
    want = {"count": n, "sum": n * (n - 1) / 2, "min": 0, "max": n - 1, "mean": (n - 1) / 2,
            "nan": 0}
    h.check(isinstance(rep, dict) and rep.get("ranks") == 1 and rep.get("results") == want,
            f"singleton reduce: ranks 1 and results {want} (ramp closed forms)", rep)
    h.check("single" in res.out, "singleton reduce prints a summary naming the job", res.out)
res = h.run(["-q", "-s", "output.report=single_q.json", "single.ini"], mpi=False)
h.expect_ok(res, "-q with -s")
h.check(res.out == "", "-q: nothing on stdout", res.out)
h.check(isinstance(dh.load_json(h.path("single_q.json")), dict), "-s output.report= is used")

h.write("single_copy.ini", dh.job_text({"job": {"kernel": "copy"},
                                        "input": {"source": "generate", "shape": "4,6,5",
                                                  "generator": "bump"},
                                        "output": {"path": "single.h5"}}))
res = h.run(["single_copy.ini"], mpi=False)
if h.expect_ok(res, "singleton copy without mpiexec"):
    with h5py.File(h.path("single.h5"), "r") as f:
        data, ranks = f["/data"][()], int(f.attrs["dproc_ranks"])
    ref = dh.ref_bump((4, 6, 5))
    h.check(dh.same_bits(data, ref) and ranks == 1,
            "singleton copy: bump data bit-for-bit, dproc_ranks 1", dh.bits_mismatch(data, ref))

# ---- dry runs --------------------------------------------------------------------------------

with h5py.File(h.path("in.h5"), "w") as f:
    f["/x"] = np.zeros((9, 4, 6), dtype=np.int16)


def parse_dry(out, ndim):
    """grid, [(rank, start, count, elements)] from a dry run's output."""
    m = re.search(r"grid (\d+(?:x\d+)*)", out)
    grid = [int(g) for g in m.group(1).split("x")] if m else None
    rows, table = [], False
    for line in out.splitlines():
        if re.match(r"^\s*rank\s+start\s+count\s+elements\s*$", line):
            table = True
            continue
        m = re.match(r"^\s*(\d+)\s+([\d,]+)\s+([\d,]+)\s+(\d+)\s*$", line)
        if table and m:
            rows.append((int(m.group(1)), [int(v) for v in m.group(2).split(",")],
                         [int(v) for v in m.group(3).split(",")], int(m.group(4))))
    return grid, rows


def check_tiling(what, shape, grid, rows, np_, split):
    total = int(np.prod(shape, dtype=object))
    h.check(grid is not None and len(grid) == len(shape) and int(np.prod(grid)) == np_ and
            all(g == 1 for g in grid[split:]),
            f"{what}: grid {grid} has {len(shape)} axes, {np_} ranks, splits only the first "
            f"{split}", grid)
    h.check([r[0] for r in rows] == list(range(np_)), f"{what}: one line per rank, in order",
            [r[0] for r in rows])
    ok = all(len(s) == len(shape) and len(c) == len(shape) and
             all(0 <= a and a + b <= n for a, b, n in zip(s, c, shape)) and
             e == int(np.prod(c, dtype=object)) for _, s, c, e in rows)
    h.check(ok, f"{what}: blocks lie in the array and elements == product of counts", rows)
    h.check(sum(r[3] for r in rows) == total, f"{what}: elements sum to {total}",
            sum(r[3] for r in rows))
    boxes = [(s, c) for _, s, c, e in rows if e > 0]
    overlap = [(a, b) for a, b in itertools.combinations(boxes, 2)
               if all(sa < sb + cb and sb < sa + ca
                      for sa, ca, sb, cb in zip(a[0], a[1], b[0], b[1]))]
    h.check(not overlap, f"{what}: blocks do not overlap (so they tile the array)", overlap[:3])
    if grid and len(grid) == len(shape):  # a Cartesian grid: per axis, the cuts are shared
        for d in range(len(shape)):
            cuts = sorted({(s[d], c[d]) for _, s, c, e in rows if c[d] > 0})
            h.check(len(cuts) <= grid[d] and
                    all(a[0] + a[1] == b[0] for a, b in zip(cuts, cuts[1:])),
                    f"{what}: axis {d} is cut into at most {grid[d]} contiguous ranges", cuts)


cases = [((7,), "auto"), ((11, 13), "auto"), ((11, 13), "1d"), ((5, 7, 3), "auto"),
         ((5, 7, 3), "2d"), ((1, 1, 9), "3d"), ((2, 3), "2d"),
         ((100000, 100000, 1000), "auto")]
for np_ in sorted({1, 2, 3, 4, h.np}):
    for i, (shape, dec) in enumerate(cases):
        what = f"dry run np {np_} shape {shape} decomposition {dec}"
        name = f"dry_{np_}_{i}"
        h.write(f"{name}.ini", dh.job_text({
            "job": {"kernel": "copy"},
            "input": {"source": "generate", "shape": ",".join(map(str, shape))},
            "output": {"path": f"{name}.h5", "report": f"{name}.json"},
            "run": {"decomposition": dec}}))
        res = h.run(["--dry-run", f"{name}.ini"], np=np_)
        if not h.expect_ok(res, what):
            continue
        grid, rows = parse_dry(res.out, len(shape))
        check_tiling(what, shape, grid, rows, np_, len(shape) if dec == "auto" else int(dec[0]))
        once(res, "dry run", what)
        left = [f for f in (f"{name}.h5", f"{name}.json") if os.path.exists(h.path(f))]
        h.check(not left, f"{what}: nothing written", left)
    what = f"dry run np {np_} of HDF5 int16 (9, 4, 6)"
    h.write("dry_h5.ini", dh.job_text({"job": {"kernel": "reduce"},
                                       "input": {"source": "hdf5", "path": "in.h5",
                                                 "dataset": "/x"},
                                       "output": {"report": "dry_h5.json"}}))
    res = h.run(["-n", "dry_h5.ini"], np=np_)
    if h.expect_ok(res, what):
        grid, rows = parse_dry(res.out, 3)
        check_tiling(what, (9, 4, 6), grid, rows, np_, 3)
        h.check(not os.path.exists(h.path("dry_h5.json")), f"{what}: no report written")

h.check_no_leftovers("all runs")
h.finish()
