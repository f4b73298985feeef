"""Shared parts of dproc's MPI integration tests.

Every test script builds a Harness: it parses the common command line (--dproc, --np, --mpiexec),
works in a fresh temporary directory, runs dproc under the MPI launcher with a time limit, counts
checks and ends with the line "N passed, M failed" (exit status 1 when anything failed).

The expected values of the tests come from numpy/h5py or closed forms, never from dproc's own
output; the reference generators below follow dproc's documented formulas.
"""

import argparse
import hashlib
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

EPS = float(np.finfo(np.float64).eps)

# Exit statuses documented in dproc --help.
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class Result:
    """One finished (or timed-out) dproc invocation."""

    def __init__(self, cmd, rc, out, err, secs, timed_out):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err
        self.secs, self.timed_out = secs, timed_out

    def describe(self):
        tail = lambda s: s if len(s) < 1500 else s[:700] + "\n...\n" + s[-700:]
        return (f"command: {shlex.join(self.cmd)}\n  exit status: {self.rc}"
                f"{' (TIMED OUT)' if self.timed_out else ''}, {self.secs:.1f} s\n"
                f"  stdout: {tail(self.out)!r}\n  stderr: {tail(self.err)!r}")


class Harness:
    def __init__(self, name, description):
        p = argparse.ArgumentParser(description=description)
        p.add_argument("--dproc", required=True, help="path of the dproc binary")
        p.add_argument("--np", type=int, default=2, help="MPI ranks for the runs")
        p.add_argument("--mpiexec", default="mpiexec --oversubscribe --bind-to none",
                       help="launcher command words (split like a shell would)")
        p.add_argument("--timeout", type=float, default=120.0,
                       help="seconds one dproc run may take before it counts as a failure")
        p.add_argument("--keep", action="store_true", help="keep the temporary directory")
        self.args = p.parse_args()
        self.name = name
        self.np = self.args.np
        self.dproc_bin = os.path.abspath(self.args.dproc)
        self.mpiexec = shlex.split(self.args.mpiexec)
        self.passed = self.failed = 0
        self.failures = []
        self.dir = tempfile.mkdtemp(prefix=f"dproc-{name}-np{self.np}-")
        self.env = dict(os.environ)
        if os.geteuid() == 0:  # ctest sets these; also convenient when run by hand
            self.env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            self.env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        # Open MPI's launcher waits a second before it kills the ranks of a job of which one
        # rank exited with a non-zero status; every rank of dproc exits by itself, so the wait
        # only slows the many failing runs of these tests down. The exit status is kept.
        self.env.setdefault("OMPI_MCA_odls_base_sigkill_timeout", "0")
        self.t0 = time.monotonic()
        print(f"== {name}: dproc {self.dproc_bin}, np {self.np}, launcher "
              f"{shlex.join(self.mpiexec)}, directory {self.dir}", flush=True)
        if not os.access(self.dproc_bin, os.X_OK):
            self.check(False, f"dproc binary {self.dproc_bin} is executable")
            self.finish()

    # ---- files -------------------------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, data):
        """Writes text or bytes to a file in the test directory; returns its path."""
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return p

    def temp_leftovers(self):
        """Files whose name shows a temporary output of dproc, anywhere under the directory."""
        found = []
        for root, _, files in os.walk(self.dir):
            found += [os.path.join(root, f) for f in files if "dproc-tmp" in f]
        return found

    # ---- checks ------------------------------------------------------------------------------

    def check(self, ok, what, detail=""):
        ok = bool(ok)
        if ok:
            self.passed += 1
            print(f"PASS: {what}", flush=True)
        else:
            self.failed += 1
            self.failures.append(what)
            print(f"FAIL: {what}", flush=True)
            if detail:
                print("  " + str(detail).replace("\n", "\n  "), flush=True)
        return ok

    def note(self, text):
        print(f"NOTE: {text}", flush=True)

    def guard_inputs(self, paths):
        """Records the SHA-256 of input files (directories: everything under them) the first
        time they are seen; returns the files, for check_inputs."""
        if not hasattr(self, "input_sums"):
            self.input_sums = {}
        files = []
        for p in paths:
            if os.path.isdir(p):
                for root, _, names in os.walk(p):
                    files += [os.path.join(root, f) for f in names]
            else:
                files.append(p)
        for f in files:
            self.input_sums.setdefault(f, sha256(f))
        return files

    def check_inputs(self, what, files=None):
        """Checks that the guarded files (or all of them) are byte-identical."""
        sums = getattr(self, "input_sums", {})
        files = list(sums) if files is None else files
        changed = [f for f in files if not os.path.exists(f) or sha256(f) != sums[f]]
        self.check(not changed, f"{what}: input files byte-identical after the run", changed)

    def run_writing(self, what, job, out, files, np=None):
        """Runs a job that should write out (a name in the test directory) from the input files:
        checks that it succeeded, left no temporary file, changed no input and wrote out."""
        all_files = self.guard_inputs(files)
        res = self.dproc(job, np=np)
        self.check_no_leftovers(what)
        self.check_inputs(what, all_files)
        if not self.expect_ok(res, what):
            return False
        return self.check(os.path.exists(self.path(out)), f"{what}: output {out} exists")

    def check_no_leftovers(self, what):
        left = self.temp_leftovers()
        self.check(not left, f"{what}: no temporary .dproc-tmp file left", left)
        for f in left:  # so that the next check is not blamed for this one
            os.unlink(f)

    def finish(self):
        secs = time.monotonic() - self.t0
        if self.failures:
            print("failed checks:")
            for f in self.failures:
                print(f"  - {f}")
        if self.failed == 0 and not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"(test directory kept: {self.dir})")
        print(f"({self.name} took {secs:.1f} s)")
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed or self.passed == 0 else 0)

    # ---- running dproc -----------------------------------------------------------------------

    def run(self, args, np=None, mpi=True, cwd=None, timeout=None, env=None):
        """Runs dproc with args (under the launcher with np ranks unless mpi is False).
        Reaching the time limit is recorded as a failed check."""
        np = self.np if np is None else np
        cmd = ([*self.mpiexec, "-np", str(np)] if mpi else []) + [self.dproc_bin, *args]
        return self.run_command(cmd, cwd, timeout, env)

    def run_command(self, cmd, cwd=None, timeout=None, env=None):
        """Runs cmd (a launcher and a dproc, e.g. smpirun and dproc-smpi) in its own session,
        as run() does."""
        timeout = self.args.timeout if timeout is None else timeout
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd or self.dir, env=env or self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:  # the launcher and its ranks are in the session this call started
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        res = Result(cmd, proc.returncode, out.decode(errors="replace"),
                     err.decode(errors="replace"), time.monotonic() - t0, timed_out)
        if timed_out:
            self.check(False, f"dproc finished within {timeout:.0f} s", res.describe())
        return res

    def dproc(self, job, sets=(), opts=(), **kw):
        """Runs dproc [opts] [--set s]... job."""
        args = list(opts)
        for s in sets:
            args += ["--set", s]
        return self.run(args + [job], **kw)

    def expect_ok(self, res, what):
        return self.check(res.rc == 0 and not res.timed_out, f"{what}: exit status 0",
                          res.describe())


