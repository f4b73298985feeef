#!/usr/bin/python3
"""Integration test: dproc-smpi, the build for SimGrid's SMPI simulator, computes what the real
build computes. At 16 simulated ranks on tiny grids, 2-D and 3-D stencils (halo_depth 1 and k,
overlap on and off, temporal blocking, periodic edges, a convergence check) give a field whose
digest equals the digest numpy computes from the real build's HDF5 output at --np ranks, and the
same residual to the bit; a reduction gives the same results as the real build. The cost model
charges compute time in closed form: work units x DPROC_SMPI_NS_PER_UNIT. A job that needs HDF5
is refused by every simulated rank with one clear error (exit 2). Skipped, loudly (exit 77),
only when dproc-smpi was not built because SimGrid is not installed."""

import os
import sys

import h5py

import dp_harness as dh
from dp_digest import digest_array

SIM_NP = 16
smpi_bin = os.environ.get("DP_SMPI_BIN", "")
if not smpi_bin:
    print("SKIPPED: dproc-smpi was not built: SimGrid is not installed "
          "(apt-get install libsimgrid-dev, then configure with -DDPROC_SMPI=ON)")
    sys.exit(77)
if not os.path.exists(smpi_bin):
    sys.exit(f"FAILED: dproc-smpi was configured but {smpi_bin} is missing: build it")

h = dh.Harness("smpi", __doc__)
hostfile = h.write("hosts", "".join(f"node-{i}\n" for i in range(64)))


def smpirun(args, np_=SIM_NP, ns_per_unit=None):
    cmd = [os.environ["DP_SMPIRUN"], "-np", str(np_), "-platform",
           os.environ["DP_SMPI_PLATFORM"], "-hostfile", hostfile,
           "--cfg=smpi/host-speed:1Gf", "--cfg=smpi/test:1e-7",
           "--log=root.thres:warning"]
    env = dict(h.env)
    if ns_per_unit is not None:  # MPI_Wtime costs no simulated time either
        cmd += ["--cfg=smpi/simulate-computation:no", "--cfg=smpi/wtime:0"]
        env["DPROC_SMPI_NS_PER_UNIT"] = str(ns_per_unit)
    return h.run_command(cmd + [smpi_bin, *args], env=env)


def stencil_job(name, shape, extra):
    st = {"preset": "heat", "alpha": 0.1, "boundary": "neumann", "iterations": 12}
    st.update(extra)
    return h.write(f"{name}.ini", dh.job_text([
        ("job", {"name": name, "kernel": "stencil"}),
        ("input", {"source": "generate", "generator": "bump",
                   "shape": ",".join(map(str, shape))}),
        ("output", {"report": f"{name}.json"}),
        ("stencil", st),
        ("run", {"threads": 1})]))


# ---- stencils: the simulated field is the real one, bit for bit ------------------------------
CASES = [  # name, shape, [stencil] keys, --set
    ("heat2d", (48, 40), {}, []),
    ("heat2d_no_overlap", (48, 40), {}, ["run.overlap=false"]),
    ("heat2d_deep", (48, 40), {"halo_depth": 3}, []),
    ("heat2d_tiles", (48, 40), {"halo_depth": 4, "temporal_blocking": "true"}, []),
    ("heat2d_periodic", (45, 38), {"boundary": "periodic", "halo_depth": 2}, []),
    ("heat2d_converge", (48, 40), {"tolerance": 1e-3, "check_every": 4, "iterations": 400}, []),
    ("heat3d", (14, 12, 11), {"alpha": 0.05}, []),
    ("heat3d_deep", (14, 12, 11), {"alpha": 0.05, "halo_depth": 2}, ["run.overlap=false"]),
]
for name, shape, extra, sets in CASES:
    job = stencil_job(name, shape, extra)
    args = [a for s in sets for a in ("--set", s)]
    res = smpirun(args + [job])
    if not h.expect_ok(res, f"{name}: dproc-smpi at {SIM_NP} simulated ranks"):
        continue
    srep = dh.load_json(h.path(f"{name}.json"))
    h.check(srep["ranks"] == SIM_NP and len(srep["grid"]) == len(shape),
            f"{name}: {SIM_NP} simulated ranks on a {len(shape)}-D grid",
            (srep["ranks"], srep["grid"]))
    real = h.dproc(job, sets=sets + [f"output.path={name}.h5", "output.dataset=/u"])
    if not h.expect_ok(real, f"{name}: the real build at np {h.np}"):
        continue
    rrep = dh.load_json(h.path(f"{name}.json"))
    with h5py.File(h.path(f"{name}.h5"), "r") as f:
        want = digest_array(f["/u"][()])
    h.check(srep.get("digest") == want,
            f"{name}: the simulated field's digest is numpy's digest of the real output",
            (srep.get("digest"), want))
    for key in ("iterations_done", "residual"):
        h.check(srep["results"].get(key) == rrep["results"].get(key),
                f"{name}: {key} the same as the real build's",
                (srep["results"].get(key), rrep["results"].get(key)))

# ---- a reduction: the same results -----------------------------------------------------------
red = h.write("reduce.ini", dh.job_text([
    ("job", {"name": "reduce", "kernel": "reduce"}),
    ("input", {"source": "generate", "generator": "random", "seed": 7, "shape": "41,29,3"}),
    ("output", {"report": "reduce.json"}),
    ("reduce", {"ops": "count,sum,min,max,mean,var,std,l2,argmin,argmax,hist,median",
                "percentiles": "10,99.9", "bins": 16}),
    ("run", {"threads": 1})]))
