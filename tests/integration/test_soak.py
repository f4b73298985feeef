#!/usr/bin/python3
"""Integration test: soak (issue 8 item 9). Twenty short jobs run back to back under the launcher,
and in each one rank, picked at random, is killed with SIGKILL at a random moment within the
job's expected duration. Nothing may be lost and nothing may hang.

The random choices come from random.Random(SEED): SEED is printed, fixed by default and can be
set with the environment variable DPROC_SOAK_SEED. Where the kill lands also depends on the
machine's load, so the same seed picks the same ranks and delays, not the same outcomes.

The jobs cycle through five kernels (the expected values come from numpy or Python, never from
dproc, except where noted):
  stencil   2-D heat on a 480 x 400 HDF5 field, 300 iterations, checkpoint_every K (boundary,
            alpha and K drawn per job); reference: an uninterrupted dproc run at the same rank
            count, itself checked against numpy to the bit;
  map       HDF5 -> HDF5, 32 MiB, chunk_mb = 1 (many pieces), op drawn per job; numpy (log: the
            C library's, as dproc);
  copy      raw float32 -> HDF5 float64, 24 MiB read, chunk_mb = 1; numpy;
  reduce    32 MiB raw float64 (with NaN) with [output] path, chunk_mb = 1; math.fsum, numpy;
  wordcount 5 MB of text in 3 files, chunk_mb = 1, TSV or HDF5 table; a Python byte regex.
Before the jobs, each kernel runs once uninterrupted on a variant of its job: that run gives the
job's expected duration (and when the first progress line came: the ranks at work) and a previous
complete output that about half the jobs find at their output path (overwrite = true; the others
have overwrite true or false and nothing there). The stencil's reference run gives its duration.

Each job: the launcher starts in a session of its own; at the drawn delay the drawn rank's process
(found by the session and OMPI_COMM_WORLD_RANK in /proc) gets SIGKILL. The delay is a drawn
fraction of the expected duration for one job in five (mostly start-up), else of the span from
shortly before the ranks begin to work to 90% of the expected duration (work, commit, finalize);
when a kill comes after the launcher ended, the kernel's expected duration is moved towards the
measured one. Checks:
 (e) every rank and the launcher end within KILL_BOUND seconds of the kill (reaching it is a
     failure; everything in the session is then killed); no process of the session is left;
     exit status 0 only if the output is complete and correct (the kill came after the work).
     Open MPI 4.1's mpiexec itself sometimes deadlocks in its teardown after a rank died in
     MPI_Init: when every rank has ended and the launcher, having reported the death, is still
     there LAUNCHER_GRACE seconds later, it is killed and noted with its stack (a failure with
     DPROC_SOAK_STRICT_LAUNCHER=1);
 (b) the output path holds nothing (only when there was nothing before), the previous complete
     file (SHA-256 identical), or a complete new one: HDF5 with dproc_complete = 1 and the
     expected values to the bit, or the TSV equal to the reference byte for byte; a report that
     says "ok" implies the new output;
 (a) the inputs are byte-identical (SHA-256);
     temporary files left (a killed run cannot clean up) are named .NAME.dproc-tmp-PID after one
     of the job's files (the report's too) with PID a rank of the killed run (and Open MPI's
     per-rank .data.RANK/.metadata.RANK beside an output's temporary file);
     their number is noted and they are removed; so are the files Open MPI's OMPIO keeps while a
     file is open (FILE.locktest.RANK, FILE-JOBID-PID.lock beside an input or a temporary file
     of the job; semaphores /dev/shm/sem.OMPIO_NAME after them), which a kill leaves behind; no
     other file appears, and the text input directory holds its files and no other;
 (c) stencil: the checkpoint is absent or valid (dproc_complete = 1, an iteration k that is a
     multiple of K below the iteration count, its field == numpy after k iterations to the bit),
     and it is the newest one: k >= the last multiple of K at or before the last progress line
     (`--progress=plain`, printed after the checkpoint of that iteration was in place), so at
     most one checkpoint interval of work is lost; `--restart` at 2 ranks then completes with
     restarted_from = k and the output identical to the bit to the uninterrupted run (with no
     checkpoint, --restart fails with exit 1 and a fresh run at 2 ranks gives those bits).
At the end: no dproc process of this test is left anywhere, all inputs unchanged. Needs NP >= 2."""

import math
import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections import Counter

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("soak", __doc__)
NP = h.np
RESTART_NP = 2
DPROC_REAL = os.path.realpath(h.dproc_bin)
KILL_BOUND = min(60.0, h.args.timeout)  # seconds a run may take to end after the kill
# Open MPI 4.1's mpiexec sometimes deadlocks in its own teardown (PMIx_server_finalize) when a
# rank was killed while it connected to it in MPI_Init, after every rank has ended: taken for
# that when every rank is gone and the launcher is still there LAUNCHER_GRACE seconds later.
# Noted, not failed, unless DPROC_SOAK_STRICT_LAUNCHER=1.
LAUNCHER_GRACE = 15.0
STRICT_LAUNCHER = os.environ.get("DPROC_SOAK_STRICT_LAUNCHER", "") not in ("", "0")
RUN_BOUND = min(60.0, h.args.timeout)   # seconds an uninterrupted run may take
JOBS = 20
DEFAULT_SEED = 20250809
SEED = int(os.environ.get("DPROC_SOAK_SEED", DEFAULT_SEED))
rnd = random.Random(SEED)
print(f"soak: seed {SEED} (set DPROC_SOAK_SEED to change it), {JOBS} jobs at np {NP}, "
      f"restarts at np {RESTART_NP}", flush=True)

