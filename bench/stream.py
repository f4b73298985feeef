#!/usr/bin/python3
"""dproc's streaming benchmark: reads overlapped with computation, cold and warm.

    /usr/bin/python3 bench/stream.py [--build build] [--gib 4] [--reps 3] [--np 2]
                                     [--out bench/results-stream.json]

Writes a float64 raw file of --gib GiB, then runs through the dproc binary, each a median of
--reps runs after a warm-up, with the file evicted from the page cache before every run
(posix_fadvise DONTNEED: "cold") or read into it ("warm"):
  * read alone: reduce ops = count (next to no compute), overlap on;
  * a light reduction (sum,min,max,mean) and a compute-heavy map (exp, float32 output, with
    then_reduce = sum), each with overlap on and off.
For each workload it prints the total time with overlap on and off, the compute time alone
(timing.compute of the overlap-off run, where nothing competes with it), the write time of
the overlap-off run (map), and the ratio total(on) / max(read alone, compute alone, write
alone): 1.0 is perfect overlap, the target is <= 1.15.
The machine's own bandwidth probe (bench/dp_bench) runs in the same session for scale.
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


def make_file(path, gib):
    """A raw float64 file of uniform values in [0, 1), written a block at a time."""
    import numpy as np
    rng = np.random.default_rng(5)
    block = 1 << 24
    with open(path, "wb") as f:
        for _ in range(gib * (1 << 30) // (8 * block)):
            rng.random(block).tofile(f)
    return gib * (1 << 30) // 8


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def job_text(path, n, body, report, out=None):
    text = (f"[input]\nsource = raw\npath = {path}\ndtype = float64\nshape = {n}\n"
            f"{body}\n[output]\nreport = {report}\n")
    if out:
        text += f"path = {out}\noverwrite = true\n"
    return text


WORKLOADS = (
    ("read alone (count)", "[job]\nkernel = reduce\n[reduce]\nops = count", False),
    ("reduce sum,min,max,mean", "[job]\nkernel = reduce\n[reduce]\nops = sum,min,max,mean",
     False),
    ("map exp -> float32, then sum",
     "[job]\nkernel = map\n[map]\nop = exp\ndtype = float32\nthen_reduce = sum", True),
)


def run_case(a, workdir, path, n, body, writes, overlap, cache):
    report = os.path.join(workdir, "report.json")
    out = os.path.join(workdir, "out.h5") if writes else None
    job = os.path.join(workdir, "job.ini")
    with open(job, "w") as f:
        f.write(job_text(path, n, body, report, out))
    runs = []
    for _ in range(a.reps + 1):
        if out and os.path.exists(out):
            os.unlink(out)
        evict(path) if cache == "cold" else warm(path)
        cmd = ["mpirun", "-np", str(a.np), "--bind-to", "none" if a.np == 1 else "core",
               os.path.join(a.build, "dproc"), "-q", "--set", f"run.overlap={overlap}",
               "--set", f"run.chunk_mb={a.chunk_mb}", "--set", f"run.threads={a.threads}", job]
        subprocess.run(cmd, env=ENV, check=True)
        runs.append(json.load(open(report)))
    runs = runs[1:]
    med = lambda f: statistics.median(f(r) for r in runs)
    return {
        "total": med(lambda r: r["timing"]["total"]),
        "compute": med(lambda r: r["timing"]["compute"]),
        "read_busy": med(lambda r: r["timing"]["read_busy"]),
        "read_wait": med(lambda r: r["timing"]["read_wait"]),
        "write": med(lambda r: r["timing"]["write"]),
        "overlap": med(lambda r: r["overlap"]),
        "verdict": runs[len(runs) // 2]["verdict"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--gib", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk-mb", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "results-stream.json"))
    a = ap.parse_args()
    probe = json.loads(subprocess.run(
        [os.path.join(a.build, "bench", "dp_bench"), "--mib", "512", "--reps", "3", "--threads",
         "2"], check=True, capture_output=True, text=True).stdout)
    res = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "gib": a.gib, "reps": a.reps, "ranks": a.np, "threads": a.threads,
           "chunk_mb": a.chunk_mb, "probe_read_gbs": probe["probe_read_gbs"], "cases": {}}
    with tempfile.TemporaryDirectory(dir=ROOT) as d:
        path = os.path.join(d, "stream.raw")
        n = make_file(path, a.gib)
        for cache in ("cold", "warm"):
            for name, body, writes in WORKLOADS:
                for overlap in (("true",) if name.startswith("read alone") else ("true", "false")):
                    key = f"{cache} | {name} | overlap {overlap}"
                    res["cases"][key] = run_case(a, d, path, n, body, writes, overlap, cache)
                    print(f"{key}: {res['cases'][key]}", flush=True)
    m = res["machine"]
    print(f"\ndproc streaming on {m.get('cpu', '?')}, {m['cores']} cores, "
          f"{m.get('memory_gib', '?')} GiB; {a.gib} GiB float64 raw file, {a.np} ranks x "
          f"{a.threads} threads, chunk_mb {a.chunk_mb}, median of {a.reps}; probe read "
          f"{res['probe_read_gbs']:.1f} GB/s")
    print(f"{'':8} {'workload':32} {'on (s)':>8} {'off (s)':>8} {'compute':>8} {'read':>8} "
          f"{'write':>8} {'on/max':>7} {'hidden':>7}")
    for cache in ("cold", "warm"):
        read = res["cases"][f"{cache} | read alone (count) | overlap true"]["total"]
        for name, _, _ in WORKLOADS[1:]:
            on = res["cases"][f"{cache} | {name} | overlap true"]
            off = res["cases"][f"{cache} | {name} | overlap false"]
            ratio = on["total"] / max(read, off["compute"], off["write"])
            res["cases"][f"{cache} | {name} | overlap true"]["ratio_to_max"] = ratio
            print(f"{cache:8} {name:32} {on['total']:8.2f} {off['total']:8.2f} "
                  f"{off['compute']:8.2f} {read:8.2f} {off['write']:8.2f} {ratio:7.2f} "
                  f"{100 * on['overlap']:6.0f}%")
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(f"written: {a.out}")


if __name__ == "__main__":
    sys.exit(main())
