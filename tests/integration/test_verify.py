#!/usr/bin/python3
"""Integration test: integrity of outputs. Every dataset dproc writes carries its digest
(dproc_digest); the test recomputes it with its own implementation of the documented definition
(numpy, from the values h5py reads) for a stencil's field, a map's float32 output written by
MPI-IO, a reduction's results and a word count's HDF5 table, at the given rank count and against
a run at np 1. [output] checksum = true stores the arrays in chunks with HDF5's Fletcher32
filter. `dproc verify` accepts the untouched files (exit 0) and names the dataset when one bit is
flipped in a checksummed chunk (FAILED, Fletcher32) or in an unfiltered dataset (MISMATCH), and
refuses incomplete, foreign and non-HDF5 files (exit 1)."""

import shutil

import h5py
import numpy as np

import dp_harness as dh
from dp_digest import digest_array, digest_records

h = dh.Harness("verify", __doc__)


def stored(path, dataset):
    with h5py.File(path, "r") as f:
        v = f[dataset].attrs.get("dproc_digest")
        return v.decode() if isinstance(v, bytes) else v


def has_fletcher(path, dataset):
    with h5py.File(path, "r") as f:
        return f[dataset].fletcher32


def verify(name):
    return h.run(["verify", name], np=1, mpi=False)


def flip_bit(src, dst, offset):
    shutil.copy(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ 0x10]))


# ---- a stencil with checksum = true --------------------------------------------------------------
STENCIL = dh.job_text([
    ("job", {"kernel": "stencil"}),
    ("input", {"source": "generate", "generator": "bump", "shape": "300,200"}),
    ("stencil", {"preset": "heat", "alpha": 0.2, "boundary": "neumann", "iterations": 30}),
    ("output", {"path": "heat.h5", "dataset": "/u", "checksum": "true", "overwrite": "true"}),
    ("run", {"threads": 1}),
])
h.write("heat.ini", STENCIL)
h.expect_ok(h.dproc("heat.ini", opts=["-q"]), "stencil, checksum = true")
with h5py.File(h.path("heat.h5"), "r") as f:
    u = f["/u"][()]
h.check(stored(h.path("heat.h5"), "/u") == digest_array(u),
        "stencil: dproc_digest equals the digest computed from the values (numpy)",
        (stored(h.path("heat.h5"), "/u"), digest_array(u)))
h.check(has_fletcher(h.path("heat.h5"), "/u"), "stencil: /u has the Fletcher32 filter")
h.expect_ok(h.dproc("heat.ini", opts=["-q"], sets=["output.path=heat1.h5"], np=1),
            "stencil at np 1")
h.check(stored(h.path("heat1.h5"), "/u") == stored(h.path("heat.h5"), "/u"),
        f"stencil: the same digest at np 1 and np {h.np}")
res = verify("heat.h5")
h.check(res.rc == 0 and "ok         /u  300 x 200" in res.out and "Fletcher32 checksums ok" in
        res.out, "dproc verify heat.h5: exit 0, /u ok with its checksums", res.describe())
with h5py.File(h.path("heat.h5"), "r") as f:
    info = f["/u"].id.get_chunk_info(0)