if NP < 2:
    h.check(False, "this test needs at least 2 ranks", f"np {NP}")
    h.finish()


# ---- processes -------------------------------------------------------------------------------

def session_procs(sid):
    """{pid: (is dproc, rank or -1)} of every process in session sid."""
    return dh.session_processes(sid, DPROC_REAL)


def dproc_procs_here():
    """PIDs of dproc processes whose working directory is this test's directory."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if (os.path.realpath(f"/proc/{d}/exe") == DPROC_REAL and
                        os.path.realpath(f"/proc/{d}/cwd") == os.path.realpath(h.dir)):
                    found.append(int(d))
            except OSError:
                pass
    return found


def kill_pids(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Run:
    """One launcher in a session of its own; stdout and stderr go to files."""

    def __init__(self, name, args, np_):
        self.name = name
        self.cmd = [*h.mpiexec, "-np", str(np_), h.dproc_bin, *args]
        self.out_path, self.err_path = h.path(f"{name}.stdout"), h.path(f"{name}.stderr")
        with open(self.out_path, "wb") as o, open(self.err_path, "wb") as e:
            self.proc = subprocess.Popen(self.cmd, cwd=h.dir, env=h.env, stdout=o, stderr=e,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.t0 = time.monotonic()
        self.rc, self.secs, self.timed_out, self.left = None, None, False, {}
        self.ranks = {}  # {pid: rank} of every dproc process seen in the session
        self.ranks_alive = []  # dproc processes still there when the launcher was killed
        self.launcher_hung, self.launcher_stack = False, ""

    def scan(self):
        procs = session_procs(self.proc.pid)
        self.ranks.update({p: r for p, (d, r) in procs.items() if d})
        return procs

    def wait(self, deadline, grace=None):
        """Waits for the launcher until the monotonic time deadline (then kills its session:
        timed_out), noting the rank processes it sees; then waits for every process of the
        session to go (left: those still there after 10 s, killed). With grace: when every
        rank seen has ended and the launcher, which has reported a rank's death, is still there
        grace seconds later, it is taken for hung in its own teardown (launcher_hung; its stack
        in launcher_stack when gdb is there) and killed."""
        gone_since = None
        while self.proc.poll() is None and time.monotonic() < deadline:
            alive = [p for p, (d, _) in self.scan().items() if d]
            now = time.monotonic()
            if grace is None or alive or not self.ranks:
                gone_since = None
            elif gone_since is None:
                gone_since = now
            elif now - gone_since > grace and "mpiexec noticed that process rank" in self.err():
                self.launcher_hung = True
                self.launcher_stack = launcher_stack(self.proc.pid)
                break
            time.sleep(0.01)
        try:
            self.rc = self.proc.wait(timeout=0.05 if self.launcher_hung else
                                     max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.timed_out = not self.launcher_hung
            self.ranks_alive = [p for p, (d, _) in session_procs(self.proc.pid).items() if d]
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            kill_pids(session_procs(self.proc.pid))
            self.rc = self.proc.wait()
        self.secs = time.monotonic() - self.t0
        end = time.monotonic() + 10
        while True:
            self.left = {p: v for p, v in session_procs(self.proc.pid).items()
                         if p != os.getpid()}
            if not self.left or time.monotonic() > end:
                break
            time.sleep(0.05)
        kill_pids(self.left)
        return self

    def err(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def describe(self):
        e = self.err()
        e = e if len(e) < 1600 else e[:700] + "\n...\n" + e[-700:]
        return (f"command: {' '.join(self.cmd)}\n  exit status {self.rc}"
                f"{' (TIMED OUT)' if self.timed_out else ''} after {self.secs:.1f} s\n"
                f"  stderr: {e!r}")


def launcher_stack(pid):
    """The function names on the stacks of the threads of process pid (gdb), or ''."""
    if not shutil.which("gdb"):
        return ""
    try:
        bt = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 10"],
                            capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    names = re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(", bt, re.M)
    return " <- ".join(n for n in names if n != "??")


def run_plain(name, args, np_=NP, watch=False):
    """An uninterrupted run, checked to end within RUN_BOUND with nothing left behind. With
    watch, r.first_progress is the time from the start until the first progress line arrived
    (the ranks have begun to work then)."""
    r = Run(name, args, np_)
    r.first_progress = None
    while watch and r.proc.poll() is None and time.monotonic() - r.t0 < RUN_BOUND:
        if b"dproc: progress:" in open(r.err_path, "rb").read():
            r.first_progress = time.monotonic() - r.t0
            break
        time.sleep(0.005)
    r.wait(r.t0 + RUN_BOUND)
    h.check(not r.timed_out and not r.left,
            f"{name}: ended within {RUN_BOUND:.0f} s, no process left", r.describe() +
            f"\n  left: {r.left}")
    return r


# ---- files -----------------------------------------------------------------------------------

def remove(*names):
    for n in names:
        p = h.path(n)
        if os.path.lexists(p):
            os.unlink(p)


def jobfile(name, sections):
    h.write(f"{name}.ini", dh.job_text(sections, comment=name))
    return f"{name}.ini"


def read_dataset(name, dataset):
    """The dataset of an HDF5 file in the test directory, or None."""
    try:
        with h5py.File(h.path(name), "r") as f:
            d = f.get(dataset)
            return d[()] if isinstance(d, h5py.Dataset) else None
    except OSError:
        return None


def read_bytes(name):
    with open(h.path(name), "rb") as f:
        return f.read()


# ---- inputs and their references ---------------------------------------------------------------

rng = np.random.default_rng(SEED)

# Input names unique to this run: Open MPI's OMPIO names a POSIX semaphore after the base name of
# every file it opens (/dev/shm/sem.OMPIO_NAME), so that other tests opening files of the same
# name at the same time would make it fall back to lock files beside the inputs.
TAG = os.path.basename(h.dir).rsplit("-", 1)[-1]
IN = {"stencil": f"field-{TAG}.h5", "map": f"map-{TAG}.h5", "copy": f"copy-{TAG}.raw",
      "reduce": f"reduce-{TAG}.raw", "wordcount": f"text-{TAG}"}

ST_SHAPE, ST_ITER = (480, 400), 300
u0 = rng.uniform(-1.0, 1.0, size=ST_SHAPE)
with h5py.File(h.path(IN["stencil"]), "w") as f:
    f["/u"] = u0

MAP_SHAPE = (4096, 1024)  # 32 MiB of float64: 32 pieces of 1 MiB, about 11 per rank at np 3
map_x = rng.uniform(0.0, 4.0, size=MAP_SHAPE)
with h5py.File(h.path(IN["map"]), "w") as f:
    f["/x"] = map_x

COPY_SHAPE = (6144, 1024)  # 24 MiB of float32, 48 MiB written
copy_x = (rng.standard_normal(COPY_SHAPE) * 1e3).astype(np.float32)
copy_x.tofile(h.path(IN["copy"]))

RED_SHAPE = (4096, 1024)
red_x = rng.standard_normal(RED_SHAPE) * np.exp2(rng.integers(-20, 20, size=RED_SHAPE))
red_x.ravel()[rng.choice(red_x.size, 1000, replace=False)] = np.nan
red_x.tofile(h.path(IN["reduce"]))
RED_REF = dh.reduce_reference(red_x)

WORD = re.compile(rb"[A-Za-z0-9\x80-\xff]+")
LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
letters = np.array(list(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
vocab = []
for _ in range(20000):
    w = bytes(letters[rng.integers(0, len(letters), int(rng.integers(1, 12)))].tolist())
    vocab.append(w + ("é".encode() if rng.random() < 0.1 else b""))
vocab = np.array(vocab, dtype=object)
seps = np.array([b" "] * 12 + [b"\n", b", ", b". ", b"\t", b"-"], dtype=object)
os.makedirs(h.path(IN["wordcount"]))
texts = []
for i in range(3):
    n = 250000
    words = vocab[rng.zipf(1.3, n) % len(vocab)]
    sep = seps[rng.integers(0, len(seps), n)]
    data = b"".join(w + s for w, s in zip(words, sep))
    texts.append(data)
    h.write(f"{IN['wordcount']}/part{i}-{TAG}.txt", data)
wc_counts = Counter()
for d in texts:
    wc_counts.update(WORD.findall(d.translate(LOWER)))
WC_ROWS = sorted(wc_counts.items(), key=lambda kv: (-kv[1], kv[0]))
WC_TSV = b"word\tcount\n" + b"".join(k + b"\t" + str(c).encode() + b"\n" for k, c in WC_ROWS)

TEXT_FILES = sorted(os.listdir(h.path(IN["wordcount"])))
INPUTS = {kind: h.guard_inputs([h.path(name)]) for kind, name in IN.items()}
h.note(f"inputs: stencil {ST_SHAPE}, map {MAP_SHAPE} float64, copy {COPY_SHAPE} float32, "
       f"reduce {RED_SHAPE} float64, text {sum(len(t) for t in texts)} bytes "
       f"({len(WC_ROWS)} distinct words)")

MAP_OPS = [  # (keys, numpy reference)
    ({"op": "sqrt"}, np.sqrt),
    ({"op": "axpy", "a": "1.5", "b": "-0.25"}, lambda x: np.float64(1.5) * x + np.float64(-0.25)),
    ({"op": "scale", "a": "-3"}, lambda x: np.float64(-3.0) * x),
    ({"op": "clamp", "lo": "0.5", "hi": "3"}, lambda x: np.clip(x, 0.5, 3.0)),
    ({"op": "log"}, lambda x: log_libm(x)),
]
_log_cache = {}


def log_libm(x):
    """The C library's log of every value (math.log), which dproc's map uses: numpy's own log
    may be a SIMD one that differs in the last bit on some processors. Computed once."""
    if "v" not in _log_cache:
        _log_cache["v"] = np.fromiter((math.log(v) for v in x.ravel().tolist()),
                                      dtype=np.float64, count=x.size).reshape(x.shape)
    return _log_cache["v"]
RUN1 = {"threads": 1, "chunk_mb": 1}


def heat_reference(alpha, boundary, bvalue, iters, every):
    """{k: field after k iterations} for k = iters and every multiple of every below it; heat's
    taps: centre 1 - 4 alpha, then (-1,0), (1,0), (0,-1), (0,1) with alpha, left to right."""
    u, out = u0, {}
    n0, n1 = u.shape
    c, a = np.float64(1.0 - 2 * 2 * alpha), np.float64(alpha)
    for k in range(1, iters + 1):
        if boundary == "dirichlet":
            p = np.pad(u, 1, mode="constant", constant_values=bvalue)
        else:
            p = np.pad(u, 1, mode="wrap" if boundary == "periodic" else "edge")
        acc = c * p[1:n0 + 1, 1:n1 + 1]
        for s in ((slice(0, n0), slice(1, n1 + 1)), (slice(2, n0 + 2), slice(1, n1 + 1)),
                  (slice(1, n0 + 1), slice(0, n1)), (slice(1, n0 + 1), slice(2, n1 + 2))):
            acc = acc + a * p[s]
        u = acc
        if k == iters or k % every == 0:
            out[k] = u
    return out


# ---- the jobs ----------------------------------------------------------------------------------

KINDS = ["stencil", "map", "copy", "reduce", "wordcount"]


def make_job(name, kind, params, out, report, overwrite):
    """The job file of one soak job; returns its name."""
    o = {"path": out, "overwrite": "true" if overwrite else "false", "report": report}
    if kind == "stencil":
        st = {"preset": "heat", "alpha": params["alpha"], "boundary": params["boundary"],
              "iterations": ST_ITER, "checkpoint_every": params["K"],
              "checkpoint_path": params["ckpt"]}
        if params["boundary"] == "dirichlet":
            st["boundary_value"] = params["bvalue"]
        secs = [("job", {"name": name, "kernel": "stencil"}),
                ("input", {"source": "hdf5", "path": IN["stencil"], "dataset": "/u"}),
                ("stencil", st), ("output", {**o, "dataset": "/u"}), ("run", {"threads": 1})]
    elif kind == "map":
        secs = [("job", {"name": name, "kernel": "map"}),
                ("input", {"source": "hdf5", "path": IN["map"], "dataset": "/x"}),
                ("map", MAP_OPS[params["op"]][0]), ("output", {**o, "dataset": "/y"}),
                ("run", RUN1)]
    elif kind == "copy":
        secs = [("job", {"name": name, "kernel": "copy"}),
                ("input", {"source": "raw", "path": IN["copy"], "dtype": "float32",
                           "shape": ",".join(map(str, COPY_SHAPE))}),
                ("output", {**o, "dataset": "/data"}), ("run", RUN1)]
    elif kind == "reduce":
        secs = [("job", {"name": name, "kernel": "reduce"}),
                ("input", {"source": "raw", "path": IN["reduce"], "dtype": "float64",
                           "shape": ",".join(map(str, RED_SHAPE))}),
                ("reduce", {"ops": "count,sum,min,max,mean"}), ("output", o), ("run", RUN1)]
    else:
        secs = [("job", {"name": name, "kernel": "wordcount"}),
                ("input", {"source": "text", "path": IN["wordcount"]}),
                ("wordcount", {"lowercase": params.get("lowercase", "true")}),
                ("output", {**o, "format": params["format"]}), ("run", RUN1)]
    return jobfile(name, secs)


def out_name(i, kind, params):
    ext = "tsv" if kind == "wordcount" and params["format"] == "tsv" else "h5"
    return f"out{i:02d}.{ext}"


# The plan: every random choice is drawn here, in a fixed order, before anything runs. The kill
# delay is frac of the expected duration for an "early" job (mostly start-up: the launcher,
# MPI_Init), else frac of the span from 80% of the time the first progress line arrived (the
# ranks at work) to 90% of the reference run's duration (work, output commit, MPI_Finalize).
EARLY = 0.2
plan = []
for i in range(JOBS):
    kind = KINDS[i % len(KINDS)]
    j = {"i": i, "kind": kind, "rank": rnd.randrange(NP), "frac": rnd.random(),
         "early": rnd.random() < EARLY, "prev": rnd.random() < 0.5, "ow": rnd.random() < 0.5}
    if kind == "stencil":
        j["params"] = {"boundary": rnd.choice(["dirichlet", "periodic", "neumann"]),
                       "alpha": rnd.choice([0.1, 0.125, 0.2, 0.24]),
                       "bvalue": rnd.choice([0.0, 0.5, -0.25]),
                       "K": rnd.choice([20, 25, 30, 40, 50]), "ckpt": f"ck{i:02d}.h5"}
    elif kind == "map":
        j["params"] = {"op": rnd.randrange(len(MAP_OPS))}
    elif kind == "wordcount":
        j["params"] = {"format": rnd.choice(["tsv", "hdf5"])}
    else:
        j["params"] = {}
    plan.append(j)


# ---- calibration: each kernel once, uninterrupted, on a variant (the previous outputs) ----------

VARIANT = {"stencil": {"boundary": "dirichlet", "alpha": 0.05, "bvalue": 0.0, "K": 100,
                       "ckpt": "ck_prev.h5"},
           "map": {"op": 2}, "copy": {}, "reduce": {},
           "wordcount": {"format": "tsv", "lowercase": "false"},
           "wordcount-hdf5": {"format": "hdf5", "lowercase": "false"}}
PREVIOUS, DURATION, WORKING = {}, {}, {}
for variant in VARIANT:
    kind, params = variant.split("-")[0], VARIANT[variant]
    name = f"prev_{variant}"
    out = "prev_" + out_name(0, kind, params)
    remove(out)
    job = make_job(name, kind, params, out, f"{name}.json", True)
    r = run_plain(name, ["-q", "--progress=plain", job], watch=True)
    ok = h.check(r.rc == 0 and os.path.exists(h.path(out)),
                 f"calibration {variant}: an uninterrupted run writes {out} (exit 0)", r.describe())
    PREVIOUS[variant] = read_bytes(out) if ok else None
    if variant == kind:
        DURATION[kind], WORKING[kind] = r.secs, r.first_progress or 0.0
    h.note(f"calibration {variant}: {r.secs:.2f} s under the launcher, first progress line after "
           f"{r.first_progress or 0.0:.2f} s")
    remove(out, f"{name}.json", "ck_prev.h5")


# ---- checking an output ------------------------------------------------------------------------

def h5_state(path, check_values):
    """'complete' when the HDF5 file opens, has dproc_complete = 1 and check_values(file) is
    None, else the reason."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return f"h5py cannot open it: {e}"
    with f:
        c = f.attrs.get("dproc_complete")
        if c is None or int(np.asarray(c).ravel()[0]) != 1:
            return f"no dproc_complete = 1 (attributes {sorted(f.attrs.keys())})"
        why = check_values(f)
    return why or "complete"