res = smpirun([red])
if h.expect_ok(res, "reduce: dproc-smpi at 16 simulated ranks"):
    sres = dh.load_json(h.path("reduce.json"))["results"]
    if h.expect_ok(h.dproc(red), f"reduce: the real build at np {h.np}"):
        rres = dh.load_json(h.path("reduce.json"))["results"]
        h.check(sres == rres, "reduce: every result the same as the real build's", (sres, rres))
        h.check(sres.get("count") == 41 * 29 * 3, "reduce: count is every element",
                sres.get("count"))

# ---- the cost model: compute time in closed form ---------------------------------------------
NS = 2.5
job = stencil_job("model", (48, 40), {})
res = smpirun([job], ns_per_unit=NS)
if h.expect_ok(res, "model: dproc-smpi with DPROC_SMPI_NS_PER_UNIT"):
    rep = dh.load_json(h.path("model.json"))
    updates = 48 * 40 * 12  # every point once per iteration, halo_depth 1: nothing recomputed
    h.check(rep["work_units"] == updates, f"model: {updates} point updates counted",
            rep["work_units"])
    want = updates / SIM_NP * NS * 1e-9  # 4 x 4 ranks of 12 x 10 points each
    h.check(abs(rep["timing"]["compute"] - want) < 1e-9,
            f"model: compute of the slowest rank is {want * 1e6:.3f} us",
            rep["timing"]["compute"])
    if h.expect_ok(h.dproc(job), f"model: the real build at np {h.np}"):
        real = dh.load_json(h.path("model.json"))
        h.check(real["work_units"] == updates,
                f"model: the real build counts the same {updates} point updates",
                real["work_units"])
    deep = smpirun([stencil_job("model_deep", (48, 40), {"halo_depth": 3})], ns_per_unit=NS)
    if h.expect_ok(deep, "model_deep: dproc-smpi with halo_depth 3"):
        drep = dh.load_json(h.path("model_deep.json"))
        h.check(drep["work_units"] > updates,
                "model_deep: deep halos recompute the overlap (more point updates)",
                drep["work_units"])

# ---- a reduction counts each element once ----------------------------------------------------
job = h.write("sum.ini", dh.job_text([
    ("job", {"name": "sum", "kernel": "reduce"}),
    ("input", {"source": "generate", "generator": "random", "seed": 3, "shape": "64,30"}),
    ("output", {"report": "sum.json"}),
    ("reduce", {"ops": "sum"}),
    ("run", {"threads": 1})]))
if h.expect_ok(smpirun([job], ns_per_unit=NS), "sum: dproc-smpi with DPROC_SMPI_NS_PER_UNIT"):
    rep = dh.load_json(h.path("sum.json"))
    h.check(rep["work_units"] == 64 * 30, "sum: 1920 elements folded, once each",
            rep["work_units"])

# ---- jobs that need files are refused by the job check, once, naming the key ------------------
with h5py.File(h.path("in.h5"), "w") as f:
    f["/x"] = [[1.0, 2.0], [3.0, 4.0]]
h.write("in.raw", b"\0" * 64)
h.write("words.txt", "a b c\n")
REFUSED = [  # what, job sections, the [section] key named
    ("an HDF5 output", [("output", {"path": "out.h5"})], "[output] path"),
    ("a trace", [("output", {"trace": "t.json"})], "[output] trace"),
    ("an HDF5 input", [("input", {"source": "hdf5", "path": "in.h5", "dataset": "/x"})],
     "[input] source"),
    ("a raw input", [("input", {"source": "raw", "path": "in.raw", "dtype": "float64",
                                "shape": "8"})], "[input] source"),
    ("a checkpoint", [("stencil", {"checkpoint_every": 4, "checkpoint_path": "c.h5"})],
     "[stencil] checkpoint_path"),
]
for what, sections, named in REFUSED:
    parts = {"job": {"name": "refused", "kernel": "stencil"},
             "input": {"source": "generate", "generator": "bump", "shape": "48,40"},
             "stencil": {"preset": "heat", "alpha": 0.1, "iterations": 8}}
    for sec, keys in sections:
        parts[sec] = keys if sec == "input" else {**parts.get(sec, {}), **keys}
    job = h.write("refused.ini", dh.job_text(list(parts.items())))
    res = smpirun([job])
    lines = [ln for ln in res.err.splitlines() if "dproc-smpi" in ln]
    h.check(res.rc == dh.EXIT_USAGE and not res.timed_out,
            f"{what}: refused with exit status 2", res.describe())
    h.check(len(lines) == 1 and lines[0].startswith(job + ":") and named in lines[0],
            f"{what}: one error line, JOB.ini:LINE: {named}, naming dproc-smpi", res.err)
    h.check(not os.path.exists(h.path("out.h5")) and not os.path.exists(h.path("t.json")),
            f"{what}: no file written")
wc = h.write("wc.ini", dh.job_text([
    ("job", {"name": "wc", "kernel": "wordcount"}),
    ("input", {"source": "text", "path": "words.txt"}),
    ("output", {"report": "wc.json"})]))
res = smpirun([wc])
h.check(res.rc == dh.EXIT_USAGE and sum("[job] kernel" in ln and "dproc-smpi" in ln
                                        for ln in res.err.splitlines()) == 1,
        "a key-value kernel: refused once, naming [job] kernel, exit 2", res.describe())

h.finish()
