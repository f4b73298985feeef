#!/usr/bin/python3
"""What [output] trace costs: the same jobs with and without a trace, through the dproc binary.

    /usr/bin/python3 bench/trace_cost.py [--build build] [--reps 7] [--np 2]
                                         [--out bench/results-trace.json]

Jobs (1 thread per rank, so that the ranks do not share the 2 cores with extra threads):
  * stencil: the 2-D heat preset on 2000 x 1500 points, 200 iterations, residual checked every
    10 (about 10 spans per iteration and rank: compute slabs, halo, halo wait, reduce);
  * the same on 200 x 150 points for 5000 iterations: the most spans per second of run;
  * streamed reduce: sum,min,max,mean,var over a 256 MiB HDF5 file in the page cache, read in
    pieces of 1 MiB with 2 reads in flight (about 4 spans per piece);
  * progress: the stencil again with --progress=plain (to a pipe), against --progress=none.
Runs alternate off / on, after one warm-up of each; the figures are medians of the run's own
time (timing.total of the report: the work, not MPI start-up nor the writing of the trace at
the end) and of mpirun's wall time (everything, writing the trace included), and the overhead
is median(on) / median(off) - 1. On a 2-core machine running 2 ranks that comparison is as noisy
as a few percent, so the cost is also computed: bench/trace_probe measures the time to record
and to write one span, and the traced run's own trace says how many spans each rank recorded.
The machine's bandwidth probe (bench/dp_bench) runs in the same
session for scale.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from run import machine  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")

STENCIL = """[job]
kernel = stencil
[input]
source = generate
generator = bump
shape = {shape}
[stencil]
preset = heat
alpha = 0.2
boundary = neumann
iterations = {iterations}
tolerance = 1e-30
check_every = 10
[output]
report = {report}
{trace}
[run]
threads = 1
"""

REDUCE = """[job]
kernel = reduce
[input]
source = hdf5
path = {data}
dataset = /x
[reduce]
ops = sum,min,max,mean,var
[output]
report = {report}
{trace}
[run]
threads = 1
chunk_mb = 1
prefetch = 2
"""


def run_once(a, work, template, traced, opts=(), **fmt):
    report = os.path.join(work, "report.json")
    trace = f"trace = {os.path.join(work, 'trace.json')}" if traced else ""
    job = os.path.join(work, "job.ini")
    with open(job, "w") as f:
        f.write(template.format(report=report, trace=trace, **fmt))
    cmd = ["mpirun", "--bind-to", "none", "-np", str(a.np), os.path.join(a.build, "dproc"), "-q",
           *opts, job]
    t0 = time.monotonic()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    with open(report) as f:
        return json.load(f)["timing"]["total"], wall


def compare(a, work, name, template, on, off, **fmt):
    """Medians of reps alternating runs of off and on (each (traced, opts)): the run's own
    time (timing.total) and the wall time of mpirun (which includes writing the trace)."""
    times = {"off": [], "on": []}
    for traced, opts in (off, on):
        run_once(a, work, template, traced, opts, **fmt)  # warm-up
    for _ in range(a.reps):
        for key, (traced, opts) in (("off", off), ("on", on)):
            times[key].append(run_once(a, work, template, traced, opts, **fmt))
    res = {}
    for i, what in enumerate(("run", "wall")):
        off_s = statistics.median(t[i] for t in times["off"])
        on_s = statistics.median(t[i] for t in times["on"])
        res[what] = {"off": off_s, "on": on_s, "overhead": on_s / off_s - 1,
                     "range_off": [min(t[i] for t in times["off"]),
                                   max(t[i] for t in times["off"])],
                     "range_on": [min(t[i] for t in times["on"]), max(t[i] for t in times["on"])]}
    r, w = res["run"], res["wall"]
    print(f"{name:34s} run: off {r['off']:.3f} s on {r['on']:.3f} s ({100 * r['overhead']:+.1f}%)"
          f"   wall: off {w['off']:.3f} s on {w['on']:.3f} s ({100 * w['overhead']:+.1f}%)",
          flush=True)
    return res


def computed(a, work, res, per_span):
    """The overhead from the spans the traced run recorded and the cost per span: recording and
    writing (each rank formats and writes its own spans, all at once, at the end), both on the
    rank with the most spans."""
    with open(os.path.join(work, "trace.json")) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    per_rank = [sum(1 for e in events if e["pid"] == r) for r in range(a.np)]
    off = res["run"]["off"]
    res["spans_per_rank"] = per_rank
    res["computed"] = {"record": max(per_rank) * per_span["record_ns"] * 1e-9 / off,
                       "write": max(per_rank) * per_span["write_ns"] * 1e-9 / off}
    c = res["computed"]
    print(f"{'':34s} {max(per_rank)} spans on the busiest rank: recording {100 * c['record']:.3f}%"
          f" of the run, writing {100 * c['write']:.2f}%", flush=True)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--np", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "results-trace.json"))
    a = p.parse_args()
    a.build = os.path.abspath(a.build)
    import h5py
    import numpy as np
    probe = json.loads(subprocess.run(
        [os.path.join(a.build, "bench", "dp_bench"), "--mib", "512", "--reps", "3", "--threads",
         "1"], check=True, capture_output=True, text=True).stdout)
    spans = [json.loads(subprocess.run([os.path.join(a.build, "bench", "trace_probe")], env=ENV,
                                       check=True, capture_output=True, text=True).stdout)
             for _ in range(3)]
    per_span = {k: statistics.median(x[k] for x in spans) for k in ("record_ns", "write_ns")}
    res = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "np": a.np, "threads": 1, "reps": a.reps,
           "probe_read_gbs": probe["probe_read_gbs"], "per_span": per_span, "cases": {}}
    m = res["machine"]
    print(f"{m.get('cpu', '?')}, {m['cores']} cores, {m.get('memory_gib', '?')} GiB; np {a.np} "
          f"x 1 thread; median of {a.reps}; probe read {res['probe_read_gbs']:.1f} GB/s "
          "(1 thread)", flush=True)
    print(f"per span (bench/trace_probe, 10^6 spans): recording {per_span['record_ns']:.0f} ns, "
          f"writing at the end {per_span['write_ns']:.0f} ns", flush=True)
    with tempfile.TemporaryDirectory(prefix="dproc-trace-bench-") as work:
        data = os.path.join(work, "in.h5")
        with h5py.File(data, "w") as f:
            f["/x"] = np.random.default_rng(3).random((4096, 8192))
        big = {"shape": "2000,1500", "iterations": 200}
        small = {"shape": "200,150", "iterations": 5000}
        res["cases"]["stencil 2000x1500, 200 it"] = computed(a, work, compare(
            a, work, "stencil 2000x1500, 200 it", STENCIL, on=(True, ()), off=(False, ()), **big),
            per_span)
        res["cases"]["stencil 200x150, 5000 it"] = computed(a, work, compare(
            a, work, "stencil 200x150, 5000 it (span-dense)", STENCIL, on=(True, ()),
            off=(False, ()), **small), per_span)
        res["cases"]["reduce 256 MiB, 1 MiB pieces"] = computed(a, work, compare(
            a, work, "reduce 256 MiB, 1 MiB pieces", REDUCE, on=(True, ()), off=(False, ()),
            data=data), per_span)
        res["cases"]["stencil progress plain"] = compare(
            a, work, "stencil, --progress=plain", STENCIL, on=(False, ("--progress=plain",)),
            off=(False, ("--progress=none",)), **big)
    with open(a.out + ".tmp", "w") as f:
        json.dump(res, f, indent=2)
    os.replace(a.out + ".tmp", a.out)
    print(f"written {a.out}")


if __name__ == "__main__":
    main()