def array_check(dataset, want):
    def check(f):
        d = f.get(dataset)
        if not isinstance(d, h5py.Dataset):
            return f"no dataset {dataset}"
        got = d[()]
        return None if dh.same_bits(got, want) else dh.bits_mismatch(got, want)
    return check


def reduce_check(f):
    g = f.get("results")
    if g is None:
        return "no group /results"
    ref = RED_REF
    got = {k: g[k][()] for k in ("count", "sum", "min", "max", "mean") if k in g}
    bad = []
    if got.get("count") != ref["count"]:
        bad.append(f"count {got.get('count')} != {ref['count']}")
    for k in ("sum", "min", "max"):  # the sum is correctly rounded: == math.fsum
        if k not in got or float(got[k]) != ref[k]:
            bad.append(f"{k} {got.get(k)!r} != {ref[k]!r}")
    if not dh.close(got.get("mean"), ref["mean"], ref["mean_tol"]):
        bad.append(f"mean {got.get('mean')!r} != {ref['mean']!r} (tol {ref['mean_tol']:.3g})")
    if "nan" in g and int(g["nan"][()]) != ref["nan"]:
        bad.append(f"nan {g['nan'][()]} != {ref['nan']}")
    return "; ".join(bad) or None


def wc_table_check(f):
    d = f.get("wordcount")
    if not isinstance(d, h5py.Dataset) or d.dtype.names is None:
        return "no compound dataset /wordcount"
    a = d[()]
    keys = [k if isinstance(k, bytes) else str(k).encode() for k in a["key"]]
    got = list(zip(keys, (int(c) for c in a["count"])))
    if got == WC_ROWS:
        return None
    return next((f"row {i}: got {g!r}, expected {w!r}" for i, (g, w) in
                 enumerate(zip(got, WC_ROWS)) if g != w), f"{len(got)} rows, not {len(WC_ROWS)}")


