#!/usr/bin/python3
"""Integration test: kernel copy from generate (ramp, bump), raw files (with header bytes) and
HDF5 into a float64 HDF5 dataset, compared bit-for-bit with numpy references; the provenance
attributes; no temporary file left; an existing output refused unless overwrite = true; the
input never used as the output (same name, through a symlink, through '..')."""

import configparser
import os
import re
import socket

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("copy", __doc__)
rng = np.random.default_rng(7)

version = h.run(["--version"], mpi=False)
m = re.fullmatch(r"dproc (\S+)\n", version.out)
VERSION = m.group(1) if m else None
h.check(version.rc == 0 and VERSION, "dproc --version names a version", version.describe())


def read_output(path, dataset="/data"):
    with h5py.File(path, "r") as f:
        d = f.get(dataset)
        data = d[()] if isinstance(d, h5py.Dataset) else None
        return data, {k: f.attrs[k] for k in f.attrs}


def check_provenance(what, attrs, job_text, sets):
    need = ["dproc_version", "dproc_job", "dproc_ranks", "dproc_threads", "dproc_start_time",
            "dproc_host", "dproc_complete"]
    missing = [k for k in need if k not in attrs]
    h.check(not missing, f"{what}: provenance attributes {', '.join(need)} present", missing)
    if missing:
        return
    h.check(int(attrs["dproc_complete"]) == 1, f"{what}: dproc_complete == 1",
            attrs["dproc_complete"])
    h.check(int(attrs["dproc_ranks"]) == h.np, f"{what}: dproc_ranks == {h.np}",
            attrs["dproc_ranks"])
    threads = [int(s.split("=")[1]) for s in sets if s.startswith("run.threads=")]
    if threads:
        h.check(int(attrs["dproc_threads"]) == threads[0],
                f"{what}: dproc_threads == {threads[0]}", attrs["dproc_threads"])
    h.check(dh.attr_text(attrs["dproc_version"]) == VERSION,
            f"{what}: dproc_version == {VERSION}", attrs["dproc_version"])
    job = dh.attr_text(attrs["dproc_job"])
    if not sets:
        h.check(job == job_text, f"{what}: dproc_job is the job text", job)
    else:
        # the effective job: every key with its final value, then the overrides as comments
        eff = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",))
        eff.read_string(job)
        orig = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",),
                                         inline_comment_prefixes=(";",))
        orig.read_string(job_text)
        want = {(sec, k): v for sec in orig.sections() for k, v in orig[sec].items()}
        for s in sets:
            key, value = s.split("=", 1)
            sec, k = key.split(".", 1)
            want[(sec.strip(), k.strip())] = value.strip()
        got = {(sec, k): v for sec in eff.sections() for k, v in eff[sec].items()}
        h.check(got == want, f"{what}: dproc_job is the effective job with {sets} applied",
                job)
        h.check(all(f"; --set {s}" in job for s in sets),
                f"{what}: dproc_job lists the --set overrides {sets}", job)
    h.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                         dh.attr_text(attrs["dproc_start_time"])),
            f"{what}: dproc_start_time is an ISO 8601 UTC time", attrs["dproc_start_time"])
    h.check(dh.attr_text(attrs["dproc_host"]) == socket.gethostname(),
            f"{what}: dproc_host is this host", attrs["dproc_host"])


def copy_case(what, input_keys, ref, sets=(), dataset=None, out=None):
    """Runs copy and compares the output with ref bit-for-bit."""
    out = out or f"{re.sub(r'[^A-Za-z0-9_]', '_', what)}.h5"
    keys = {"path": out} if dataset is None else {"path": out, "dataset": dataset}
    text = dh.job_text([("job", {"kernel": "copy"}), ("input", input_keys), ("output", keys)],
                       comment=what)
    job = h.write(f"{os.path.splitext(out)[0]}.ini", text)
    res = h.dproc(job, sets=list(sets))
    h.check_no_leftovers(what)
    if not h.expect_ok(res, what):
        return None
    if not h.check(os.path.exists(h.path(out)), f"{what}: output {out} exists"):
        return None
    data, attrs = read_output(h.path(out), dataset or "/data")
    ok = data is not None and data.dtype == np.float64 and dh.same_bits(data, ref)
    h.check(ok, f"{what}: output {dataset or '/data'} float64{list(ref.shape)} equals the "
            f"reference bit-for-bit",
            "no dataset" if data is None else f"{data.dtype}: {dh.bits_mismatch(data, ref)}")
    check_provenance(what, attrs, text, list(sets))
    return out


# ---- generate --------------------------------------------------------------------------------

for i, shape in enumerate([(17,), (11, 13), (5, 7, 3), (1, 1, 9)]):
    sets = [f"run.threads={1 + i % 2}"] + (["run.decomposition=1d"] if i == 2 else [])
    copy_case(f"ramp {shape}", {"source": "generate", "shape": ",".join(map(str, shape)),
                                "generator": "ramp"}, dh.ref_ramp(shape), sets)
for i, shape in enumerate([(33,), (31, 17), (9, 11, 7)]):
    copy_case(f"bump {shape}", {"source": "generate", "shape": ",".join(map(str, shape)),
                                "generator": "bump"}, dh.ref_bump(shape),
              [f"run.threads={2 - i % 2}"])
