#!/usr/bin/python3
"""Integration test: the streaming engine ([run] memory_mb, chunk_mb, prefetch, overlap) and
kernel map, at the given rank count with 1 and 2 threads, against numpy and math.fsum.

1. reduce (every op, hist without range, median, percentiles) of a raw float64 3001x517 file, a
   raw int16 3-D file, a float32 HDF5 contiguous dataset and a chunked, gzip'd HDF5 dataset: the
   JSON results are identical (same printed digits) whether the block is kept in memory
   (memory_mb = 0) or streamed in pieces and read again for each pass (memory_mb small, chunk_mb
   1, pieces that do not divide the rows), with overlap off, prefetch 1, 3 or 5, threads 1 or 2,
   decomposition 2d and (for np > 1) one rank; and equal to numpy: count, nan, min, max, argmin,
   argmax, median and percentiles exactly, sum == math.fsum, hist as np.histogram; a chunked
   dataset's report note says "chunked". A streamed copy equals its input.
2. map: every op on float64 data with negatives, zeros, NaN, Inf, subnormals and ties equals
   numpy bit for bit (NaN where numpy has NaN), the ops rotating through threads 1 and 2, in
   memory and streamed; output types float32, int8, int16, int32 and uint8 (rint ties to even,
   saturation, NaN -> 0) as numpy's astype; then_reduce gives numpy's statistics of the stored
   values (read back with h5py), also a multi-pass median that memory_mb forces to read the
   input again; streamed == in memory.
3. The report: read/write wait and busy times, overlap in [0, 1] (near 0 where the reads cannot
   overlap: overlap = false, chunked HDF5), read_gbs, compute_gbs, a verdict, peak_rss_mb >=
   base_rss_mb > 0, bytes_read equal to the file's data bytes for one pass and a multiple of
   them for several; no overlap/verdict for source = generate.
4. The memory bound: a 128 MiB raw file reduced at np 2 with memory_mb = 16 grows each rank's
   peak RSS by at most 16 MiB plus a fixed overhead, with the results of memory_mb = 0.
5. Refusals: memory_mb below one row, raw files of a wrong size or shorter than their header,
   map parameters missing or not used by the op, [reduce] with kernel map: the right exit status
   and message, no output, no temporary file, inputs unchanged."""

import decimal
import json
import math
import os
import re
import warnings

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("stream", __doc__)
rng = np.random.default_rng(20250611)
warnings.simplefilter("ignore", RuntimeWarning)  # log(-1), exp(710), float32 overflow
nan, inf = math.nan, math.inf

ALL_OPS = "count,sum,min,max,mean,var,std,l2,argmin,argmax,hist,median"
VERDICTS = ("I/O-bound", "compute-bound", "balanced")


# ---- comparing -------------------------------------------------------------------------------

def flatten(obj, prefix=""):
    out = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "/"))
        else:
            out[key] = v
    return out


def literal_results(path):
    """The report's results with every number kept as the text dproc printed."""
    with open(path) as f:
        return json.load(f, parse_float=str, parse_int=str).get("results")


def read_h5(path, group="/results", dataset=None):
    """(flattened {name: value} of the datasets under group or None, the dataset or None)."""
    with h5py.File(path, "r") as f:
        d = f.get(dataset) if dataset else None
        data = d[()] if isinstance(d, h5py.Dataset) else None
        return dh.h5_datasets(f, group), data