def previous_of(kind, params):
    """The previous complete output (bytes) a job of kind may find at its output path: the
    calibration run's, made with other parameters than any job's (TSV has no provenance)."""
    if kind == "wordcount" and params["format"] == "hdf5":
        return PREVIOUS.get("wordcount-hdf5")
    return PREVIOUS.get(kind)


def output_state(kind, params, path, expected):
    """'absent', 'previous', 'complete' (new and correct) or the reason it is neither."""
    if not os.path.lexists(path):
        return "absent"
    prev = previous_of(kind, params)
    data = open(path, "rb").read()
    if prev is not None and data == prev:
        return "previous"
    if kind == "wordcount" and params["format"] == "tsv":
        if data == WC_TSV:
            return "complete"
        return f"TSV of {len(data)} bytes differs from the reference ({len(WC_TSV)} bytes)"
    if kind == "stencil":
        return h5_state(path, array_check("u", expected))
    if kind == "map":
        return h5_state(path, array_check("y", expected))
    if kind == "copy":
        return h5_state(path, array_check("data", expected))
    if kind == "reduce":
        return h5_state(path, reduce_check)
    return h5_state(path, wc_table_check)


def checkpoint_state(path, K, refs):
    """(iteration or None when absent, problem or None)."""
    if not os.path.lexists(path):
        return None, None
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return -1, f"h5py cannot open it: {e}"
    with f:
        attrs = {k: int(np.asarray(f.attrs[k]).ravel()[0])
                 for k in ("dproc_complete", "dproc_iteration") if k in f.attrs}
        k = attrs.get("dproc_iteration", -1)
        if attrs.get("dproc_complete") != 1:
            return k, f"no dproc_complete = 1: {attrs}"
        if not (0 < k < ST_ITER and k % K == 0):
            return k, f"dproc_iteration {k}: not a multiple of {K} in (0, {ST_ITER})"
        d = f.get("field")
        if not isinstance(d, h5py.Dataset):
            return k, "no dataset field"
        got = d[()]
    if not dh.same_bits(got, refs[k]):
        return k, f"field != numpy after {k} iterations: {dh.bits_mismatch(got, refs[k])}"
    return k, None


