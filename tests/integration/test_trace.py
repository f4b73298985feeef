#!/usr/bin/python3
"""Integration test: seeing a run. [output] trace writes valid Chrome trace-event JSON with every
rank's track, its lanes named, and the phases each kind of job goes through; the clocks of the
ranks are aligned (no rank leaves a collective before every rank entered it, on the shared
timeline); the traced compute time agrees with the report's; a failed run still leaves a
complete trace saying so; no trace is written when none is asked for. `dproc plot trace` draws
the real trace with one row per rank. Progress on rank 0's stderr: plain lines of the documented
form at every tenth of a phase when asked for (--progress=plain), none in a short run with
stderr not a terminal (auto) or under --quiet, and on a terminal one line rewritten in place at
most 10 times a second."""

import json
import os
import pty
import re
import select
import subprocess
import time
import xml.etree.ElementTree as ET

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("trace", __doc__)
NP = h.np

STENCIL = dh.job_text([
    ("job", {"kernel": "stencil"}),
    ("input", {"source": "generate", "generator": "bump", "shape": "120,90"}),
    ("stencil", {"preset": "heat", "alpha": 0.2, "boundary": "neumann", "iterations": 120,
                 "tolerance": 1e-12, "check_every": 10, "checkpoint_every": 50,
                 "checkpoint_path": "heat.ckpt.h5"}),
    ("output", {"path": "heat.h5", "overwrite": "true", "report": "heat.json",
                "trace": "heat-trace.json", "preview": "heat.png"}),
    ("run", {"threads": 1}),
])


def spans(trace, pid=None, name=None, tid=None):
    return [e for e in trace["traceEvents"] if e.get("ph") == "X"
            and (pid is None or e["pid"] == pid) and (name is None or e["name"] == name)
            and (tid is None or e["tid"] == tid)]