def same_values(got, want):
    """Same dtype and shape; NaN where want has NaN; every other value with the same bits."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    if want.dtype.kind != "f":
        return bool(np.array_equal(got, want))
    gn, wn = np.isnan(got), np.isnan(want)
    ui = np.dtype(f"u{want.dtype.itemsize}")
    return bool(np.array_equal(gn, wn) and
                np.array_equal(got[~wn].view(ui), want[~wn].view(ui)))


def mismatch(got, want):
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"got {got.dtype}{list(got.shape)}, expected {want.dtype}{list(want.shape)}"
    if want.dtype.kind == "f":
        ui = np.dtype(f"u{want.dtype.itemsize}")
        bad = (np.isnan(got) != np.isnan(want)) | (
            ~np.isnan(want) & (got.view(ui) != want.view(ui)))
    else:
        bad = got != want
    idx = np.argwhere(bad)
    if len(idx) == 0:
        return "identical"
    i = tuple(idx[0])
    return (f"{len(idx)} of {want.size} values differ; first at {list(i)}: got {got[i]!r}, "
            f"expected {want[i]!r}")


def reduce_ref(values, ops, bins=64, range_=None, pcts=(), ddof=0):
    """name -> (kind, expected[, tolerance]) for the reduce results of the values (NaN
    skipped), from numpy and math.fsum."""
    a = np.asarray(values, dtype=np.float64)
    x = a.ravel()
    v = x[~np.isnan(x)]
    base = dh.reduce_reference(x)
    ops = set(ops.split(","))
    ref = {"nan": ("int", base["nan"])}
    if "count" in ops:
        ref["count"] = ("int", base["count"])
    for k in ("sum", "min", "max"):
        if k in ops:
            ref[k] = ("exact", base[k])  # sum: math.fsum, correctly rounded
    if "mean" in ops:
        ref["mean"] = ("rel", base["mean"], 4 * dh.EPS)
    for k, fn in (("var", np.var), ("std", np.std)):
        if k in ops:
            ref[k] = ("rel", float(fn(v, ddof=ddof)), 1e-13)
    if "l2" in ops:
        ref["l2"] = ("rel", math.sqrt(math.fsum((v * v).tolist())), 1e-14)
    for k, fn in (("argmin", np.nanargmin), ("argmax", np.nanargmax)):
        if k in ops:
            ref[k] = ("ints", [int(i) for i in np.unravel_index(int(fn(x)), a.shape)])
    if "hist" in ops:
        lo, hi = range_ if range_ is not None else (float(v.min()), float(v.max()))
        counts, edges = np.histogram(v, bins, range=(lo, hi))
        ref["hist/bins"] = ("int", bins)
        ref["hist/range"] = ("floats", [lo, hi])
        ref["hist/edges"] = ("floats", edges)
        ref["hist/counts"] = ("ints", counts)
        ref["hist/below"] = ("int", int((v < lo).sum()))
        ref["hist/above"] = ("int", int((v > hi).sum()))
    if "median" in ops:
        ref["median"] = ("exact", float(np.median(v)))
    for q in pcts:
        ref[f"percentiles/{q}"] = ("exact", float(np.percentile(v, float(q))))
    return ref


def judge(kind, got, want, tol=None):
    """(ok, description of the expectation)"""
    g = np.asarray(got)
    if kind == "int":
        return g.shape == () and g.dtype.kind in "iu" and int(g) == want, f"{want}"
    if kind == "ints":
        w = np.asarray(want)
        ok = g.dtype.kind in "iu" and g.shape == w.shape and np.array_equal(g, w)
        return ok, (f"{w.tolist()}" if w.size <= 8 else f"numpy's {w.size} values")
    if kind == "floats":
        w = np.asarray(want, dtype=np.float64)
        return (g.dtype == np.float64 and dh.same_bits(g, w)), \
            (f"{w.tolist()} bit for bit" if w.size <= 8 else f"numpy's {w.size} values bit for bit")
    if g.shape != () or g.dtype != np.float64:
        return False, f"a float64 {want!r}"
    gv = float(g)
    if kind == "exact":
        ok = math.isnan(gv) if math.isnan(want) else gv == want
        return ok, f"{want!r} exactly"
    if kind == "rel":
        if not math.isfinite(want):
            return (math.isnan(gv) if math.isnan(want) else gv == want), f"{want!r}"
        return abs(gv - want) <= tol * abs(want), f"{want!r} within {tol:.2g} relative"
    raise ValueError(kind)


def check_results(what, hres, ref):
    """Compares the HDF5 results with numpy's, one check per result."""
    if not h.check(hres is not None, f"{what}: /results group in the output file"):
        return
    for key, spec in ref.items():
        if key not in hres:
            h.check(False, f"{what}: {key} present in /results", sorted(hres))
            continue
        ok, desc = judge(spec[0], hres[key], *spec[1:])
        got = np.asarray(hres[key])
        h.check(ok, f"{what}: {key} == {desc}",
                f"got {got.tolist() if got.size <= 8 else mismatch(got, np.asarray(spec[1]))}")


def check_report(what, rep, data_bytes, passes, np_, threads, file_input=True, hidden=True):
    """The streaming fields of the report. passes: 1 (bytes_read == data_bytes), "multi" (a
    multiple of data_bytes, at least 2) or "any" (a multiple, at least 1). hidden = False:
    the reads cannot overlap the compute (overlap = false, or a chunked HDF5 dataset), so
    (almost) nothing of them is hidden."""
    h.check(rep.get("status") == "ok" and rep.get("ranks") == np_ and
            rep.get("threads") == threads,
            f"{what}: report status ok, ranks {np_}, threads {threads}",
            {k: rep.get(k) for k in ("status", "ranks", "threads")})
    t = rep.get("timing") or {}
    tkeys = ("read_wait", "read_busy", "write_wait", "write_busy")
    keys = ("bytes_read", "peak_rss_mb", "base_rss_mb")
    skeys = ("overlap", "read_gbs", "compute_gbs", "verdict")
    missing = [f"timing.{k}" for k in tkeys if k not in t] + [k for k in keys if k not in rep]
    if file_input:
        missing += [k for k in skeys if k not in rep]
    if not h.check(not missing, f"{what}: report has timing.{{{','.join(tkeys)}}}, "
                   f"{', '.join(keys + (skeys if file_input else ()))}", missing):
        return
    num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    rw, rb, ww, wb = (t[k] for k in tkeys)
    h.check(all(num(v) for v in (rw, rb, ww, wb)) and rb >= rw >= 0 and wb >= ww >= 0,
            f"{what}: read_busy >= read_wait >= 0 and write_busy >= write_wait >= 0",
            {k: t[k] for k in tkeys})
    if file_input:
        ov = rep["overlap"]
        h.check(num(ov) and 0 <= ov <= 1, f"{what}: 0 <= overlap <= 1", ov)
        if not hidden:  # the reads are waited for in full; 0.2 leaves room for clock noise
            h.check(num(ov) and ov <= 0.2, f"{what}: reads not overlapped: overlap <= 0.2",
                    (ov, t.get("read_wait"), t.get("read_busy")))
        h.check(num(rep["read_gbs"]) and rep["read_gbs"] >= 0 and num(rep["compute_gbs"]) and
                rep["compute_gbs"] >= 0, f"{what}: read_gbs and compute_gbs are numbers >= 0",
                (rep["read_gbs"], rep["compute_gbs"]))
        v = rep["verdict"]
        h.check(isinstance(v, str) and v.startswith(VERDICTS),
                f"{what}: verdict starts with one of {', '.join(VERDICTS)}", v)
    else:
        there = [k for k in skeys if k in rep]
        h.check(not there, f"{what}: source = generate: no {', '.join(skeys)} in the report",
                there)
    pk, bs = rep["peak_rss_mb"], rep["base_rss_mb"]
    h.check(num(pk) and num(bs) and pk >= bs > 0, f"{what}: peak_rss_mb >= base_rss_mb > 0",
            (pk, bs))
    br = rep["bytes_read"]
    if data_bytes is None:
        return
    if passes == 1:
        h.check(br == data_bytes, f"{what}: bytes_read == the data's {data_bytes} bytes (one "
                f"pass)", br)
    else:
        least = 2 if passes == "multi" else 1
        h.check(isinstance(br, int) and br % data_bytes == 0 and br >= least * data_bytes,
                f"{what}: bytes_read is a multiple >= {least} of the data's {data_bytes} bytes "
                f"({'re-read for each pass' if least == 2 else 'whole passes'})", br)