# dproc asks Open MPI for sharedfp=individual, which keeps per-rank files .data.RANK and
# .metadata.RANK beside a file opened for writing (an output's temporary file) until it is
# closed: a killed rank leaves them, named after the temporary file.
TMP_RE = re.compile(r"^(?:\.(?P<out>.+)|(?P<rep>.+))\.dproc-tmp-(?P<pid>\d+)"
                    r"(?:\.(?:data|metadata)\.\d+)?$")
# Where a user sets another sharedfp component: Open MPI 4.1's OMPIO sets up shared-file-pointer
# support at every MPI_File_open, although dproc never uses it: component sm makes a POSIX semaphore /dev/shm/sem.OMPIO_BASENAME; before
# that, component lockedfile probes file locking with an empty FILE.locktest.RANK beside FILE,
# removed at once, and where sm cannot be used (another open file of the same base name on the
# node) it keeps FILE-JOBID-PID.lock (8 bytes) beside FILE while FILE is open. All are removed
# when the file is closed: a rank killed before leaves them behind, beside an input too.
PROBE_RE = re.compile(r"^(?P<base>.+?)(?:\.locktest\.\d+|-\d+-\d+\.lock)$")


def listing():
    """Every file under the test directory, relative to it."""
    return {os.path.relpath(os.path.join(root, f), h.dir)
            for root, _, files in os.walk(h.dir) for f in files}


