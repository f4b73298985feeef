#!/usr/bin/python3
"""Integration test: `dproc plot heatmap` and `dproc plot trace` (one process, no launcher).

Heat maps of HDF5 files written here with h5py are decoded by a PNG reader of this script's own
(zlib + struct, all five filter types): the data region has the data's shape (times a whole
zoom factor, or reduced by box means past --max-pixels), is grey exactly where the data are
NaN, and its colours, mapped back through the picture's own colour bar, give values ordered like
the data and close to them. A synthetic trace of 3 ranks with thousands of tiny events becomes an
SVG that parses, has one group per rank, a legend of the phases present, rects placed where the
axis says their times are, and stays small. Bad inputs and command lines exit 1 or 2 with a
message and leave no file behind."""

import json
import os
import re
import struct
import warnings
import xml.etree.ElementTree as ET
import zlib

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("plot", __doc__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(path):
    """(pixels as an H x W x 3 uint8 array, set of filter types used) of an 8-bit RGB PNG, or
    the reason it cannot be decoded (a str)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != PNG_SIGNATURE:
        return "no PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos + 12 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            return f"bad CRC in chunk {kind!r}"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    if ihdr is None:
        return "no IHDR chunk"
    w, hgt, depth, ctype, _, _, interlace = ihdr
    if (depth, ctype, interlace) != (8, 2, 0):
        return f"not 8-bit RGB without interlace: {ihdr}"
    raw = zlib.decompress(idat)
    stride, bpp = 3 * w, 3
    if len(raw) != hgt * (stride + 1):
        return f"{len(raw)} bytes of image data for {w} x {hgt}"
    out = np.zeros((hgt, stride), dtype=np.uint8)
    prev = bytearray(stride)
    filters = set()
    for y in range(hgt):
        start = y * (stride + 1)
        ftype = raw[start]
        filters.add(ftype)
        line = bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((a + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(a, prev[i], c)) & 0xFF
        elif ftype != 0:
            return f"unknown filter type {ftype} in row {y}"
        out[y] = np.frombuffer(bytes(line), dtype=np.uint8)
        prev = line
    return out.reshape(hgt, w, 3), filters


def regions(img):
    """Runs of columns holding pixels neither white (background) nor black (text, frames), as
    (x0, x1, y0, y1) half-open boxes: the data region first, the colour bar second."""
    white = np.all(img == 255, axis=2)
    black = np.all(img == 0, axis=2)
    coloured = ~white & ~black
    cols = coloured.any(axis=0)
    found, x = [], 0
    while x < len(cols):
        if not cols[x]:
            x += 1
            continue
        x0 = x
        while x < len(cols) and cols[x]:
            x += 1
        rows = np.nonzero(coloured[:, x0:x].any(axis=1))[0]
        found.append((x0, x, int(rows[0]), int(rows[-1]) + 1))
    return found


def is_grey(p):
    return int(p[0]) == int(p[1]) == int(p[2]) and 0 < int(p[0]) < 255


def heatmap(what, args, name):
    """Runs dproc plot heatmap ARGS -o NAME; returns (pixels, data box, bar box) or None."""
    out = h.path(name)
    res = h.run(["plot", "heatmap", *args, "-o", out], mpi=False)
    if not h.check(res.rc == 0 and os.path.exists(out), f"{what}: exit 0 and {name} written",
                   res.describe()):
        return None
    h.check(not h.temp_leftovers(), f"{what}: no temporary file left", h.temp_leftovers())
    dec = decode_png(out)
    if not h.check(not isinstance(dec, str), f"{what}: the PNG decodes", dec):
        return None
    img, filters = dec
    h.note(f"{what}: {img.shape[1]} x {img.shape[0]} pixels, PNG filter types {sorted(filters)}")
    found = regions(img)
    if not h.check(len(found) == 2, f"{what}: a data region and a colour bar", found):
        return None
    return img, found[0], found[1]


def check_cells(what, img, box, data, zoom):
    """Each data value is a zoom x zoom square of one colour, grey exactly where it is NaN;
    returns the cells' colours (rows x cols x 3)."""
    x0, x1, y0, y1 = box
    rows, cols = data.shape
    h.check((x1 - x0, y1 - y0) == (cols * zoom, rows * zoom),
            f"{what}: data region {cols * zoom} x {rows * zoom} pixels "
            f"({cols} x {rows} values, {zoom} pixels each way)", (x1 - x0, y1 - y0))
    if (x1 - x0, y1 - y0) != (cols * zoom, rows * zoom):
        return None
    region = img[y0:y1, x0:x1].reshape(rows, zoom, cols, zoom, 3)
    cells = region[:, 0, :, 0, :]
    uniform = np.all(region == cells[:, None, :, None, :])
    h.check(uniform, f"{what}: every value is one square of one colour")
    grey = np.array([[is_grey(cells[i, j]) for j in range(cols)] for i in range(rows)])
    nan = np.isnan(data)
    h.check(np.array_equal(grey, nan), f"{what}: grey exactly where the data are NaN "
            f"({int(nan.sum())} cells)", np.argwhere(grey != nan)[:10])
    return cells


def bar_values(img, bar, lo, hi):
    """The colours of the bar's middle column from top (hi) to bottom (lo) and their values."""
    x0, x1, y0, y1 = bar
    colours = img[y0:y1, (x0 + x1) // 2].astype(np.int64)
    values = hi - (hi - lo) * np.arange(y1 - y0) / (y1 - y0 - 1)
    return colours, values


def read_back(cells, colours, values):
    """Each cell's value as the value of the nearest colour (RGB distance) on the bar."""
    c = cells.reshape(-1, 3).astype(np.int64)
    d = ((c[:, None, :] - colours[None, :, :]) ** 2).sum(axis=2)
    return values[np.argmin(d, axis=1)].reshape(cells.shape[:2])


def check_values(what, img, bar, cells, data, lo, hi):
    """Read back through the bar, the values are ordered like the data (row-major; finite ones)
    and within a few bar steps of them."""
    colours, values = bar_values(img, bar, lo, hi)
    h.check(colours[0].tolist() != colours[-1].tolist(), f"{what}: the bar runs over colours")
    got = read_back(cells, colours, values)
    finite = ~np.isnan(data)
    want = np.clip(data[finite], lo, hi)
    est = got[finite]
    step = (hi - lo) / (len(values) - 1)
    order = np.argsort(want, kind="stable")
    drops = np.diff(est[order])
    h.check(np.all(drops >= -step - 1e-9),
            f"{what}: read back through the colour bar, values ordered like the data "
            f"(within one bar step, {step:.4g})", drops.min())
    h.note(f"{what}: {int((drops < 0).sum())} one-step inversions of {len(drops)}")
    err = np.abs(est - want).max()
    h.check(err <= 3 * step, f"{what}: read-back values within 3 bar steps of the data",
            f"largest difference {err}, step {step}")


# ---- heat maps -------------------------------------------------------------------------------

# a 40 x 60 float32 ramp with NaNs, the file's only 2-D dataset (a 1-D one beside it)
ramp = np.arange(40 * 60, dtype=np.float32).reshape(40, 60)
for i, j in ((3, 4), (10, 10), (39, 59), (0, 0)):
    ramp[i, j] = np.nan
ramp[20, :] = np.nan
with h5py.File(h.path("ramp.h5"), "w") as f:
    f["ramp"] = ramp
    f["counts"] = np.arange(5)
    f.create_group("g")["note"] = np.float64(1.0)
zoom = 256 // 60  # the largest whole factor that keeps 60 columns within 256 pixels
got = heatmap("ramp (the only 2-D dataset)", [h.path("ramp.h5")], "ramp.png")
if got:
    img, box, bar = got
    cells = check_cells("ramp", img, box, ramp.astype(np.float64), zoom)
    if cells is not None:
        check_values("ramp", img, bar, cells, ramp.astype(np.float64),
                     float(np.nanmin(ramp)), float(np.nanmax(ramp)))

# --range: values past HI take the bar's top colour, LO its bottom colour
got = heatmap("ramp --range 1,100", [h.path("ramp.h5") + ":/ramp", "--range", "1,100"],
              "ramp_range.png")
if got:
    img, box, bar = got
    cells = check_cells("ramp --range", img, box, ramp.astype(np.float64), zoom)
    colours, _ = bar_values(img, bar, 1, 100)
    if cells is not None:
        high = ~np.isnan(ramp) & (ramp >= 100)
        h.check(np.all(cells[high] == colours[0]), "ramp --range: values >= HI show the bar's "
                "top colour")
        h.check(np.array_equal(cells[0, 1], colours[-1]),
                "ramp --range: the value LO shows the bar's bottom colour")
        inside = np.where((ramp >= 1) & (ramp <= 100), ramp, np.nan).astype(np.float64)
        check_values("ramp --range (the values inside it)", img, bar, cells, inside, 1.0, 100.0)

# a 3-D int16 cube: a slice across axis 2, and the default (the middle of axis 0)
cube = (np.arange(6)[:, None, None] * 1000 + np.arange(30)[None, :, None] * 20 +
        np.arange(20)[None, None, :]).astype(np.int16)
with h5py.File(h.path("cube.h5"), "w") as f:
    f["data/cube"] = cube
    f["other"] = np.zeros((3, 3))
got = heatmap("cube --slice 2:7", [h.path("cube.h5") + ":/data/cube", "--slice", "2:7"],
              "slice.png")
if got:
    img, box, bar = got
    view = cube[:, :, 7].astype(np.float64)
    cells = check_cells("cube --slice 2:7", img, box, view, 256 // 30)
    if cells is not None:
        check_values("cube --slice 2:7", img, bar, cells, view, view.min(), view.max())
got = heatmap("cube, default slice", [h.path("cube.h5") + ":/data/cube"], "middle.png")
if got:
    img, box, bar = got
    view = cube[3].astype(np.float64)
    cells = check_cells("cube, default slice (index 3 of axis 0)", img, box, view, 256 // 30)
    if cells is not None:
        check_values("cube, default slice", img, bar, cells, view, view.min(), view.max())

# larger than --max-pixels: means of 3 x 3 boxes over the finite values
big = np.arange(300 * 200, dtype=np.float64).reshape(300, 200)
big[0:3, 0:3] = np.nan  # a box with no number: grey
big[10, 10] = np.nan  # one NaN in a box: the mean of the other eight
big[50, 50] = np.inf
with h5py.File(h.path("big.h5"), "w") as f:
    f["big"] = big
got = heatmap("300 x 200 --max-pixels 100", [h.path("big.h5"), "--max-pixels", "100"],
              "big.png")
if got:
    img, box, bar = got
    means = np.full((100, 67), np.nan)
    for bi in range(100):
        for bj in range(67):
            b = big[3 * bi:3 * bi + 3, 3 * bj:3 * bj + 3]
            b = b[np.isfinite(b)]
            if b.size:
                means[bi, bj] = b.mean()
    cells = check_cells("300 x 200 --max-pixels 100 (3 x 3 boxes)", img, box, means, 1)
    finite = big[np.isfinite(big)]
    if cells is not None:
        check_values("300 x 200 --max-pixels 100", img, bar, cells, means, finite.min(),
                     finite.max())

# ---- [output] preview of a reduction along an axis --------------------------------------------

# a 4-D array reduced along axis 1: /results/mean is 3-D (5 x 7 x 30), drawn across axis 2 at 4;
# the reference is numpy's mean, NaN skipped, and one all-NaN line leaves a NaN (grey) cell
nd4 = np.random.default_rng(7).standard_normal((5, 6, 7, 30))
nd4[2, :, 3, 4] = np.nan
nd4[1, 2, 0, 4] = np.nan
with h5py.File(h.path("nd.h5"), "w") as f:
    f["d4"] = nd4
    f["d5"] = np.zeros((2, 3, 4, 5, 6))
    f["d3"] = np.random.default_rng(8).standard_normal((6, 7, 8))
    f["d2"] = np.ones((5, 9))
    f["e3"] = np.zeros((3, 0, 5))


def preview_job(name, dataset, axis, preview, group=None, **extra):
    reduce_keys = {"ops": "count,mean"}
    if axis is not None:
        reduce_keys["axis"] = axis
    out = {"path": f"{name}.h5", "preview": f"{name}.png", "preview_dataset": preview, **extra}
    if group:
        out["dataset"] = group
    return h.write(f"{name}.ini", dh.job_text([
        ("job", {"kernel": "reduce"}), ("input", {"source": "hdf5", "path": "nd.h5",
                                                  "dataset": dataset}),
        ("reduce", reduce_keys), ("output", out)]))


res = h.dproc(preview_job("rmean", "/d4", 1, "/results/mean", preview_axis=2, preview_index=4),
              opts=["-q"])
if h.expect_ok(res, "reduce axis 1 of 5x6x7x30, preview /results/mean across axis 2 at 4"):
    dec = decode_png(h.path("rmean.png"))
    if h.check(not isinstance(dec, str), "reduce preview: the PNG decodes", dec):
        img = dec[0]
        found = regions(img)
        if h.check(len(found) == 2, "reduce preview: a data region and a colour bar", found):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN line
                view = np.nanmean(nd4, axis=1)[:, :, 4]
            cells = check_cells("reduce preview of the mean's slice", img, found[0], view,
                                256 // 7)
            if cells is not None:
                check_values("reduce preview of the mean's slice", img, found[1], cells, view,
                             float(np.nanmin(view)), float(np.nanmax(view)))

# a 3-D array reduced along axis 2 is 2-D, drawn whole; the group written as "/r/", the dataset
# named "/r/mean", as HDF5 reads both
res = h.dproc(preview_job("rmean3", "/d3", 2, "/r/mean", group="/r/"), opts=["-q"])
if h.expect_ok(res, "reduce axis 2 of 6x7x8 into /r/, preview /r/mean"):
    dec = decode_png(h.path("rmean3.png"))
    if h.check(not isinstance(dec, str), "reduce preview of a 2-D mean: the PNG decodes", dec):
        found = regions(dec[0])
        if h.check(len(found) == 2, "reduce preview of a 2-D mean: a data region and a bar",
                   found):
            with h5py.File(h.path("nd.h5"), "r") as f:
                view = f["d3"][()].mean(axis=2)
            cells = check_cells("reduce preview of a 2-D mean", dec[0], found[0], view, 256 // 7)
            if cells is not None:
                check_values("reduce preview of a 2-D mean", dec[0], found[1], cells, view,
                             float(view.min()), float(view.max()))

# refused before any data are read: exit 2 at the key's line, no output file and no picture
for name, dataset, axis, preview, extra, pattern in (
        ("rnone", "/d4", None, "/results/mean", {},
         r"\[output\] preview_dataset: a reduction without \[reduce\] axis writes scalars"),
        ("rstd", "/d4", 1, "/results/std", {},
         r"\[output\] preview_dataset: '/results/std' is not an array this job writes: it "
         r"writes count, mean in /results$"),
        ("r1d", "/d2", 0, "/results/mean", {},
         r"\[output\] preview: the output is 1-D: a heat map needs 2 or 3 dimensions"),
        ("rempty", "/e3", 0, "/results/mean", {},
         r"\[output\] preview: the output is empty \(extent 0 along axis 0\)"),
        ("r4d", "/d5", 0, "/results/count", {},
         r"\[output\] preview: the output is 4-D: a heat map needs 2 or 3 dimensions"),
        ("rbeyond", "/d4", 3, "/results/mean", {"preview_axis": 1, "preview_index": 6},
         r"\[output\] preview_index: 6 is beyond axis 1's extent 6"),
        ("r3d_index", "/d4", 0, "/results/mean", {"preview_index": 1}, None)):
    job = preview_job(name, dataset, axis, preview, **extra)
    res = h.dproc(job, opts=["-q"])
    if pattern is None:  # 6x7x30 reduced along axis 0 is 3-D: index 1 of its axis 0 is drawn
        h.check(res.rc == 0 and os.path.exists(h.path(f"{name}.png")),
                f"reduce preview {name}: exit 0, picture drawn", res.describe())
        continue
    said = re.search(rf"(^|/){name}\.ini:\d+: {pattern}", res.err, re.M)
    h.check(res.rc == dh.EXIT_USAGE and said and not os.path.exists(h.path(f"{name}.h5"))
            and not os.path.exists(h.path(f"{name}.png")),
            f"reduce preview {name}: refused, exit status 2, no output and no picture",
            res.describe())

# ---- the trace -------------------------------------------------------------------------------

RANKS = 3
events = []
for r in range(RANKS):
    events.append({"name": "process_name", "ph": "M", "pid": r,
                   "args": {"name": f"rank {r} (node{r})"}})
    for tid, lane in enumerate(["main", "reads in flight", "halo in flight",
                                "writes in flight"]):
        events.append({"name": "thread_name", "ph": "M", "pid": r, "tid": tid,
                       "args": {"name": lane}})
    events.append({"name": "setup", "cat": "dproc", "ph": "X", "ts": 0.0, "dur": 20000.0,
                   "pid": r, "tid": 0})
    t = 20000.0
    for i in range(2500):  # 7500 tiny events per rank
        events.append({"name": "compute", "cat": "dproc", "ph": "X", "ts": t, "dur": 90.0,
                       "pid": r, "tid": 0, "args": {"i": i}})
        events.append({"name": "halo", "cat": "dproc", "ph": "X", "ts": t, "dur": 50.0,
                       "pid": r, "tid": 2})
        events.append({"name": "halo wait", "cat": "dproc", "ph": "X", "ts": t + 90.0,
                       "dur": 10.0, "pid": r, "tid": 0})
        t += 100.0
    events.append({"name": "read", "cat": "dproc", "ph": "X", "ts": t, "dur": 40000.0,
                   "pid": r, "tid": 1})
    events.append({"name": "read wait", "cat": "dproc", "ph": "X", "ts": t, "dur": 40000.0,
                   "pid": r, "tid": 0})
    t += 40000.0
    events.append({"name": "reduce", "cat": "dproc", "ph": "X", "ts": t, "dur": 5000.0 * (r + 1),
                   "pid": r, "tid": 0})
    events.append({"name": "gather stats", "cat": "dproc", "ph": "X", "ts": t + 20000.0,
                   "dur": 3000.0, "pid": r, "tid": 0})
    events.append({"name": "write", "cat": "dproc", "ph": "X", "ts": t + 30000.0,
                   "dur": 50000.0 + 1000.0 * r, "pid": r, "tid": 0})
    events.append({"name": "counter", "ph": "C", "ts": 5.0, "pid": r, "args": {"v": 1}})
trace = {"traceEvents": events, "displayTimeUnit": "ms",
         "otherData": {"dproc_version": "0.1.0", "ranks": RANKS, "threads": 2,
                       "job": "jobs/synthetic.ini", "clock": "rank 0"}}
trace_path = h.write("run.json", json.dumps(trace))
phases = {e["name"] for e in events if e["ph"] == "X"}
svg = h.path("run.svg")
res = h.run(["plot", "trace", trace_path, "-o", svg], mpi=False)
what = f"plot trace ({RANKS} ranks, {sum(e['ph'] == 'X' for e in events)} events)"
if h.check(res.rc == 0 and os.path.exists(svg), f"{what}: exit 0, SVG written", res.describe()):
    h.check(not h.temp_leftovers(), f"{what}: no temporary file left")
    size = os.path.getsize(svg)
    h.check(size < 100_000, f"{what}: the SVG stays small (under 100 kB)", f"{size} bytes")
    try:
        root = ET.parse(svg).getroot()
    except ET.ParseError as e:
        root = None
        h.check(False, f"{what}: the SVG parses as XML", e)
    if root is not None:
        ns = "{http://www.w3.org/2000/svg}"
        h.check(root.tag == ns + "svg", f"{what}: the root element is <svg>", root.tag)
        groups = [g for g in root.iter(ns + "g") if g.get("class") == "rank"]
        h.check(sorted(g.get("data-rank") for g in groups) == [str(r) for r in range(RANKS)],
                f"{what}: exactly one g.rank per rank", [g.get("data-rank") for g in groups])
        labels = ["".join(t.itertext()) for g in groups for t in g.iter(ns + "text")
                  if t.get("class") == "rank-label"]
        h.check(labels == [f"rank {r} (node{r})" for r in range(RANKS)],
                f"{what}: every rank labelled with its name", labels)
        legend = {g.get("data-phase") for g in root.iter(ns + "g")
                  if g.get("class") == "legend-item"}
        h.check(legend == phases, f"{what}: the legend lists the phases present "
                f"(with the unknown one)", sorted(legend ^ phases))
        rects = [e for e in root.iter(ns + "rect") if e.find(ns + "title") is not None]
        h.check(len(rects) < 200, f"{what}: tiny events merged ({len(rects)} rects)")
        # the time axis: tick labels "N ms" at x positions give the scale
        ticks = [(float(t.get("x")), float(t.text.split()[0])) for g in root.iter(ns + "g")
                 if g.get("class") == "axis" for t in g.iter(ns + "text")]
        units = {t.text.split()[1] for g in root.iter(ns + "g") if g.get("class") == "axis"
                 for t in g.iter(ns + "text")}
        h.check(len(ticks) >= 3 and units == {"ms"}, f"{what}: time axis ticks in ms", ticks)
        if len(ticks) >= 2:
            (xa, ta), (xb, tb) = ticks[0], ticks[-1]
            px_per_us = (xb - xa) / ((tb - ta) * 1000.0)
            ok = True
            for r, g in enumerate(groups):
                writes = [e for e in g.iter(ns + "rect")
                          if e.find(ns + "title") is not None and
                          e.find(ns + "title").text.startswith("write:")]
                w = next(e for e in events if e["name"] == "write" and e["pid"] == r)
                x_want = xa + (w["ts"] / 1000.0 - ta) * 1000.0 * px_per_us
                ok &= (len(writes) == 1 and abs(float(writes[0].get("x")) - x_want) < 0.6 and
                       abs(float(writes[0].get("width")) - w["dur"] * px_per_us) < 0.6)
            h.check(ok, f"{what}: every rank's write drawn where the axis puts its start and "
                    f"end (within 0.6 px)")
        # the 2500 x (90 us compute + 10 us halo wait) are each narrower than a pixel: drawn in
        # the colour of compute, the title giving the shares of the time, 90% and 10%
        shares = [re.search(r"compute (\d+)%, halo wait (\d+)%", e.find(ns + "title").text)
                  for e in rects]
        shares = [(int(m.group(1)), int(m.group(2))) for m in shares if m]
        h.check(len(shares) == RANKS and all(89 <= c <= 91 and 9 <= w <= 11 for c, w in shares),
                f"{what}: alternating sub-pixel compute and halo wait shown with their shares "
                f"of the time (90% and 10%)", shares)

# ---- errors ----------------------------------------------------------------------------------

with h5py.File(h.path("line.h5"), "w") as f:
    f["line"] = np.arange(10.0)
h.write("broken.json", '{"traceEvents":[{"ph":"X","name":"read","ts":1}')
bad = [
    ("missing file", ["heatmap", h.path("none.h5")], 1, "none.h5"),
    ("missing dataset", ["heatmap", h.path("ramp.h5") + ":/nope"], 1, "/nope"),
    ("1-D dataset", ["heatmap", h.path("line.h5")], 1, "/line (10, 1-D, float)"),
    ("1-D dataset named", ["heatmap", h.path("line.h5") + ":/line"], 1, "1-D"),
    ("two candidates", ["heatmap", h.path("cube.h5")], 1, "/data/cube"),
    ("--slice 5:1", ["heatmap", h.path("cube.h5") + ":/data/cube", "--slice", "5:1"], 2,
     "--slice"),
    ("--slice 0:x", ["heatmap", h.path("cube.h5") + ":/data/cube", "--slice", "0:x"], 2,
     "--slice"),
    ("--slice 0:6 (past the end)", ["heatmap", h.path("cube.h5") + ":/data/cube", "--slice",
                                     "0:6"], 2, "outside axis 0"),
    ("--slice on 2-D data", ["heatmap", h.path("ramp.h5") + ":/ramp", "--slice", "0:1"], 2,
     "2-D"),
    ("--range 3,1", ["heatmap", h.path("ramp.h5"), "--range", "3,1"], 2, "--range"),
    ("--range 1", ["heatmap", h.path("ramp.h5"), "--range", "1"], 2, "--range"),
    ("--max-pixels 0", ["heatmap", h.path("ramp.h5"), "--max-pixels", "0"], 2,
     "--max-pixels"),
    ("missing trace", ["trace", h.path("none.json")], 1, "none.json"),
    ("broken trace", ["trace", h.path("broken.json")], 1, "broken.json"),
    ("no such picture", ["pie", h.path("ramp.h5")], 2, "pie"),
]
for name, args, rc, needle in bad:
    out = h.path("bad.out")
    res = h.run(["plot", *args, "-o", out], mpi=False)
    h.check(res.rc == rc and res.err.startswith("dproc plot: ") and needle in res.err,
            f"plot {name}: exit {rc}, 'dproc plot: ...' naming {needle!r}", res.describe())
    h.check(not os.path.exists(out) and not h.temp_leftovers(),
            f"plot {name}: no output file left")
res = h.run(["plot", "heatmap", h.path("ramp.h5")], mpi=False)
h.check(res.rc == 2 and "-o" in res.err, "plot heatmap without -o: exit 2", res.describe())
res = h.run(["plot", "--help"], mpi=False)
h.check(res.rc == 0 and "dproc plot heatmap" in res.out, "plot --help: exit 0 with usage",
        res.describe())
h.finish()