# ---- running ---------------------------------------------------------------------------------

def run_job(tag, sections, sets=(), np_=None, what=None):
    """Writes TAG.ini (sections plus [output] TAG.h5 and TAG.json), runs it with the sets and
    returns the parsed report, or None after a failed check."""
    np_ = h.np if np_ is None else np_
    what = what or tag
    secs = list(sections) + [("output", {"path": f"{tag}.h5", "report": f"{tag}.json"})]
    job = h.write(f"{tag}.ini", dh.job_text(secs, comment=what))
    res = h.dproc(job, sets=list(sets), opts=["-q"], np=np_)
    h.check_no_leftovers(what)
    if not h.expect_ok(res, what):
        return None
    rep = dh.load_json(h.path(f"{tag}.json"))
    if not h.check(isinstance(rep, dict), f"{what}: report readable", rep):
        return None
    return rep


def run_sets(threads, memory_mb=None, chunk_mb=None, overlap=None, prefetch=None):
    """--set overrides: run.threads first (the report is checked against it), then the others."""
    sets = [f"run.threads={threads}"]
    for k, v in (("memory_mb", memory_mb), ("chunk_mb", chunk_mb), ("overlap", overlap),
                 ("prefetch", prefetch)):
        if v is not None:
            sets.append(f"run.{k}={v}")
    return sets


def label(sets, np_):
    return " ".join(s.replace("run.", "") for s in sets) + f" np {np_}"


def dry_pieces(tag, sections, sets, np_=None):
    """(pieces per rank, rows per piece, whether streamed, the dry run's output, the block rows
    of the ranks) from --dry-run."""
    secs = list(sections) + [("output", {"path": f"{tag}.h5"})]
    job = h.write(f"{tag}.ini", dh.job_text(secs))
    res = h.dproc(job, sets=list(sets), opts=["--dry-run"], np=np_ or h.np)
    m = re.search(r"^reads: up to (\d+) pieces? per rank of (\d+) rows.*?(streamed)?$",
                  res.out, re.M)
    if not h.check(res.rc == 0 and m, f"{tag}: --dry-run prints the read plan", res.describe()):
        return 0, 0, False, res.out, []
    blocks = [int(b) for b in re.findall(r"^\s+\d+\s+[\d,]+\s+(\d+)[\d,]*\s+\d+$", res.out,
                                         re.M)]
    return int(m.group(1)), int(m.group(2)), bool(m.group(3)), res.out, blocks


# ---- 1. reduce: streamed == in memory == numpy ----------------------------------------------