flip_bit(h.path("heat.h5"), h.path("flipped.h5"), info.byte_offset + info.size // 3)
res = verify("flipped.h5")
h.check(res.rc == 1 and "FAILED     /u" in res.out and "Fletcher32" in res.out,
        "a bit flipped in a checksummed chunk: exit 1, /u named, Fletcher32 said", res.describe())

# ---- a map (float32 output written by MPI-IO into a contiguous dataset) ------------------------
h.write("map.ini", dh.job_text([
    ("job", {"kernel": "map"}),
    ("input", {"source": "generate", "generator": "random", "seed": 3, "shape": "257,31"}),
    ("map", {"op": "sqrt", "dtype": "float32"}),
    ("output", {"path": "map.h5", "overwrite": "true"}),
    ("run", {"threads": 1, "chunk_mb": 1}),
]))
h.expect_ok(h.dproc("map.ini", opts=["-q"]), "map to float32")
with h5py.File(h.path("map.h5"), "r") as f:
    m = f["/data"][()]
    offset = f["/data"].id.get_offset()
h.check(m.dtype == np.float32 and stored(h.path("map.h5"), "/data") == digest_array(m),
        "map: dproc_digest of the float32 output equals numpy's",
        (stored(h.path("map.h5"), "/data"), digest_array(m)))
res = verify("map.h5")
h.check(res.rc == 0 and "ok         /data  257 x 31" in res.out, "dproc verify map.h5: exit 0",
        res.describe())
flip_bit(h.path("map.h5"), h.path("map-flipped.h5"), offset + 4 * 1000 + 2)
res = verify("map-flipped.h5")
h.check(res.rc == 1 and "MISMATCH   /data" in res.out,
        "a bit flipped in an unfiltered dataset: exit 1, MISMATCH naming /data", res.describe())

# ---- a reduction's results, with checksum on its arrays --------------------------------------
h.write("red.ini", dh.job_text([
    ("job", {"kernel": "reduce"}),
    ("input", {"source": "generate", "generator": "random", "seed": 5, "shape": "100,40"}),
    ("reduce", {"ops": "count,sum,max,argmax,hist", "bins": 8}),
    ("output", {"path": "red.h5", "checksum": "true", "overwrite": "true"}),
    ("run", {"threads": 1}),
]))
h.expect_ok(h.dproc("red.ini", opts=["-q"]), "reduce with results in HDF5")
with h5py.File(h.path("red.h5"), "r") as f:
    names = []
    f.visit(lambda n: names.append(n) if isinstance(f[n], h5py.Dataset) else None)
    bad = [n for n in names if stored(h.path("red.h5"), "/" + n) != digest_array(f[n][()])]
    filtered = [n for n in names if f[n].fletcher32]
h.check(names and not bad, f"reduce: the digest of each of {len(names)} result datasets equals "
        "numpy's", bad)
h.check("results/hist_counts" in filtered or any("hist" in n for n in filtered),
        "reduce: array results carry Fletcher32 (scalars cannot)", filtered)
res = verify("red.h5")
h.check(res.rc == 0 and f"verify: {len(names)} datasets ok, 0 failed" in res.out,
        "dproc verify red.h5: every result ok", res.describe())

# ---- a word count's table (compound: variable-length key, int64 count) -------------------------
h.write("text/a.txt", "the cat and the dog\nand the bird\n" * 50 + "alpha beta\n")
h.write("wc.ini", dh.job_text([
    ("job", {"kernel": "wordcount"}),
    ("input", {"source": "text", "path": "text"}),
    ("output", {"path": "wc.h5", "format": "hdf5", "checksum": "true", "overwrite": "true"}),
    ("run", {"threads": 1}),
]))
h.expect_ok(h.dproc("wc.ini", opts=["-q"]), "wordcount to an HDF5 table")
with h5py.File(h.path("wc.h5"), "r") as f:
    table = f["/wordcount"][()]
    fields = table.dtype.names
records = []
for row in table:
    rec = b""
    for name in fields:
        v = row[name]
        rec += (v if isinstance(v, bytes) else str(v).encode()) + b"\0" if name == "key" else \
            np.asarray(v).astype(np.asarray(v).dtype.newbyteorder("<")).tobytes()
    records.append(rec)
h.check(stored(h.path("wc.h5"), "/wordcount") == digest_records(records),
        "wordcount: the table's digest equals the one computed from its records",
        (stored(h.path("wc.h5"), "/wordcount"), digest_records(records)))
res = verify("wc.h5")
h.check(res.rc == 0 and "ok         /wordcount" in res.out and "Fletcher32" in res.out,
        "dproc verify wc.h5: the table ok, with its checksums", res.describe())

# ---- files verify refuses --------------------------------------------------------------------
with h5py.File(h.path("heat.h5"), "r") as src, h5py.File(h.path("cut.h5"), "w") as dst:
    dst["/u"] = src["/u"][()]
    dst["/u"].attrs["dproc_digest"] = src["/u"].attrs["dproc_digest"]
with h5py.File(h.path("plain.h5"), "w") as f:
    f["/x"] = np.zeros(3)
h.write("text.h5", "not HDF5\n")
for name, needle in (("cut.h5", "incomplete"), ("plain.h5", "nothing to verify"),
                     ("text.h5", "cannot open"), ("missing.h5", "cannot open")):
    res = verify(name)
    h.check(res.rc == 1 and needle in res.out + res.err, f"verify {name}: exit 1, '{needle}'",
            res.describe())
res = h.run(["verify"], np=1, mpi=False)
h.check(res.rc == 2 and "usage: dproc verify" in res.err, "verify without a file: exit 2, usage")
h.check_no_leftovers("verify")
h.finish()
