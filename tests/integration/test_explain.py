#!/usr/bin/python3
"""Integration test: `dproc explain OUTPUT.h5` reads back what made an output. For a file written
at the given rank count: exit 0, the layout (ranks x threads, complete), every dataset with its
shape, and the job text exactly as run; that text, saved and run again, gives the same bits (the
provenance round trip). Files that are incomplete, not from dproc, or not HDF5: exit 1 with a
message."""

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("explain", __doc__)

JOB = dh.job_text([
    ("job", {"kernel": "map"}),
    ("input", {"source": "generate", "generator": "random", "seed": 7, "shape": "40,30"}),
    ("map", {"op": "sqrt", "then_reduce": "sum,max"}),
    ("output", {"path": "out.h5", "dataset": "/root", "overwrite": "true"}),
    ("run", {"threads": 1}),
], comment="a job to explain")
h.write("job.ini", JOB)
res = h.dproc("job.ini", opts=["-q"])
h.expect_ok(res, "the job")

res = h.run(["explain", "out.h5"], np=1, mpi=False)
what = "explain out.h5"
h.expect_ok(res, what)
first = res.out.splitlines()[0] if res.out else ""
h.check(f"{h.np} rank" in first and "x 1 thread" in first and first.endswith("complete"),
        f"{what}: the first line gives {h.np} ranks x 1 thread, complete", first)
h.check("/root  40 x 30 float, 8-byte elements" in res.out and "/results/sum  scalar" in res.out,
        f"{what}: the datasets with their shapes", res.out)
parts = res.out.split("-----\n")
text = parts[1] if len(parts) >= 3 else None
h.check(text == JOB, f"{what}: the job text exactly as it ran", text)
h.check(f"mpirun -np {h.np} dproc JOB.ini" in res.out, f"{what}: how to repeat it", res.out)

if text is not None:  # the round trip: the job read back, run again, gives the same bits
    h.write("again.ini", text)
    res = h.dproc("again.ini", opts=["-q"], sets=["output.path=again.h5"])
    h.expect_ok(res, "the job read back")
    with h5py.File(h.path("out.h5"), "r") as a, h5py.File(h.path("again.h5"), "r") as b:
        h.check(a["/root"].shape == (40, 30) and dh.same_bits(a["/root"][()], b["/root"][()]),
                "the job read back gives the same bits (the property under test is the round "
                "trip; the values themselves are checked against numpy by test_stream)")

# an output without its completion marker, a file dproc did not write, a file that is not HDF5
with h5py.File(h.path("out.h5"), "r") as src, h5py.File(h.path("cut.h5"), "w") as dst:
    for k, v in src.attrs.items():
        if k != "dproc_complete":
            dst.attrs[k] = v
    dst["/root"] = src["/root"][()]
with h5py.File(h.path("plain.h5"), "w") as f:
    f["/x"] = np.zeros(3)
h.write("text.h5", "not HDF5\n")
for name, needle in (("cut.h5", "INCOMPLETE"), ("plain.h5", "not written by dproc"),
                     ("text.h5", "cannot open"), ("missing.h5", "cannot open")):
    res = h.run(["explain", name], np=1, mpi=False)
    h.check(res.rc == 1 and needle in res.out + res.err, f"explain {name}: exit 1, '{needle}'",
            res.describe())
h.finish()