# ---- processes -------------------------------------------------------------------------------

def session_processes(sid, exe):
    """{pid: (runs exe, MPI rank or -1)} of every process in session sid, read from /proc (the
    rank from the environment Open MPI gives each rank)."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            if os.getsid(pid) != sid:
                continue
        except OSError:
            continue
        is_exe, rank = False, -1
        try:
            is_exe = os.path.realpath(f"/proc/{d}/exe") == exe
            if is_exe:
                with open(f"/proc/{d}/environ", "rb") as f:
                    for e in f.read().split(b"\0"):
                        for key in (b"OMPI_COMM_WORLD_RANK=", b"PMIX_RANK="):
                            if e.startswith(key) and rank < 0:
                                rank = int(e[len(key):] or -1)
        except (OSError, ValueError):
            pass
        found[pid] = (is_exe, rank)
    return found


# ---- job files -------------------------------------------------------------------------------

def job_text(sections, comment=None):
    """INI text from [(section, {key: value})...] (or a dict of dicts), values verbatim."""
    items = sections.items() if isinstance(sections, dict) else sections
    lines = [f"; {comment}"] if comment else []
    for sec, keys in items:
        lines.append(f"[{sec}]")
        lines += [f"{k} = {v}" for k, v in keys.items()]
        lines.append("")
    return "\n".join(lines)


def line_of(text, needle, start=1):
    """1-based number of the first line (from line start on) containing needle."""
    for i, line in enumerate(text.split("\n"), 1):
        if i >= start and needle in line:
            return i
    raise ValueError(f"{needle!r} is not in the job text")


# ---- reports and outputs ---------------------------------------------------------------------

REPORT_KEYS = ("job", "kernel", "ranks", "threads", "elements", "bytes_read", "results",
               "timing", "status", "shape", "grid")
TIMING_KEYS = ("total", "read", "compute", "communicate", "write")


def load_json(path):
    """The parsed JSON file, or the reason it could not be read (as a str)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return f"cannot read JSON report {path}: {e}"


def attr_text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        return attr_text(v[()])
    return v if isinstance(v, str) else str(v)