def reduce_family(name, input_keys, data, data_bytes, bins, pcts, variants, small_mb=None,
                  note_chunked=None):
    """Runs reduce (every op) with each variant of [run] sets and checks every run against
    numpy and all runs against each other. variants: [(sets, passes, np or None)]. With
    small_mb, --dry-run first shows that memory_mb = small_mb streams several pieces."""
    sections = [("job", {"name": name, "kernel": "reduce"}), ("input", input_keys),
                ("reduce", {"ops": ALL_OPS, "bins": bins, "percentiles": ", ".join(pcts)})]
    ref = reduce_ref(data, ALL_OPS, bins=bins, pcts=pcts)
    if small_mb:  # the streamed plan: several pieces per rank
        n, rows, streamed, out, blocks = dry_pieces(
            f"{name}_dry", sections, ["run.memory_mb=%d" % small_mb, "run.chunk_mb=1"])
        h.check(n > 1 and streamed, f"{name}: memory_mb {small_mb} chunk_mb 1 plans several "
                f"streamed pieces per rank at np {h.np} (got {n} of {rows} rows)", out)
        h.check(len(blocks) == h.np and rows and any(b % rows for b in blocks),
                f"{name}: the pieces of {rows} rows do not divide the blocks' rows {blocks}",
                out)
    lits = []
    for i, (sets, passes, np_) in enumerate(variants):
        np_ = np_ or h.np
        tag = f"{name}_{i}"
        what = f"{name} reduce {label(sets, np_)}"
        rep = run_job(tag, sections, sets, np_, what)
        if rep is None:
            continue
        threads = int(sets[0].split("=")[1])
        check_report(what, rep, data_bytes, passes, np_, threads,
                     hidden=not note_chunked and "run.overlap=false" not in sets)
        if note_chunked is not None:
            note = rep.get("note") or ""
            if note_chunked:
                h.check("chunked" in note, f"{what}: the report's note says why (\"chunked\")",
                        note)
            else:
                h.check("chunked" not in note, f"{what}: no note about a chunked dataset", note)
        hres, _ = read_h5(h.path(f"{tag}.h5"))
        check_results(what, hres, ref)
        lit = literal_results(h.path(f"{tag}.json")) or {}
        h.check(float(lit.get("sum", "nan")) == ref["sum"][1],
                f"{what}: the report's results.sum == math.fsum {ref['sum'][1]!r}",
                lit.get("sum"))
        lits.append((what, lit))
    if len(lits) < 2:
        return lits
    base_what, base = lits[0]
    for what, lit in lits[1:]:
        fb, fl = flatten(base or {}), flatten(lit or {})
        diff = [f"{k}: {fl.get(k)!r} vs {fb.get(k)!r}" for k in sorted(set(fb) | set(fl))
                if fb.get(k) != fl.get(k)]
        h.check(fb and not diff, f"{what}: JSON results identical to those of {base_what}",
                "\n".join(diff[:10]))
    return lits