def leftovers():
    """(dproc's temporary files, [(Open MPI lock-probe file, the file it is named after)]) under
    the test directory."""
    temps, probes = [], []
    for root, _, files in os.walk(h.dir):
        for f in files:
            m = PROBE_RE.match(f)
            if m:
                probes.append((os.path.join(root, f), os.path.join(root, m.group("base"))))
            elif "dproc-tmp" in f:
                temps.append(os.path.join(root, f))
    return temps, probes

# ---- one soak job ------------------------------------------------------------------------------

outcomes = Counter()
temps_left, probes_left, sems_left, launcher_hangs = 0, [], [], []


def soak_job(j):
    global temps_left
    i, kind, params = j["i"], j["kind"], j["params"]
    name = f"job{i:02d}_{kind}"
    out, report = out_name(i, kind, params), f"rep{i:02d}.json"
    prev = j["prev"] and previous_of(kind, params) is not None
    overwrite = True if prev else j["ow"]
    desc = ", ".join(f"{k}={v}" for k, v in params.items() if k != "ckpt")
    what = f"job {i:2d} {kind}" + (f" ({desc})" if desc else "")
    remove(out, report)
    job = make_job(name, kind, params, out, report, overwrite)

    # the expected output, and for the stencil the uninterrupted reference run
    refs = None
    if kind == "stencil":
        K = params["K"]
        refs = heat_reference(params["alpha"], params["boundary"], params["bvalue"], ST_ITER, K)
        remove(f"ref{i:02d}.h5", f"ckref{i:02d}.h5")
        r = run_plain(f"{name}_reference",
                      ["-q", "--progress=plain", "--set", f"output.path=ref{i:02d}.h5", "--set",
                       f"output.report=ref{i:02d}.json", "--set",
                       f"stencil.checkpoint_path=ckref{i:02d}.h5", job], watch=True)
        ref_out = read_dataset(f"ref{i:02d}.h5", "u") if r.rc == 0 else None
        h.check(ref_out is not None and dh.same_bits(ref_out, refs[ST_ITER]),
                f"{what}: the uninterrupted run at np {NP} == numpy to the bit",
                r.describe() if ref_out is None else dh.bits_mismatch(ref_out, refs[ST_ITER]))
        remove(f"ref{i:02d}.h5", f"ref{i:02d}.json", f"ckref{i:02d}.h5")
        duration, working = r.secs, r.first_progress or 0.0
        expected = ref_out if ref_out is not None else refs[ST_ITER]
        remove(params["ckpt"])
    else:
        duration, working = DURATION[kind], WORKING[kind]
        expected = {"map": lambda: MAP_OPS[params["op"]][1](map_x),
                    "copy": lambda: copy_x.astype(np.float64)}.get(kind, lambda: None)()
    prev_sum = None
    if prev:
        h.write(out, previous_of(kind, params))
        prev_sum = dh.sha256(h.path(out))

    # the run, and the kill
    before = listing()
    lo = 0.0 if j["early"] else min(0.8 * working, 0.9 * duration)
    delay = lo + j["frac"] * (0.9 * duration - lo)
    run = Run(name, ["-q", "--progress=plain", job], NP)
    killed_at, phase = None, "after the launcher ended"
    while run.proc.poll() is None and time.monotonic() - run.t0 < KILL_BOUND:
        if time.monotonic() - run.t0 >= delay:
            run.scan()
            victim = [p for p, r in run.ranks.items() if r == j["rank"]]
            if victim:
                try:
                    os.kill(victim[0], signal.SIGKILL)
                    killed_at = time.monotonic() - run.t0
                    phase = "while running"
                except ProcessLookupError:
                    phase = "after the rank ended"
                break
        time.sleep(0.005)
    run.wait((run.t0 + killed_at if killed_at is not None else time.monotonic()) + KILL_BOUND,
             grace=LAUNCHER_GRACE)
    err = run.err()
    progress = [int(m.group(1)) for m in
                re.finditer(r"dproc: progress: iterate (\d+)/\d+ iterations", err)]
    last = re.findall(r"dproc: progress: (\S+(?: \d+)? \d+/\d+ \S+)", err)
    h.note(f"{what}: rank {j['rank']} of {NP} killed {phase}"
           + (f" at {killed_at:.2f} s" if killed_at is not None else "")
           + f" (delay {delay:.2f} of ~{duration:.2f} s; previous output: {'yes' if prev else 'no'}"
           f", overwrite {str(overwrite).lower()}); launcher status {run.rc} after "
           f"{run.secs:.2f} s; last progress line: {last[-1] if last else 'none'}")

    if killed_at is None and run.rc == 0 and kind != "stencil":
        # the kill came too late: the machine is less loaded than at the calibration; move the
        # expected duration of the next jobs of this kernel halfway towards this run's
        new = 0.5 * (duration + run.secs)
        DURATION[kind], WORKING[kind] = new, working * new / duration

    # (e) everything ended within the bound, nothing left
    h.check(not run.ranks_alive, f"{what}: every rank ended within {KILL_BOUND:.0f} s of the "
            "kill", f"still there: {run.ranks_alive}\n{run.describe()}")
    if run.launcher_hung:
        launcher_hangs.append(i)
        h.note(f"{what}: every rank had ended, but Open MPI's mpiexec was still there "
               f"{LAUNCHER_GRACE:.0f} s later, hung in its own teardown (not dproc; killed); "
               f"its threads' stacks: {run.launcher_stack or '(no gdb)'}")
    h.check(not run.timed_out and not (STRICT_LAUNCHER and run.launcher_hung),
            f"{what}: the launcher ended within {KILL_BOUND:.0f} s of the kill" +
            ("" if STRICT_LAUNCHER else " (or, every rank gone, hung in Open MPI's own "
             "teardown: noted)"), run.describe())
    h.check(not run.left, f"{what}: no process of the run is left", run.left)

    # (b) the output: nothing, the previous file, or a complete correct new one
    state = output_state(kind, params, h.path(out), expected)
    outcomes[state if state in ("absent", "previous", "complete") else "BAD"] += 1
    allowed = ("previous", "complete") if prev else ("absent", "complete")
    h.check(state in allowed, f"{what}: {out} holds {' or '.join(allowed)}: {state}",
            f"previous output there before: {prev}\n{run.describe()}")
    if prev_sum is not None and state == "previous":
        h.check(dh.sha256(h.path(out)) == prev_sum,
                f"{what}: the previous {out} is byte-identical (SHA-256)")
    if run.rc == 0:
        h.check(state == "complete", f"{what}: exit status 0, so the output is complete and "
                "correct", f"{state}\n{run.describe()}")
    rep = dh.load_json(h.path(report))
    if isinstance(rep, dict) and rep.get("status") == "ok":
        h.check(state == "complete", f"{what}: the report says ok, so the output is new and "
                "complete", state)

    # (a) inputs unchanged
    h.check_inputs(what, INPUTS[kind])

    # temporary files: clearly named after a file of the job, PID a rank of the killed run
    names = {out, params.get("ckpt"), report}  # the report's too: .NAME.dproc-tmp-PID

    def dproc_temp(base):
        m = TMP_RE.match(base)
        return (m is not None and (m.group("out") in names or m.group("rep") == report) and
                int(m.group("pid")) in run.ranks)

    temps, probes = leftovers()
    bad = [os.path.relpath(p, h.dir) for p in temps
           if os.path.dirname(p) != h.dir or not dproc_temp(os.path.basename(p))]
    h.check(not bad, f"{what}: leftover temporary files are named .NAME.dproc-tmp-PID after a "
            f"file of the job and a rank of the run", f"{bad}; ranks {run.ranks}")
    if temps:
        temps_left += len(temps)
        h.note(f"{what}: {len(temps)} temporary file(s) left by the killed run (removed): "
               f"{[os.path.basename(p) for p in temps]}")
    # Open MPI's files beside an input or a temporary file of the job (PROBE_RE): noted.
    inputs = {os.path.relpath(f, h.dir) for f in INPUTS[kind]}
    bad = [os.path.relpath(p, h.dir) for p, base in probes
           if os.path.relpath(base, h.dir) not in inputs and
           not (os.path.dirname(p) == h.dir and dproc_temp(os.path.basename(base)))]
    h.check(not bad, f"{what}: Open MPI's lock files left are named after an input or a "
            "temporary file of the job", bad)
    if probes:
        probes_left.append(f"job {i}: " + ", ".join(os.path.relpath(p, h.dir) for p, _ in probes))
        h.note(f"{what}: Open MPI lock file(s) left by the killed run (removed): "
               f"{[os.path.relpath(p, h.dir) for p, _ in probes]}")
    for p in temps + [p for p, _ in probes]:
        os.unlink(p)
    sems = [f for f in os.listdir("/dev/shm") if f.startswith("sem.OMPIO_") and
            (f[len("sem.OMPIO_"):] in {os.path.basename(x) for x in INPUTS[kind]} or
             dproc_temp(f[len("sem.OMPIO_"):]))]
    if sems:
        sems_left.append(f"job {i}: " + ", ".join(sems))
        h.note(f"{what}: Open MPI semaphore(s) left in /dev/shm by the killed run (removed): "
               f"{sems}")
    for f in sems:
        try:
            os.unlink(os.path.join("/dev/shm", f))
        except OSError:
            pass
    h.check(sorted(os.listdir(h.path(IN["wordcount"]))) == TEXT_FILES,
            f"{what}: the text input directory holds its files and no other",
            os.listdir(h.path(IN["wordcount"])))
    new = listing() - before - {out, report, params.get("ckpt"), f"{name}.stdout",
                                f"{name}.stderr"}
    h.check(not new, f"{what}: no other file appeared", sorted(new))

    # (c) stencil: the newest checkpoint survives and --restart gives the uninterrupted bits
    if kind == "stencil":
        ck = params["ckpt"]
        k, why = checkpoint_state(h.path(ck), K, refs)
        h.check(why is None, f"{what}: checkpoint {ck} absent or valid ("
                + ("absent" if k is None else f"iteration {k}") + ")", why)
        last_ck = (ST_ITER - 1) // K * K  # none is written after the last iteration
        newest = max([min(p // K * K, last_ck) for p in progress] or [0])
        if run.rc == 0:
            newest = last_ck
        h.check((k or 0) >= newest, f"{what}: the checkpoint is the newest one written "
                f"(iteration {k or 0} >= {newest}: at most {K} iterations lost)",
                f"progress lines: {progress}")
        rs = f"rs{i:02d}"
        remove(f"{rs}.h5", f"{rs}.json")
        sets = ["--set", f"output.path={rs}.h5", "--set", f"output.report={rs}.json"]
        if k is not None and why is None:
            r = run_plain(f"{name}_restart", ["-q", "--restart", *sets, job], RESTART_NP)
            rrep = dh.load_json(h.path(f"{rs}.json"))
            rres = rrep.get("results", {}) if isinstance(rrep, dict) else {}
            h.check(r.rc == 0 and rres.get("restarted_from") == k and
                    rres.get("iterations_done") == ST_ITER,
                    f"{what}: --restart at np {RESTART_NP} completes from iteration {k}",
                    f"results {rres}\n{r.describe()}")
        else:
            r = run_plain(f"{name}_restart", ["-q", "--restart", *sets, job], RESTART_NP)
            h.check(r.rc == 1 and "checkpoint" in r.err() and
                    not os.path.exists(h.path(f"{rs}.h5")),
                    f"{what}: without a checkpoint --restart fails (exit 1, says why)",
                    r.describe())
            r = run_plain(f"{name}_rerun", ["-q", *sets, job], RESTART_NP)
            h.check(r.rc == 0, f"{what}: a fresh run at np {RESTART_NP} completes",
                    r.describe())
        got = read_dataset(f"{rs}.h5", "u")
        h.check(got is not None and dh.same_bits(got, expected),
                f"{what}: the result at np {RESTART_NP} == the uninterrupted run to the bit",
                "no output" if got is None else dh.bits_mismatch(got, expected))
        remove(f"{rs}.h5", f"{rs}.json", ck)
        temps, probes = leftovers()
        h.check(not temps and not probes, f"{what}: the runs at np {RESTART_NP} left no "
                "temporary file", temps + probes)
        for p in temps + [p for p, _ in probes]:
            os.unlink(p)
    remove(out, report)


t_jobs = time.monotonic()
for j in plan:
    soak_job(j)
h.note(f"{JOBS} jobs in {time.monotonic() - t_jobs:.1f} s; outputs found: "
       f"{dict(outcomes)}; temporary files left by killed runs: {temps_left}; Open MPI "
       f"lock files left: {len(probes_left)} job(s) {probes_left}; Open MPI semaphores left: "
       f"{len(sems_left)} job(s) {sems_left}; mpiexec hung in its teardown after every rank had "
       f"ended: {len(launcher_hangs)} job(s) {launcher_hangs}")

stray = dproc_procs_here()
h.check(not stray, "no dproc process of this test is left anywhere", stray)
kill_pids(stray)
h.check_inputs("all jobs")
print(f"soak: seed {SEED}", flush=True)
h.finish()