def h5_datasets(f, group):
    """The datasets under group of an open h5py file as a flat {name: value}, or None when
    there is no such group."""
    g = f.get(group)
    if g is None or not hasattr(g, "visititems"):
        return None
    out = {}

    def visit(name, obj):
        if hasattr(obj, "shape"):
            out[name] = obj[()]
    g.visititems(visit)
    return out


def kv_table(h, what, path, dataset, names):
    """Reads the HDF5 table of a key-value job: checks that dataset exists in path as a compound
    of exactly the members names with a variable-length UTF-8 key; returns the rows (a numpy
    structured array) and the keys as bytes, or None when a check failed."""
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        h.check(False, f"{what}: output is an HDF5 file", e)
        return None
    with f:
        d = f.get(dataset)
        if not h.check(isinstance(d, h5py.Dataset), f"{what}: dataset {dataset} exists",
                       list(f.keys())):
            return None
        got = d.dtype.names or ()
        if not h.check(set(got) == set(names), f"{what}: compound members {sorted(names)}", got):
            return None
        si = h5py.check_string_dtype(d.dtype["key"])
        h.check(si is not None and si.encoding == "utf-8" and si.length is None,
                f"{what}: key is a variable-length UTF-8 string", d.dtype)
        a = d[()]
    keys = [k if isinstance(k, bytes) else str(k).encode() for k in a["key"]]
    return a, keys


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def same_bits(a, b):
    """Whether two float64 arrays have the same shape and identical bit patterns."""
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and a.dtype == b.dtype == np.float64 and
            np.array_equal(a.view(np.uint64), b.view(np.uint64)))


def bits_mismatch(a, b):
    """A short description of where two float64 arrays differ."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return f"shape {a.shape} != expected {b.shape}"
    bad = np.argwhere(a.view(np.uint64) != b.view(np.uint64))
    if len(bad) == 0:
        return "identical"
    i = tuple(bad[0])
    return (f"{len(bad)} of {a.size} values differ; first at index {i}: got {a[i]!r}, "
            f"expected {b[i]!r}")


# ---- reference data (dproc's documented generators) ------------------------------------------

def ref_ramp(shape):
    """generator = ramp: the row-major global index as float64."""
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


def ref_bump(shape):
    """generator = bump: exp(-r2 / (2 * 0.1^2)), r2 = sum over axes of ((i + 0.5)/n - 0.5)^2,
    evaluated in the order written (axis sums first to last) with the C library's exp, so that
    the result is bit-for-bit what a plain C loop gives."""
    inv_w = 1.0 / (2.0 * 0.1 * 0.1)
    r2 = np.zeros(shape, dtype=np.float64)
    for d, n in enumerate(shape):
        u = (np.arange(n, dtype=np.float64) + 0.5) / float(n) - 0.5
        view = [1] * len(shape)
        view[d] = n
        r2 = r2 + (u * u).reshape(view)
    arg = (-r2) * inv_w
    return np.array([math.exp(x) for x in arg.ravel()], dtype=np.float64).reshape(shape)


# ---- reduce references -----------------------------------------------------------------------

def reduce_reference(values):
    """count, nan, min, max, exact sum, mean and their tolerances for the float64 values, as
    dproc's reduce defines them: NaN skipped and counted; min/max/mean NaN when nothing counts.
    The sum tolerance is n * eps * sum(|x|), a bound on any order of summation."""
    x = np.asarray(values, dtype=np.float64).ravel()
    nan = int(np.isnan(x).sum())
    v = x[~np.isnan(x)]
    count = int(v.size)
    ref = {"count": count, "nan": nan}
    if count == 0:
        ref.update(min=math.nan, max=math.nan, sum=0.0, mean=math.nan, sum_tol=0.0, mean_tol=0.0)
        return ref
    ref["min"], ref["max"] = float(v.min()), float(v.max())
    pinf, ninf = bool(np.isposinf(v).any()), bool(np.isneginf(v).any())
    if pinf or ninf:
        s = math.nan if (pinf and ninf) else (math.inf if pinf else -math.inf)
        ref.update(sum=s, mean=s, sum_tol=0.0, mean_tol=0.0)
        return ref
    s = math.fsum(v.tolist())
    tol = count * EPS * math.fsum(np.abs(v).tolist())
    mean = s / count
    ref.update(sum=s, mean=mean, sum_tol=tol, mean_tol=tol / count + 2 * EPS * abs(mean))
    return ref


def close(got, want, tol):
    """Equality for non-finite values (NaN == NaN), |got - want| <= tol otherwise."""
    if got is None:
        return False
    got = float(got)
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return math.isfinite(got) and abs(got - want) <= tol


def json_number(v):
    """A report number as float; the report writes NaN as null, +-Inf as "Infinity" and
    "-Infinity" (which float() reads)."""
    return math.nan if v is None else float(v)


def json_nonfinite(v):
    """What the report writes for the non-finite float v."""
    return None if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