# raw float64 3001x517 after a 16-byte header: normal values, a fifth of them duplicates of
# others, a seventh of the rows rounded to 2 decimals (many equal values), 5 NaN; the minimum
# and the maximum at two places each (the first one is reported)
F64_SHAPE = (3001, 517)
f64 = rng.standard_normal(F64_SHAPE)
n64 = f64.size
dst = rng.choice(n64, n64 // 5, replace=False)
f64.flat[dst] = f64.flat[rng.integers(0, n64, dst.size)]
f64[::7] = np.round(f64[::7], 2)
f64.flat[[n64 // 3, n64 - 2]] = -6.5
f64.flat[[1234, n64 // 2 + 17]] = 6.25
f64.flat[[5, 100000, n64 // 2, n64 - 700, n64 - 1]] = nan
h.write("f64.bin", bytes(range(16)) + f64.tobytes())
F64_IN = {"source": "raw", "path": "f64.bin", "dtype": "float64", "shape": "3001,517",
          "offset": 16}
PCTS = ["1", "50", "99.9"]
variants = [(run_sets(memory_mb=0, threads=1), 1, None),
            (run_sets(memory_mb=0, threads=2), 1, None),
            (run_sets(memory_mb=2, chunk_mb=1, threads=1), "multi", None),
            (run_sets(memory_mb=2, chunk_mb=1, threads=2), "multi", None),
            (run_sets(memory_mb=2, chunk_mb=1, overlap="false", threads=2), "multi", None),
            (run_sets(memory_mb=0, overlap="false", threads=1), 1, None),
            (run_sets(memory_mb=2, chunk_mb=1, prefetch=1, threads=1), "multi", None),
            (run_sets(memory_mb=2, chunk_mb=1, prefetch=5, threads=2), "multi", None)]
if h.np > 1:
    variants.append((run_sets(memory_mb=2, chunk_mb=1, threads=2), "multi", 1))
reduce_family("f64", F64_IN, f64, f64.nbytes, 50, PCTS, variants, 2)

# raw int16 203x97x61 after a 6-byte header (2.4 MB; 9.6 MB as float64); one streamed run with
# decomposition 2d, whose blocks (np > 1) are not contiguous in the file
I16_SHAPE = (203, 97, 61)
i16 = rng.integers(-32768, 32767, size=I16_SHAPE, dtype=np.int16, endpoint=True)
i16.flat[rng.choice(i16.size, 1000, replace=False)] = 7  # many equal values
h.write("i16.bin", b"HEADER" + i16.tobytes())
I16_IN = {"source": "raw", "path": "i16.bin", "dtype": "int16", "shape": "203,97,61",
          "offset": 6}
reduce_family("i16", I16_IN, i16, i16.nbytes, 33, ["0", "25", "99.9"],
              [(run_sets(memory_mb=0, threads=1), 1, None),
               (run_sets(memory_mb=1, chunk_mb=1, threads=2), "multi", None),
               (run_sets(memory_mb=1, chunk_mb=1, overlap="false", threads=1) +
                ["run.decomposition=2d"], "multi", None)])

# float32 2003x301 as an HDF5 contiguous dataset and as a chunked, gzip'd one
F32_SHAPE = (2003, 301)
f32 = (rng.standard_normal(F32_SHAPE) * 100).astype(np.float32)
f32.flat[rng.choice(f32.size, 3000, replace=False)] = np.float32(1.5)
f32.flat[[9, f32.size // 2]] = np.nan
with h5py.File(h.path("f32.h5"), "w") as f:
    f.create_dataset("/contig", data=f32)
    f.create_dataset("/chunked", data=f32, chunks=(37, 301), compression="gzip", shuffle=True)
contig = reduce_family("h5contig", {"source": "hdf5", "path": "f32.h5", "dataset": "/contig"},
                       f32, f32.nbytes, 40, PCTS,
                       [(run_sets(memory_mb=0, threads=2), 1, None),
                        (run_sets(memory_mb=1, chunk_mb=1, threads=1), "multi", None),
                        (run_sets(memory_mb=1, chunk_mb=1, prefetch=3, threads=2), "multi",
                         None)], note_chunked=False)
chunked = reduce_family("h5chunked", {"source": "hdf5", "path": "f32.h5", "dataset": "/chunked"},
                        f32, f32.nbytes, 40, PCTS,
                        [(run_sets(memory_mb=0, threads=1), 1, None),
                         (run_sets(memory_mb=1, chunk_mb=1, threads=2), "multi", None)],
                        note_chunked=True)
if contig and chunked:
    h.check(flatten(contig[0][1]) == flatten(chunked[0][1]),
            "float32 HDF5: chunked+gzip and contiguous datasets give identical JSON results")

# a streamed copy of the int16 file
rep = run_job("copy_i16", [("job", {"kernel": "copy"}), ("input", I16_IN)],
              run_sets(memory_mb=1, chunk_mb=1, threads=2), what="copy i16 streamed")
if rep is not None:
    check_report("copy i16 streamed", rep, i16.nbytes, 1, h.np, 2)
    _, data = read_h5(h.path("copy_i16.h5"), dataset="/data")
    want = i16.astype(np.float64)
    h.check(data is not None and same_values(data, want),
            "copy i16 streamed (memory_mb 1, chunk_mb 1): /data equals the input as float64",
            "no /data" if data is None else mismatch(data, want))

# ---- 2. map ----------------------------------------------------------------------------------

# float64 1201x331: normal values times 3, a band of halves (ties: k/2 for |k| < 180000, beyond
# int16), a band spanning exp's range, and special values spread over every rank's block
MAP_SHAPE = (1201, 331)
mx = rng.standard_normal(MAP_SHAPE) * 3
mx[100:140] = rng.integers(-180000, 180000, size=(40, MAP_SHAPE[1])) / 2
mx[600:640] = rng.uniform(-800, 800, size=(40, MAP_SHAPE[1]))
mx[900:905] = rng.integers(-300, 600, size=(5, MAP_SHAPE[1])) / 2  # uint8 and int8 ties
SPECIAL = [0.0, -0.0, nan, inf, -inf, 0.5, -0.5, 1.5, 2.5, -2.5, 3.5, -3.5, 127.5, 128.5,
           -128.5, 254.5, 255.5, 256.0, -1.0, 32766.5, 32767.5, 32768.0, -32768.5, -32769.0,
           40000.0, -40000.0, 2147483647.5, -2147483648.5, 3e9, 1e300, -1e300, 5e-324, -1e-310,
           709.0, 709.8, 710.0, -745.0, -746.0, 1 / 3, 1e39, -1e39, 1e-46, 3.4028235e38,
           0.25, 2.25, -1.5, -0.25]
pos = rng.choice(mx.size, len(SPECIAL) * 6, replace=False)
mx.flat[pos] = np.repeat(SPECIAL, 6)
h.write("map.bin", mx.tobytes())
MAP_IN = {"source": "raw", "path": "map.bin", "dtype": "float64", "shape": "1201,331"}


def to_int(y, dt):
    """numpy's rint (ties to even), NaN -> 0, clipped to the type's limits, as that type."""
    info = np.iinfo(dt)
    r = np.rint(y)
    r[np.isnan(r)] = 0
    return np.clip(r, info.min, info.max).astype(dt)


def stored(y, dtype):
    dt = np.dtype(dtype)
    return y.astype(dt) if dt.kind == "f" else to_int(y, dt)


n, rows, streamed, out, _ = dry_pieces(
    "map_dry", [("job", {"kernel": "map"}), ("input", MAP_IN), ("map", {"op": "abs"})],
    ["run.memory_mb=1", "run.chunk_mb=1"])
h.check(n > 1 and streamed, f"map: memory_mb 1 chunk_mb 1 plans several streamed pieces per "
        f"rank at np {h.np} (got {n} of {rows} rows)", out)

x = mx
MAP_CASES = [  # (map keys, numpy reference of the float64 values)
    ({"op": "scale", "a": -2.5}, lambda: -2.5 * x),
    ({"op": "offset", "b": 0.125}, lambda: x + 0.125),
    ({"op": "axpy", "a": 3, "b": -1.5}, lambda: 3.0 * x + -1.5),
    ({"op": "clamp", "lo": -1.5, "hi": 2.25}, lambda: np.clip(x, -1.5, 2.25)),
    ({"op": "clamp", "lo": 0.5}, lambda: np.clip(x, 0.5, None)),
    ({"op": "clamp", "hi": -0.25}, lambda: np.clip(x, None, -0.25)),
    ({"op": "abs"}, lambda: np.abs(x)),
    ({"op": "sqrt"}, lambda: np.sqrt(x)),
    ({"op": "log"}, lambda: np.log(x)),
    ({"op": "exp"}, lambda: np.exp(x)),
    ({"op": "threshold", "lo": 0.5}, lambda: np.where(np.isnan(x), nan,
                                                      np.where(x >= 0.5, 1.0, 0.0))),
    ({"op": "cast"}, lambda: x.copy()),
    # output types
    ({"op": "cast", "dtype": "float32"}, lambda: x),
    ({"op": "cast", "dtype": "int16"}, lambda: x),
    ({"op": "scale", "a": 1e5, "dtype": "int32"}, lambda: 1e5 * x),
    ({"op": "axpy", "a": 100, "b": 128, "dtype": "uint8"}, lambda: 100.0 * x + 128.0),
    ({"op": "cast", "dtype": "uint8"}, lambda: x),
    ({"op": "offset", "b": 0.5, "dtype": "int8"}, lambda: x + 0.5),
]


def exact_ulps(op, x, got, want):
    """The largest error, in ulps of the exact value, of got where it differs from want (numpy's
    value); the exact value is ln or exp to 34 digits (decimal), and a NaN or an infinity that is
    not where numpy has it, or a differing log of a value <= 0, counts as infinitely far."""
    ctx = decimal.Context(prec=34)
    worst = 0.0
    for k in np.flatnonzero(~((got == want) | (np.isnan(got) & np.isnan(want)))):
        v, g = float(x.flat[k]), float(got.flat[k])
        if not (math.isfinite(g) and math.isfinite(v)) or (op == "log" and v <= 0.0):
            return math.inf
        d = decimal.Decimal(v)
        exact = ctx.ln(d) if op == "log" else ctx.exp(d)
        ulp = decimal.Decimal(float(np.spacing(abs(float(exact)))))
        worst = max(worst, float(abs(decimal.Decimal(g) - exact) / ulp))
    return worst


for i, (keys, fn) in enumerate(MAP_CASES):
    dtype = keys.get("dtype", "float64")
    want = stored(fn(), dtype)
    mem = (i // 2) % 2  # the ops rotate through threads 1, 2 x in memory, streamed
    sets = run_sets(memory_mb=mem, chunk_mb=1 if mem else None, threads=1 + i % 2)
    desc = " ".join(f"{k}={v}" for k, v in keys.items())
    what = f"map {desc} {label(sets, h.np)}"
    tag = f"map_{i}"
    rep = run_job(tag, [("job", {"kernel": "map"}), ("input", MAP_IN), ("map", keys)], sets,
                  what=what)
    if rep is None:
        continue
    check_report(what, rep, mx.nbytes, 1, h.np, int(sets[0].split("=")[1]))
    _, got = read_h5(h.path(f"{tag}.h5"), dataset="/data")
    if got is None:
        h.check(False, f"{what}: /data in the output")
        continue
    if keys["op"] in ("exp", "log") and same_values(got, want) is False and \
            got.dtype == want.dtype and got.shape == want.shape:
        # numpy's own exp/log may differ from the C library's: with AVX-512 by up to about 1.7
        # ulp (measured). Where they differ, the exact value decides.
        far = exact_ulps(keys["op"], x, got, want)
        h.note(f"{what}: not bit for bit as numpy: {mismatch(got, want)}")
        h.check(far <= 1.0, f"{what}: /data {dtype} equal to numpy's np.{keys['op']} or within "
                f"1 ulp of the exact value where they differ", f"{far:.3f} ulp at worst")
    else:
        h.check(same_values(got, want), f"{what}: /data {dtype}{list(want.shape)} equals numpy "
                f"bit for bit", mismatch(got, want))

# map from source = generate: ramp + 1, no streaming verdict in the report
rep = run_job("map_gen", [("job", {"kernel": "map"}),
                          ("input", {"source": "generate", "shape": "37,23", "generator": "ramp"}),
                          ("map", {"op": "offset", "b": 1})], run_sets(threads=2),
              what="map offset b=1 of generate ramp 37x23")
if rep is not None:
    check_report("map of generate", rep, None, 1, h.np, 2, file_input=False)
    _, got = read_h5(h.path("map_gen.h5"), dataset="/data")
    want = dh.ref_ramp((37, 23)) + 1.0
    h.check(got is not None and same_values(got, want),
            "map offset b=1 of generate ramp: /data == ramp + 1", None if got is None
            else mismatch(got, want))

# then_reduce: statistics of the stored values


def then_reduce_case(tag, keys, reduce_keys, sets, passes, fn, np_=None):
    np_ = np_ or h.np
    dtype = keys.get("dtype", "float64")
    want = stored(fn(), dtype)
    desc = " ".join(f"{k}={v}" for k, v in keys.items())
    what = f"map {desc} [reduce] {reduce_keys} {label(sets, np_)}"
    secs = [("job", {"kernel": "map"}), ("input", MAP_IN), ("map", keys)]
    if reduce_keys:
        secs.append(("reduce", reduce_keys))
    rep = run_job(tag, secs, sets, np_, what)
    if rep is None:
        return None
    check_report(what, rep, mx.nbytes, passes, np_, int(sets[0].split("=")[1]),
                 hidden="run.overlap=false" not in sets)
    hres, got = read_h5(h.path(f"{tag}.h5"), dataset="/data")
    if not h.check(got is not None and same_values(got, want),
                   f"{what}: /data {dtype} equals numpy bit for bit",
                   "no /data" if got is None else mismatch(got, want)):
        return None
    # the reference uses the values as stored and read back, not the ones computed here
    pcts = [p.strip() for p in reduce_keys.get("percentiles", "").split(",") if p.strip()]
    rng_ = reduce_keys.get("range")
    ref = reduce_ref(got, keys["then_reduce"], bins=int(reduce_keys.get("bins", 64)),
                     range_=None if rng_ is None else tuple(float(v) for v in rng_.split(",")),
                     pcts=pcts, ddof=int(reduce_keys.get("ddof", 0)))
    check_results(what, hres, ref)
    rj = rep.get("results")
    jkeys = set(flatten(rj)) if isinstance(rj, dict) else set()
    h.check(hres is not None and jkeys == set(hres) and set(ref) <= jkeys,
            f"{what}: the report's results hold the then_reduce statistics, as /results",
            f"JSON {sorted(jkeys)}, HDF5 {sorted(hres or ())}")
    return literal_results(h.path(f"{tag}.json")), got


then_reduce_case("tr_int16", {"op": "axpy", "a": 2, "b": 1, "dtype": "int16",
                              "then_reduce": "count,sum,min,max,mean,std,argmin,argmax,hist,"
                                             "median"},
                 {"bins": 20, "percentiles": "5, 50, 95", "ddof": 1},
                 run_sets(memory_mb=0, threads=1), "any", lambda: 2.0 * x + 1.0)
then_reduce_case("tr_sqrt", {"op": "sqrt", "then_reduce": "count,sum,min,max,hist,median"},
                 {"bins": 30, "range": "0, 5"}, run_sets(memory_mb=1, chunk_mb=1, threads=2),
                 "any", lambda: np.sqrt(x))
then_reduce_case("tr_uint8", {"op": "cast", "dtype": "uint8",
                              "then_reduce": "count,sum,max,hist"}, {},
                 run_sets(memory_mb=1, threads=1), "any", lambda: x)
# a multi-pass median (and percentiles) that memory_mb = 1 forces to read the input again
mp = []
for i, sets in enumerate([run_sets(memory_mb=0, threads=2),
                          run_sets(memory_mb=1, chunk_mb=1, threads=1),
                          run_sets(memory_mb=1, chunk_mb=1, overlap="false", threads=2)]):
    r = then_reduce_case(f"tr_median_{i}", {"op": "clamp", "lo": -4, "hi": 4,
                                            "then_reduce": "median,count,min,max,sum"},
                         {"percentiles": "10, 90"}, sets, 1 if i == 0 else "multi",
                         lambda: np.clip(x, -4, 4))
    if r:
        mp.append((label(sets, h.np), r))
for lab, (lit, data) in mp[1:]:
    h.check(lit == mp[0][1][0], f"map clamp then_reduce median {lab}: JSON results identical to "
            f"those of {mp[0][0]}", f"{lit} vs {mp[0][1][0]}")

# ---- 4. the memory bound ---------------------------------------------------------------------

BIG_SHAPE = (4096, 4096)  # 128 MiB of float64
big = rng.standard_normal(BIG_SHAPE)
h.write("big.bin", big.tobytes())
big_secs = [("job", {"kernel": "reduce"}),
            ("input", {"source": "raw", "path": "big.bin", "dtype": "float64",
                       "shape": "4096,4096"}),
            ("reduce", {"ops": "sum,min,max,median"})]
big_ref = {"min": ("exact", float(big.min())), "max": ("exact", float(big.max())),
           "median": ("exact", float(np.median(big)))}
big_runs = {}
for mem, threads in ((16, 2), (0, 1)):
    sets = run_sets(memory_mb=mem, threads=threads)
    what = f"128 MiB raw float64 reduce sum,min,max,median {label(sets, 2)}"
    rep = run_job(f"big_m{mem}", big_secs, sets, 2, what)
    if rep is None:
        continue
    check_report(what, rep, big.nbytes, "multi" if mem else 1, 2, threads)
    hres, _ = read_h5(h.path(f"big_m{mem}.h5"))
    check_results(what, hres, big_ref)
    big_runs[mem] = (rep, literal_results(h.path(f"big_m{mem}.json")))
os.unlink(h.path("big.bin"))
if os.environ.get("DPROC_SANITIZED"):
    h.note("sanitizer build (DPROC_SANITIZED): AddressSanitizer's shadow memory and quarantine "
           "change the resident size, so the memory_mb bound is checked by the regular build "
           "only")
elif 16 in big_runs:
    rep = big_runs[16][0]
    grow = rep.get("peak_rss_mb", inf) - rep.get("base_rss_mb", 0)
    # 24 MiB of slack: the fixed overhead beside the data buffers (MPI's, HDF5's and OpenMP's
    # buffers and thread stacks, the allocator's arenas), which does not grow with the data
    h.check(grow <= 16 + 24, f"memory_mb 16 at np 2: peak_rss_mb - base_rss_mb = {grow:.1f} "
            f"<= 16 + 24 MiB of fixed overhead", rep)
if 0 in big_runs:
    rep = big_runs[0][0]
    grow = rep.get("peak_rss_mb", 0) - rep.get("base_rss_mb", 0)
    h.check(grow >= 60, f"memory_mb 0 at np 2: peak_rss_mb grows by {grow:.1f} >= 60 MiB (the "
            f"64 MiB block is held: the measure sees the data buffers)", rep)
if len(big_runs) == 2:
    h.check(big_runs[16][1] == big_runs[0][1],
            "128 MiB reduce: memory_mb 16 gives the JSON results of memory_mb 0",
            f"{big_runs[16][1]} vs {big_runs[0][1]}")

# ---- 5. refusals -----------------------------------------------------------------------------


def error_case(what, tag, sections, rc, patterns, inputs, sets=()):
    sums = {p: dh.sha256(h.path(p)) for p in inputs}
    secs = list(sections) + [("output", {"path": f"{tag}.h5"})]
    job = h.write(f"{tag}.ini", dh.job_text(secs, comment=what))
    res = h.dproc(job, sets=list(sets), opts=["-q"])
    h.check(res.rc == rc and not res.timed_out, f"{what}: exit status {rc}", res.describe())
    for pat, desc in patterns:
        h.check(re.search(pat, res.err), f"{what}: stderr {desc}", res.err[:3000])
    h.check(not os.path.exists(h.path(f"{tag}.h5")), f"{what}: no output file")
    h.check_no_leftovers(what)
    changed = [p for p, s in sums.items() if dh.sha256(h.path(p)) != s]
    h.check(not changed, f"{what}: inputs unchanged", changed)


wide = np.arange(2_000_000, dtype=np.float64)
h.write("wide.bin", wide.tobytes())
error_case("memory_mb 1 with rows of 1,000,000 float64 (8 MB)", "e_mem",
           [("job", {"kernel": "reduce"}),
            ("input", {"source": "raw", "path": "wide.bin", "dtype": "float64",
                       "shape": "2,1000000"}),
            ("run", {"memory_mb": 1})], 2, [(r"\[run\] memory_mb", "names [run] memory_mb")],
           ["wide.bin"])
h.write("odd.bin", np.arange(100, dtype=np.float64).tobytes() + b"xyz")  # 803 bytes
error_case("raw file of 803 bytes for 10x10 float64", "e_odd",
           [("job", {"kernel": "reduce"}),
            ("input", {"source": "raw", "path": "odd.bin", "dtype": "float64", "shape": "10,10"})],
           1, [(r"odd\.bin", "names the file odd.bin")], ["odd.bin"])
h.write("short.bin", np.arange(99, dtype=np.float64).tobytes())  # one value short
error_case("raw file of 99 float64 for 10x10", "e_short",
           [("job", {"kernel": "copy"}),
            ("input", {"source": "raw", "path": "short.bin", "dtype": "float64",
                       "shape": "10,10"})],
           1, [(r"short\.bin", "names the file short.bin")], ["short.bin"])
h.write("tiny.bin", b"\0" * 32)
error_case("raw file of 32 bytes with offset 64", "e_tiny",
           [("job", {"kernel": "reduce"}),
            ("input", {"source": "raw", "path": "tiny.bin", "dtype": "int8", "shape": "4",
                       "offset": 64})],
           1, [(r"tiny\.bin", "names the file tiny.bin")], ["tiny.bin"])
MAP_SMALL = {"source": "raw", "path": "tiny.bin", "dtype": "int8", "shape": "4,8"}
error_case("map op=scale without a", "e_scale",
           [("job", {"kernel": "map"}), ("input", MAP_SMALL), ("map", {"op": "scale"})], 2,
           [(r"\[map\] a\b", "names [map] a")], ["tiny.bin"])
error_case("map op=abs with a = 2", "e_abs",
           [("job", {"kernel": "map"}), ("input", MAP_SMALL), ("map", {"op": "abs", "a": 2})],
           2, [(r"\[map\] a\b", "names [map] a")], ["tiny.bin"])
error_case("map op=axpy with only a", "e_axpy",
           [("job", {"kernel": "map"}), ("input", MAP_SMALL), ("map", {"op": "axpy", "a": 2})],
           2, [(r"\[map\] b\b", "names [map] b")], ["tiny.bin"])
error_case("kernel map with [reduce] ops", "e_rops",
           [("job", {"kernel": "map"}), ("input", MAP_SMALL),
            ("map", {"op": "abs", "then_reduce": "sum"}), ("reduce", {"ops": "sum"})], 2,
           [(r"\[reduce\] ops", "names [reduce] ops")], ["tiny.bin"])
error_case("kernel map with a [reduce] section but no then_reduce", "e_rsec",
           [("job", {"kernel": "map"}), ("input", MAP_SMALL), ("map", {"op": "abs"}),
            ("reduce", {"bins": 10})], 2, [(r"\[reduce\]|then_reduce", "names [reduce]")],
           ["tiny.bin"])

h.check_no_leftovers("all runs")
h.finish()