copy_case("ramp (1024, 1000) in 1 MiB pieces into /grp/sub/arr",
          {"source": "generate", "shape": "1024,1000"}, dh.ref_ramp((1024, 1000)),
          ["run.chunk_mb=1", "run.threads=2"], dataset="/grp/sub/arr")

# ---- raw files with header bytes -------------------------------------------------------------


def raw_case(dtype, shape, offset, sets):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        x = (rng.standard_normal(shape) * 1e4).astype(dt)
    else:
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
        x.flat[0], x.flat[-1] = info.min, info.max
    name = f"raw_{dtype}_{'x'.join(map(str, shape))}_off{offset}.bin"
    header = bytes(rng.integers(0, 256, size=offset, dtype=np.uint8))
    h.write(name, header + x.astype(dt.newbyteorder("=")).tobytes())
    copy_case(f"raw {dtype} {shape} offset {offset}",
              {"source": "raw", "path": name, "dtype": dtype,
               "shape": ",".join(map(str, shape)), "offset": offset},
              x.astype(np.float64), sets)


raw_case("int16", (9, 11), 16, ["run.threads=1"])
raw_case("float32", (5, 4, 3), 3, ["run.threads=2"])
raw_case("uint64", (29,), 0, ["run.threads=2"])
raw_case("uint64", (3, 7), 5, ["run.threads=1", "run.decomposition=2d"])
raw_case("float32", (1200, 1000), 8, ["run.threads=2", "run.chunk_mb=1"])

# ---- HDF5 int32 ------------------------------------------------------------------------------

i32 = rng.integers(-2**31, 2**31 - 1, size=(23, 19), dtype=np.int32, endpoint=True)
with h5py.File(h.path("in_i32.h5"), "w") as f:
    f.create_dataset("/a/b", data=i32)
copy_case("hdf5 int32 (23, 19)", {"source": "hdf5", "path": "in_i32.h5", "dataset": "/a/b"},
          i32.astype(np.float64), ["run.threads=2"])

# ---- an existing output ----------------------------------------------------------------------

exist_text = dh.job_text([("job", {"kernel": "copy"}),
                          ("input", {"source": "generate", "shape": "6,5", "generator": "bump"}),
                          ("output", {"path": "exists.h5"})])
job = h.write("exists.ini", exist_text)
old = h.write("exists.h5", b"not written by dproc\n" * 10)
before, mtime = dh.sha256(old), os.stat(old).st_mtime_ns
res = h.dproc(job)
h.check(res.rc == 2, "existing output without overwrite: exit status 2", res.describe())
line = dh.line_of(exist_text, "path = exists.h5")
pat = rf"^{re.escape(job)}:{line}: \[output\] path: .*exists"
h.check(re.search(pat, res.err, re.M), f"existing output: message at line {line} of the job",
        res.err)
h.check(dh.sha256(old) == before and os.stat(old).st_mtime_ns == mtime,
        "existing output: old file untouched")
h.check_no_leftovers("existing output refused")
res = h.dproc(job, sets=["output.overwrite=true", "run.threads=2"])
h.check_no_leftovers("existing output replaced")
if h.expect_ok(res, "existing output with --set output.overwrite=true"):
    data, attrs = read_output(old)
    h.check(data is not None and dh.same_bits(data, dh.ref_bump((6, 5))),
            "existing output replaced by the new result",
            None if data is None else dh.bits_mismatch(data, dh.ref_bump((6, 5))))
    check_provenance("overwrite", attrs, exist_text, ["output.overwrite=true", "run.threads=2"])

# ---- the input is never the output -----------------------------------------------------------

src = h.write("sub/input.bin", rng.integers(0, 255, size=64, dtype=np.uint8).tobytes())
os.symlink("sub/input.bin", h.path("link.bin"))
src_sum = dh.sha256(src)
for label, out_path in [("same name", "sub/input.bin"), ("through a symlink", "link.bin"),
                        ("through '..'", "sub/../sub/input.bin"),
                        ("absolute path", src)]:
    for overwrite in ("false", "true"):
        text = dh.job_text([("job", {"kernel": "copy"}),
                            ("input", {"source": "raw", "path": "sub/input.bin",
                                       "dtype": "uint8", "shape": "8,8"}),
                            ("output", {"path": out_path, "overwrite": overwrite})])
        what = f"output == input {label}, overwrite = {overwrite}"
        job = h.write("same.ini", text)
        res = h.dproc(job)
        h.check(res.rc == 2, f"{what}: exit status 2", res.describe())
        line = dh.line_of(text, f"path = {out_path}", start=dh.line_of(text, "[output]"))
        pat = rf"^{re.escape(job)}:{line}: \[output\] path: .*the input"
        h.check(re.search(pat, res.err, re.M), f"{what}: message names the input, at line "
                f"{line}", res.err)
        h.check(dh.sha256(src) == src_sum and os.path.islink(h.path("link.bin")),
                f"{what}: input unchanged")
        h.check_no_leftovers(what)

h.finish()
