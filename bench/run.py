#!/usr/bin/python3
"""dproc's benchmark runner: reductions and stencils beside the machine's own bandwidth probe.

    /usr/bin/python3 bench/run.py [--build build] [--mib 2048] [--reps 5] [--out bench/results.json]
    /usr/bin/python3 bench/run.py --only-stencil [--reps 3] [--iterations 20]

Measures, in one run on this machine:
  * the STREAM-style read and triad bandwidth probe (bench/dp_bench.c), 1 and 2 threads;
  * reduce throughput in GB/s of float64 input for ops = sum, sum,min,max,mean,var and hist
    (256 bins), on data already in memory (generation excluded), 1 and 2 threads;
  * element-wise maps in GB/s read + written, 1 and 2 threads: kernel expr's a*x + b against
    kernel map's axpy, and expr's sqrt(x*x + 1) against a hand-written C loop;
  * reduce through the dproc binary on an HDF5 file in the page cache (read + compute time from
    the JSON report), 1 rank x 2 threads and 2 ranks x 1 thread;
  * numpy (Debian's python3-numpy, one core) on the same size of data, and dproc's ratio to it;
  * stencils through the dproc binary (2-D star radius 2 on 8000^2, 3-D 7-point on 400^3) at
    1x1, 1x2 and 2x1 ranks x threads in million points per second against the bandwidth bound
    (triad probe / 24 bytes per point), halo_depth 1 and 4, temporal blocking at depth 4 and 8,
    overlap on and off.
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
        # the model name of a VM can hide the core ("AMD EPYC"): family, model and the widest
        # vector set say which variant of the kernels ran
        for line in open("/proc/cpuinfo"):
            key, _, val = (part.strip() for part in line.partition(":"))
            if key == "model name":
                info["cpu"] = val
            elif key in ("cpu family", "model"):
                info["cpu_" + key.replace("cpu ", "")] = int(val)
            elif key == "flags":
                flags = set(val.split())
                info["vector"] = next((f for f in ("avx512f", "avx2", "sse4_2") if f in flags),
                                      "baseline")
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


STENCILS = (
    ("2-D star r2, 8000^2", "8000,8000", "preset = star\nradius = 2"),
    ("3-D 7-point, 400^3", "400,400,400", "preset = heat\nalpha = 0.1"),
)


def stencil_job(workdir, shape, taps, iterations, extra=""):
    job = os.path.join(workdir, "stencil.ini")
    report = os.path.join(workdir, "stencil.json")
    with open(job, "w") as f:
        f.write(f"[job]\nkernel = stencil\n[input]\nsource = generate\nshape = {shape}\n"
                f"generator = random\n[output]\nreport = {report}\n[stencil]\n{taps}\n"
                f"iterations = {iterations}\n{extra}\n")
    return job, report


def stencil_rate(build, job, report, np_, threads, reps, sets=()):
    """Median million points per second of the iterations (compute + communicate time)."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    rates, reps_out = [], []
    for _ in range(reps + 1):
        args = ["mpirun", "-np", str(np_), "--bind-to", "none" if np_ == 1 else "core",
                os.path.join(build, "dproc"), "-q", "--set", f"run.threads={threads}"]
        for st in sets:
            args += ["--set", st]
        subprocess.run(args + [job], env=env, check=True)
        rep = json.load(open(report))
        t = rep["timing"]["compute"] + rep["timing"]["communicate"]
        rates.append(rep["elements"] * rep["results"]["iterations_done"] / t / 1e6)
        reps_out.append(rep["timing"])
    return statistics.median(rates[1:]), reps_out[1:]


# (halo_depth, temporal_blocking): plain sweeps, deep halos, temporal blocking
VARIANTS = ((1, "false"), (4, "false"), (4, "true"), (8, "true"))


def variant(k, tb):
    return f"depth {k}" + (" tiled" if tb == "true" else "")


def run_stencils(build, reps, workdir, triad_gbs, iterations):
    """Stencil sweeps through the dproc binary at 1x1, 1x2 and 2x1 (ranks x threads): plain
    sweeps, halo_depth 4 with and without temporal blocking, halo_depth 8 with it; against the
    bandwidth bound triad / 24 bytes per point; overlap on and off at 2x1."""
    bound = triad_gbs * 1e9 / 24 / 1e6
    out = {"bound_mpts": bound, "triad_gbs": triad_gbs, "iterations": iterations, "runs": {}}
    for name, shape, taps in STENCILS:
        job, report = stencil_job(workdir, shape, taps, iterations)
        r = {}
        for label, np_, threads in (("1x1", 1, 1), ("1x2", 1, 2), ("2x1", 2, 1)):
            for k, tb in VARIANTS:
                mpts, _ = stencil_rate(build, job, report, np_, threads, reps,
                                       (f"stencil.halo_depth={k}",
                                        f"stencil.temporal_blocking={tb}"))
                r[f"{label} {variant(k, tb)}"] = {"mpts": mpts, "gbs": mpts * 24 / 1e3,
                                                  "of_bound": mpts / bound}
        for overlap in ("true", "false"):
            mpts, timings = stencil_rate(build, job, report, 2, 1, reps,
                                         (f"run.overlap={overlap}",))
            halo = statistics.median(t["halo"] for t in timings)
            wait = statistics.median(t["halo_wait"] for t in timings)
            r[f"2x1 overlap={overlap}"] = {"mpts": mpts, "halo_s": halo, "halo_wait_s": wait,
                                           "hidden": 1 - wait / halo if halo > 0 else None}
        out["runs"][name] = r
    return out