def load_trace(what, path):
    try:
        with open(path) as f:
            t = json.load(f)
    except (OSError, ValueError) as e:
        h.check(False, f"{what}: the trace is valid JSON", e)
        return None
    h.check(isinstance(t.get("traceEvents"), list), f"{what}: the trace is valid JSON with "
            "traceEvents")
    meta = [e for e in t["traceEvents"] if e.get("ph") == "M"]
    names = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
    h.check(sorted(names) == list(range(NP)) and
            all(names[r].startswith(f"rank {r} (") for r in names),
            f"{what}: one named track per rank (0..{NP - 1})", names)
    lanes = {(e["pid"], e["tid"]): e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    h.check(all(lanes.get((r, 0)) == "main" and lanes.get((r, 1)) == "reads in flight"
                for r in range(NP)), f"{what}: lanes named (main, reads in flight, ...)", lanes)
    xs = spans(t)
    h.check(xs and all(isinstance(e["ts"], (int, float)) and e["dur"] >= 0 and
                       0 <= e["pid"] < NP for e in xs),
            f"{what}: every span has ts, dur >= 0 and a rank's pid")
    return t


def phases_each_rank(what, t, expected):
    for r in range(NP):
        got = {e["name"] for e in spans(t, pid=r)}
        missing = set(expected) - got
        h.check(not missing, f"{what}: rank {r} has the phases {sorted(expected)}",
                f"missing {sorted(missing)}; has {sorted(got)}")


# ---- a stencil: phases, aligned clocks, agreement with the report ------------------------------
h.write("heat.ini", STENCIL)
old_umask = os.umask(0o027)  # the files are created 0666 & ~umask, as any program's
res = h.dproc("heat.ini", opts=["-q"])
os.umask(old_umask)
h.expect_ok(res, "stencil with trace")
modes = {n: oct(os.stat(h.path(n)).st_mode & 0o777) for n in
         ("heat.h5", "heat.json", "heat-trace.json", "heat.png") if os.path.exists(h.path(n))}
h.check(len(modes) == 4 and set(modes.values()) == {oct(0o640)},
        "output, report, trace and preview are created with mode 0666 & ~umask (umask 027)",
        modes)
with open(h.path("heat.png"), "rb") as f:
    head = f.read(24)
h.check(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" and
        int.from_bytes(head[16:20], "big") > 90 and int.from_bytes(head[20:24], "big") > 120,
        "preview: a PNG at least as large as the 120 x 90 field (the heat map's exact layout is "
        "checked by test_plot)", head)
t = load_trace("stencil", h.path("heat-trace.json"))
report = dh.load_json(h.path("heat.json"))
if t and report:
    want = {"setup", "read", "compute", "reduce", "checkpoint", "write", "preview"}
    if NP > 1:  # a rank alone on a non-periodic grid exchanges no halo
        want |= {"halo", "halo wait"}
    phases_each_rank("stencil", t, want)
    h.check(all(e["tid"] == 2 for e in spans(t, name="halo")),
            "stencil: halo exchanges in flight are on the 'halo in flight' lane")
    h.check(t["otherData"]["ranks"] == NP and t["otherData"]["status"] == "ok",
            "stencil: the header gives the ranks and status ok", t["otherData"])
    total_us = report["timing"]["total"] * 1e6
    xs = spans(t)
    h.check(min(e["ts"] for e in xs) > -1000 and
            max(e["ts"] + e["dur"] for e in xs) < total_us + 50000,
            "stencil: every span lies within the run (0 .. report's total), on rank 0's clock",
            (min(e["ts"] for e in xs), max(e["ts"] + e["dur"] for e in xs), total_us))
    # The residual check is an MPI_Allreduce: on aligned clocks no rank leaves the k-th before
    # the last rank entered it (1 ms for the offset's measuring error).
    red = [spans(t, pid=r, name="reduce") for r in range(NP)]
    counts = {len(x) for x in red}
    h.check(counts == {120 // 10}, "stencil: one reduce span per residual check on every rank",
            counts)
    if len(counts) == 1:
        worst = min(min(red[r][k]["ts"] + red[r][k]["dur"] for r in range(NP)) -
                    max(red[r][k]["ts"] for r in range(NP)) for k in range(len(red[0])))
        h.check(worst > -1000, "stencil: clocks aligned: no rank leaves an allreduce before "
                "every rank entered it", f"worst margin {worst:.0f} us")
    comp = max(sum(e["dur"] for e in spans(t, pid=r, name="compute")) for r in range(NP)) / 1e6
    h.check(abs(comp - report["timing"]["compute"]) <= 0.05 * report["timing"]["compute"] + 1e-3,
            "stencil: traced compute time (largest rank) equals the report's",
            (comp, report["timing"]["compute"]))

# ---- dproc plot trace on the real trace ---------------------------------------------------------
res = h.run(["plot", "trace", "heat-trace.json", "-o", "heat-trace.svg"], np=1, mpi=False)
h.expect_ok(res, "dproc plot trace")
try:
    svg = ET.parse(h.path("heat-trace.svg")).getroot()
    rows = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "rank"]
    h.check(sorted(int(g.get("data-rank")) for g in rows) == list(range(NP)),
            "dproc plot trace: well-formed SVG with one row per rank",
            [g.attrib for g in rows])
except (OSError, ET.ParseError) as e:
    h.check(False, "dproc plot trace: well-formed SVG", e)

# ---- a streamed reduction from a file: reads in flight, waits, reduce --------------------------
with h5py.File(h.path("in.h5"), "w") as f:
    f["/x"] = np.arange(200 * 1000, dtype=np.float64).reshape(200, 1000)
h.write("red.ini", dh.job_text([
    ("job", {"kernel": "reduce"}),
    ("input", {"source": "hdf5", "path": "in.h5", "dataset": "/x"}),
    ("reduce", {"ops": "sum,max"}),
    ("output", {"trace": "red-trace.json"}),
    ("run", {"threads": 1, "chunk_mb": 1, "prefetch": 2}),
]))
res = h.dproc("red.ini", opts=["-q"])
h.expect_ok(res, "streamed reduce with trace")
t = load_trace("reduce", h.path("red-trace.json"))
if t:
    phases_each_rank("reduce", t, {"setup", "read", "compute", "reduce"})
    h.check(all(spans(t, pid=r, name="read", tid=1) for r in range(NP)),
            "reduce: every rank's reads in flight are on its 'reads in flight' lane")

# ---- a key-value job: map, shuffle, write ------------------------------------------------------
h.write("text/a.txt", "the cat and the dog\n" * 500)
h.write("wc.ini", dh.job_text([
    ("job", {"kernel": "wordcount"}),
    ("input", {"source": "text", "path": "text"}),
    ("output", {"path": "wc.tsv", "trace": "wc-trace.json"}),
    ("run", {"threads": 1}),
]))
res = h.dproc("wc.ini", opts=["-q"])
h.expect_ok(res, "wordcount with trace")
t = load_trace("wordcount", h.path("wc-trace.json"))
if t:
    phases_each_rank("wordcount", t, {"setup", "compute", "shuffle", "write"})
    order = []
    for r in range(NP):  # the map's compute, then the shuffle, then the output (rank 0)
        end_map = max(e["ts"] + e["dur"] for e in spans(t, pid=r, name="compute"))
        sh = spans(t, pid=r, name="shuffle")
        order.append(len(sh) == 1 and sh[0]["ts"] >= end_map - 0.002 and
                     all(e["ts"] >= sh[0]["ts"] + sh[0]["dur"] - 0.002
                         for e in spans(t, pid=r, name="write")))
    h.check(all(order), "wordcount: on every rank the shuffle follows the map's compute and "
            "precedes the write", order)

# ---- a failed run still leaves a whole trace, saying so; no trace unless asked ----------------
launcher = h.mpiexec
h.mpiexec = [*launcher, "-x", "DPROC_FAULT"]
res = h.run(["-q", "red.ini"], env=dict(h.env, DPROC_FAULT="read:0"))
h.mpiexec = launcher
h.check(res.rc == dh.EXIT_RUNTIME, "a run failing on rank 0 (DPROC_FAULT=read:0): exit 1",
        res.describe())
t = load_trace("failed run", h.path("red-trace.json"))
if t:
    h.check(t["otherData"]["status"] == "failed" and
            "injected fault" in t["otherData"].get("error", ""),
            "failed run: the trace says status failed, and the error", t["otherData"])
    phases_each_rank("failed run", t, {"setup"})
    res = h.run(["plot", "trace", "red-trace.json", "-o", "failed.svg"], np=1, mpi=False)
    h.expect_ok(res, "dproc plot trace of the failed run's trace")
h.check_no_leftovers("failed run with trace")
os.unlink(h.path("red-trace.json"))
h.write("notrace.ini", open(h.path("red.ini")).read().replace("trace = red-trace.json",
                                                                  "report = r.json"))
res = h.dproc("notrace.ini", opts=["-q"])
h.expect_ok(res, "the job without trace")
h.check(not os.path.exists(h.path("red-trace.json")), "no trace is written unless asked for")

# ---- progress ------------------------------------------------------------------------------------
LINE = re.compile(r"^dproc: progress: (\S+) (\d+)/(\d+) (\S+) \((\d+)%\), ([0-9.]+) (\S+), "
                  r"elapsed (\d+:\d\d), eta (\d+:\d\d|\?)$")
res = h.dproc("heat.ini", opts=["-q", "--progress=plain"])
h.expect_ok(res, "--progress=plain")
lines = [l for l in res.err.splitlines() if l.startswith("dproc: progress:")]
parsed = [LINE.match(l) for l in lines]
h.check(lines and all(parsed), "--progress=plain: every progress line has the documented form",
        res.err)
it = [m for m in parsed if m and m.group(1) == "iterate"]
pcts = [int(m.group(5)) for m in it]
h.check(pcts == list(range(10, 101, 10)) and
        all(m.group(3) == "120" and m.group(4) == "iterations" and
            int(m.group(2)) * 100 // 120 == int(m.group(5)) for m in it),
        "--progress=plain: the iterations at each tenth, 10% to 100%, done/total consistent",
        lines)
h.check(all(l.startswith(("dproc: progress:", "dproc: warning:")) for l in res.err.splitlines()
            if l), "--progress=plain: nothing else on stderr (but warnings)", res.err)
if NP > 1:
    res = h.dproc("heat.ini", opts=["-q"])
    h.check(res.rc == 0 and "progress" not in res.err,
            "auto, stderr not a terminal, a run under 2 s: no progress lines", res.err)
res = h.dproc("heat.ini", opts=["-q", "--progress=bogus"])
h.check(res.rc == dh.EXIT_USAGE and "--progress=bogus" in res.err,
        "--progress=bogus: exit 2 naming it", res.describe())

# On a terminal (dproc alone, stderr a pty): one line rewritten in place, <= 10 updates/s.
LONG = STENCIL.replace("iterations = 120", "iterations = 3000").replace(
    "tolerance = 1e-12", "tolerance = 0").replace("shape = 120,90", "shape = 400,300")
h.write("long.ini", LONG.replace("trace = heat-trace.json\n", ""))
if NP == 1:
    master, slave = pty.openpty()
    t0 = time.monotonic()
    proc = subprocess.Popen([h.dproc_bin, "-q", "--progress=line", "long.ini"], cwd=h.dir,
                            env=h.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    data = b""
    while True:
        r, _, _ = select.select([master], [], [], 120)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    proc.wait(timeout=120)
    secs = time.monotonic() - t0
    os.close(master)
    text = data.decode(errors="replace")
    updates = len(re.findall("\r(?!\n)", text))  # the terminal turns \n into \r\n
    h.check(proc.returncode == 0, "--progress=line on a terminal: exit 0")
    h.check(updates >= 2 and updates <= 10 * secs + 2 * 3,
            f"--progress=line: {updates} in-place updates in {secs:.1f} s (at most 10 a second "
            "per phase, at least two)", text[-400:])
    last = re.split("\r(?!\n)", text)[-1]
    h.check(re.search(r"iterate 3000/3000 iterations \(100%\)", last) is not None and
            last.endswith("\033[K\r\n"),
            "--progress=line: the line ends with its final state and a newline", repr(last))

h.finish()
