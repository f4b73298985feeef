#!/usr/bin/python3
"""dproc's benchmark runner: reduction throughput beside the machine's own bandwidth probe.

    /usr/bin/python3 bench/run.py [--build build] [--mib 2048] [--reps 5] [--out bench/results.json]

Measures, in one run on this machine:
  * the STREAM-style read and triad bandwidth probe (bench/dp_bench.c), 1 and 2 threads;
  * reduce throughput in GB/s of float64 input for ops = sum, sum,min,max,mean,var and hist
    (256 bins), on data already in memory (generation excluded), 1 and 2 threads;
  * reduce through the dproc binary on an HDF5 file in the page cache (read + compute time from
    the JSON report), 1 rank x 2 threads and 2 ranks x 1 thread;
  * numpy (Debian's python3-numpy, one core) on the same size of data, and dproc's ratio to it.
Every figure is a median of --reps repetitions after a warm-up. Prints a table and writes JSON.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def machine():
    info = {"host": platform.node(), "kernel": platform.release(), "cores": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def run_in_memory(build, mib, reps, threads):
    env = dict(os.environ, OMP_PROC_BIND="close", OMP_PLACES="cores")
    out = subprocess.run([os.path.join(build, "bench", "dp_bench"), "--mib", str(mib),
                          "--reps", str(reps), "--threads", str(threads)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_hdf5(build, mib, reps, workdir):
    """reduce over an HDF5 file in the page cache through the real binary."""
    dproc = os.path.join(build, "dproc")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    n = mib * 2**20 // 8
    rows = n // 4096
    path = os.path.join(workdir, "bench.h5")
    make = os.path.join(workdir, "make.ini")
    with open(make, "w") as f:
        f.write(f"[job]\nkernel = copy\n[input]\nsource = generate\nshape = {rows},4096\n"
                f"generator = random\nseed = 3\n[output]\npath = {path}\noverwrite = true\n")
    subprocess.run(["mpirun", "-np", "2", dproc, "-q", make], env=env, check=True)
    with open(path, "rb") as f:  # into the page cache
        while f.read(1 << 24):
            pass
    results = {}
    for name, ops in (("sum", "sum"), ("sum,min,max,mean,var", "sum,min,max,mean,var"),
                      ("hist", "hist\nbins = 256\nrange = 0,1")):
        job = os.path.join(workdir, "reduce.ini")
        report = os.path.join(workdir, "report.json")
        with open(job, "w") as f:
            f.write(f"[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = {path}\n"
                    f"dataset = /data\n[reduce]\nops = {ops}\n[output]\nreport = {report}\n")
        for label, np_, threads in (("1x2", "1", "2"), ("2x1", "2", "1")):
            rates = []
            for _ in range(reps + 1):
                subprocess.run(["mpirun", "-np", np_, "--bind-to", "none" if np_ == "1" else "core",
                                dproc, "-q", "--set", f"run.threads={threads}", job],
                               env=env, check=True)
                rep = json.load(open(report))
                t = rep["timing"]["read"] + rep["timing"]["compute"]
                rates.append(rep["bytes_read"] / t / 1e9)
            results[f"{name} ({label})"] = statistics.median(rates[1:])
    os.unlink(path)
    return results


def run_numpy(mib, reps):
    try:
        import numpy as np
    except ImportError:
        return None
    n = mib * 2**20 // 8
    x = np.random.default_rng(1).random(n)
    out = {"version": np.__version__}
    for name, fn in (("sum", lambda: np.sum(x)), ("var", lambda: np.var(x)),
                     ("hist", lambda: np.histogram(x, bins=256, range=(0.0, 1.0)))):
        times = []
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = x.nbytes / statistics.median(times[1:]) / 1e9
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mib", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--no-hdf5", action="store_true")
    ap.add_argument("--no-numpy", action="store_true")
    a = ap.parse_args()

    res = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "array_mib": a.mib, "reps": a.reps, "in_memory": {}}
    for threads in (1, 2):
        res["in_memory"][str(threads)] = run_in_memory(a.build, a.mib, a.reps, threads)
    if not a.no_hdf5:
        with tempfile.TemporaryDirectory(dir=ROOT) as d:
            res["hdf5_page_cache"] = run_hdf5(a.build, a.mib, a.reps, d)
    if not a.no_numpy:
        res["numpy_1core"] = run_numpy(a.mib, a.reps)

    m = res["machine"]
    print(f"dproc benchmark on {m.get('cpu', '?')}, {m['cores']} cores, "
          f"{m.get('memory_gib', '?')} GiB; {a.mib} MiB of float64, median of {a.reps}")
    print(f"{'':28} {'1 thread':>10} {'2 threads':>10} {'% probe (2)':>12}")
    one, two = res["in_memory"]["1"], res["in_memory"]["2"]
    print(f"{'probe read (GB/s)':28} {one['probe_read_gbs']:10.2f} {two['probe_read_gbs']:10.2f}")
    print(f"{'probe triad (GB/s)':28} {one['probe_triad_gbs']:10.2f} {two['probe_triad_gbs']:10.2f}")
    for k in two["reduce_gbs"]:
        pct = 100 * two["reduce_gbs"][k] / two["probe_read_gbs"]
        print(f"{'reduce ' + k:28} {one['reduce_gbs'][k]:10.2f} {two['reduce_gbs'][k]:10.2f} "
              f"{pct:11.0f}%")
    if "hdf5_page_cache" in res:
        print("HDF5 in page cache, through dproc (GB/s of input, read + compute):")
        for k, v in res["hdf5_page_cache"].items():
            print(f"  {k:40} {v:8.2f}")
    npr = res.get("numpy_1core")
    if npr:
        print(f"numpy {npr['version']} on one core (GB/s) and dproc's ratio (1 thread / 2 threads):")
        pairs = (("sum", "sum"), ("var", "sum,min,max,mean,var"), ("hist", "hist"))
        for k, d in pairs:
            print(f"  {k:6} {npr[k]:8.2f}   x{one['reduce_gbs'][d] / npr[k]:5.1f}"
                  f"   x{two['reduce_gbs'][d] / npr[k]:5.1f}")
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(f"written: {a.out}")


if __name__ == "__main__":
    sys.exit(main())