def print_stencils(st):
    print(f"stencils through dproc, {st['iterations']} iterations (million points/s; bound = "
          f"triad {st['triad_gbs']:.2f} GB/s / 24 B = {st['bound_mpts']:.0f} Mpts/s):")
    for name, r in st["runs"].items():
        print(f"  {name}")
        for label in ("1x1", "1x2", "2x1"):
            for k, tb in VARIANTS:
                x = r[f"{label} {variant(k, tb)}"]
                print(f"    {label + ' ' + variant(k, tb):24} {x['mpts']:8.0f} Mpts/s "
                      f"{x['gbs']:6.2f} GB/s {100 * x['of_bound']:5.0f}% of bound")
        for overlap in ("true", "false"):
            x = r[f"2x1 overlap={overlap}"]
            hidden = "-" if x["hidden"] is None else f"{100 * x['hidden']:.0f}%"
            print(f"    {'2x1 overlap=' + overlap:24} {x['mpts']:8.0f} Mpts/s  halo "
                  f"{x['halo_s']:.4f} s, waited {x['halo_wait_s']:.4f} s, hidden {hidden}")


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
    ap.add_argument("--no-stencil", action="store_true")
    ap.add_argument("--only-stencil", action="store_true",
                    help="the probe and the stencils only (no reductions, HDF5 or numpy)")
    ap.add_argument("--iterations", type=int, default=20, help="stencil iterations per run")
    a = ap.parse_args()
    if not 1 <= a.reps <= 63:
        ap.error("--reps takes an integer in [1, 63] (dp_bench keeps at most 63 timings)")
    if not 1 <= a.mib <= 1 << 24:
        ap.error("--mib takes an integer in [1, 16777216]")
    if a.only_stencil:
        a.no_hdf5 = a.no_numpy = True

    res = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "array_mib": a.mib, "reps": a.reps, "in_memory": {}}
    for threads in (1, 2):
        res["in_memory"][str(threads)] = run_in_memory(a.build, a.mib, a.reps, threads)
    if not a.no_hdf5:
        with tempfile.TemporaryDirectory(dir=ROOT) as d:
            res["hdf5_page_cache"] = run_hdf5(a.build, a.mib, a.reps, d)
    if not a.no_numpy:
        res["numpy_1core"] = run_numpy(a.mib, a.reps)
    if not a.no_stencil:
        with tempfile.TemporaryDirectory(dir=ROOT) as d:
            res["stencil"] = run_stencils(a.build, a.reps, d,
                                          res["in_memory"]["2"]["probe_triad_gbs"], a.iterations)

    m = res["machine"]
    print(f"dproc benchmark on {m.get('cpu', '?')} (family {m.get('cpu_family', '?')} model "
          f"{m.get('cpu_model', '?')}, {m.get('vector', '?')}), {m['cores']} cores, "
          f"{m.get('memory_gib', '?')} GiB; {a.mib} MiB of float64, median of {a.reps}")
    print(f"{'':28} {'1 thread':>10} {'2 threads':>10} {'% probe (2)':>12}")
    one, two = res["in_memory"]["1"], res["in_memory"]["2"]
    print(f"{'probe read (GB/s)':28} {one['probe_read_gbs']:10.2f} {two['probe_read_gbs']:10.2f}")
    print(f"{'probe triad (GB/s)':28} {one['probe_triad_gbs']:10.2f} {two['probe_triad_gbs']:10.2f}")
    for k in two["reduce_gbs"]:
        # the median of the repetitions' ratios, each repetition timing the probe and the
        # reduction one after the other
        pct = 100 * two["reduce_share_of_probe"][k]
        print(f"{'reduce ' + k:28} {one['reduce_gbs'][k]:10.2f} {two['reduce_gbs'][k]:10.2f} "
              f"{pct:11.0f}%")
    # computing alone: each reduction's SIMD pass on one tile in L1
    variant = next(iter(two["tile_ns_per_value"]))
    print(f"{'tile pass, ' + variant:28} {'ns/value':>10} {'share of memory time, 1 / 2 threads':>38}")
    for k, ns in two["tile_ns_per_value"][variant].items():
        print(f"{'  ' + k:28} {ns:10.3f} {one['tile_share_of_memory_time'][k]:23.2f} "
              f"{two['tile_share_of_memory_time'][k]:5.2f}")
    print(f"  (memory delivers a value to each thread every "
          f"{one['memory_ns_per_value_per_thread']:.3f} / {two['memory_ns_per_value_per_thread']:.3f}"
          f" ns at the probe's rate; a share near or above 1: bound by computing)")
    print(f"{'map (GB/s read + written)':28}")
    for k in two["map_gbs"]:
        print(f"{'  ' + k:28} {one['map_gbs'][k]:10.2f} {two['map_gbs'][k]:10.2f}")
    for t, d in (("1", one), ("2", two)):
        m_ = d["map_gbs"]
        print(f"  {t} thread(s): expr a*x + b at {m_['a*x + b (expr)'] / m_['axpy (map)']:.0%} of "
              f"map axpy (target >= 80%); expr sqrt(x*x + 1) at "
              f"{m_['sqrt(x*x + 1) (expr)'] / m_['sqrt(x*x + 1) (C loop)']:.0%} of the C loop "
              f"(target >= 50%)")
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
    if "stencil" in res:
        print_stencils(res["stencil"])
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(f"written: {a.out}")


if __name__ == "__main__":
    sys.exit(main())
