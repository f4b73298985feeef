#!/usr/bin/python3
"""Integration test: SIGUSR1 and SIGTERM stop a running job cleanly.

1. A stencil with checkpoint_path, sent SIGUSR1 once its first checkpoint exists: every rank
   exits with status 4, the message names the signal, the iteration and --restart, a checkpoint
   at that iteration is on disk, no output and no temporary file exist, the report says
   "stopped"; the same job with --restart (at another rank count) finishes with the bits of an
   uninterrupted run.
2. A streamed map from a raw file (nonblocking MPI-IO reads) and from generated data (reads
   through the source), sent SIGTERM while it runs: status 4, "stopped by SIGTERM", no output,
   no temporary file, the input unchanged.
The signal goes to the ranks themselves, as Slurm delivers it to every task."""

import os
import signal
import subprocess
import time

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("signals", __doc__)


def start(args):
    """Starts dproc under the launcher in a session of its own; returns the Popen."""
    cmd = [*h.mpiexec, "-np", str(h.np), h.dproc_bin, *args]
    return subprocess.Popen(cmd, cwd=h.dir, env=h.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def ranks_of(proc):
    """The dproc processes (ranks) in the launcher's session."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            if os.getsid(int(d)) == proc.pid and os.path.abspath(argv0) == h.dproc_bin:
                pids.append(int(d))
        except (OSError, ProcessLookupError):
            pass
    return pids


def wait_for(cond, proc, secs=60):
    """Polls cond() every 10 ms while proc runs; True when it held before proc ended."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def signal_ranks(proc, sig):
    """Sends sig to every rank once all have started; returns how many got it."""
    wait_for(lambda: len(ranks_of(proc)) == h.np, proc, 30)
    pids = ranks_of(proc)
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass
    return len(pids)


def finish(proc, what):
    try:
        out, err = proc.communicate(timeout=h.args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        h.check(False, f"{what}: ended within {h.args.timeout:.0f} s after the signal")
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def temp_exists():
    return bool(h.temp_leftovers())


# ---- 1. stencil: SIGUSR1 -> checkpoint, exit 4; --restart gives the uninterrupted bits ------

ITER = 6000
stencil = dh.job_text({
    "job": {"kernel": "stencil"},
    "input": {"source": "generate", "shape": "200,200", "generator": "bump"},
    "stencil": {"preset": "heat", "alpha": "0.1", "iterations": ITER, "checkpoint_every": 500,
                "checkpoint_path": "heat.ckpt.h5"},
    "output": {"path": "heat.h5", "report": "heat.json"},
    "run": {"threads": 1},  # the tests oversubscribe the cores: one thread per rank
})
h.write("heat.ini", stencil)
full = h.dproc("heat.ini", sets=["output.path=full.h5", "output.report=full.json",
                                 "stencil.checkpoint_path=full.ckpt.h5"])
h.expect_ok(full, "uninterrupted stencil")

proc = start(["-q", "heat.ini"])
seen = wait_for(lambda: os.path.exists(h.path("heat.ckpt.h5")), proc)
h.check(seen, "stencil: the first checkpoint appears while the job runs")
n = signal_ranks(proc, signal.SIGUSR1)
h.check(n == h.np, f"stencil: SIGUSR1 sent to all {h.np} ranks", n)
rc, out, err = finish(proc, "stencil")
h.check(rc == 4, "stencil: exit status 4 after SIGUSR1", f"rc {rc}\n{err}")
h.check("stopped by SIGUSR1" in err and "--restart" in err and "heat.ckpt.h5" in err,
        "stencil: the message names the signal, the checkpoint and --restart", err)
h.check(err.count("stopped by") == 1, "stencil: the message comes from one rank only", err)
h.check(not os.path.exists(h.path("heat.h5")), "stencil: no output file after the stop")
h.check_no_leftovers("stencil stopped")
rep = dh.load_json(h.path("heat.json"))
h.check(isinstance(rep, dict) and rep.get("status") == "stopped",
        "stencil: the report's status is 'stopped'", rep)
with h5py.File(h.path("heat.ckpt.h5"), "r") as f:
    stopped_at = int(f.attrs["dproc_iteration"])
h.check(0 < stopped_at < ITER,
        f"stencil: the checkpoint is at an iteration between 1 and {ITER - 1}", stopped_at)
h.check(f"after iteration {stopped_at} of {ITER}" in err,
        "stencil: the message gives the checkpoint's iteration", err)

other = h.np % 4 + 1
res = h.dproc("heat.ini", opts=["--restart"], np=other)
h.expect_ok(res, f"stencil --restart at {other} ranks")
rep = dh.load_json(h.path("heat.json"))
h.check(isinstance(rep, dict) and rep["results"].get("restarted_from") == stopped_at and
        rep["results"].get("iterations_done") == ITER,
        f"stencil: restarted from {stopped_at}, {ITER} iterations done", rep)
if os.path.exists(h.path("heat.h5")) and os.path.exists(h.path("full.h5")):
    with h5py.File(h.path("heat.h5"), "r") as a, h5py.File(h.path("full.h5"), "r") as b:
        h.check(dh.same_bits(a["data"][()], b["data"][()]),
                "stencil: stopped + restarted == uninterrupted, bit for bit")
else:
    h.check(False, "stencil: both outputs exist to compare")

# ---- 2. streamed map: SIGTERM -> exit 4, nothing written --------------------------------------

rows, cols = 4096, 4096  # 128 MiB of float64: pieces of 1 MiB take a while to stream
raw = h.path("in.raw")
np.random.default_rng(4).random((rows, cols)).tofile(raw)
before = dh.sha256(raw)
cases = (
    ("raw (nonblocking reads)",
     {"source": "raw", "path": "in.raw", "dtype": "float64", "shape": f"{rows},{cols}"}),
    ("generated (reads through the source)",
     {"source": "generate", "shape": f"{rows},{cols}", "generator": "random"}),
)
for what, inp in cases:
    h.write("map.ini", dh.job_text({
        "job": {"kernel": "map"}, "input": inp, "map": {"op": "exp", "dtype": "float32"},
        "output": {"path": "mapped.h5", "report": "map.json"}, "run": {"chunk_mb": 1, "threads": 1},
    }))
    proc = start(["-q", "map.ini"])
    seen = wait_for(temp_exists, proc)
    h.check(seen, f"map {what}: the temporary output appears while the job runs")
    signal_ranks(proc, signal.SIGTERM)
    rc, out, err = finish(proc, f"map {what}")
    h.check(rc == 4, f"map {what}: exit status 4 after SIGTERM", f"rc {rc}\n{err}")
    h.check("stopped by SIGTERM" in err and "no output written" in err,
            f"map {what}: the message names the signal and says nothing was written", err)
    h.check(not os.path.exists(h.path("mapped.h5")), f"map {what}: no output file")
    h.check_no_leftovers(f"map {what}")
    rep = dh.load_json(h.path("map.json"))
    h.check(isinstance(rep, dict) and rep.get("status") == "stopped",
            f"map {what}: report status 'stopped'", rep)
h.check(dh.sha256(raw) == before, "the raw input is unchanged")

h.finish()
