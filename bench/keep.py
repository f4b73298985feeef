#!/usr/bin/python3
"""Which rank keeps which outputs of an axis reduction: [reduce] keep = all against keep = own,
and what keep = auto picks, on tables of several shapes read from HDF5 files in the page cache.

    /usr/bin/python3 bench/keep.py [--build build] [--reps 5] [--np 2] [--threads 1]
                                   [--shapes 1024x4096,...] [--large]
                                   [--out bench/results-keep.json]

For every shape (rows x columns, float64, uniform in [0, 1), a contiguous dataset), reduces
along axis 0 with ops = sum,min,max,mean,var through the dproc binary, once with keep = all and
once with keep = own, each a median of --reps runs of the report's timing.total after a warm-up
run, the file read into the page cache before every run. It checks that both write the same bits
(every dataset of /results), asks `dproc --dry-run` what keep = auto would do, and says whether
that was the faster of the two. --large adds the 1024 x 131072 table (1 GiB). The machine's own
bandwidth probe (bench/dp_bench) runs in the same session for scale, and the table goes to --out
as JSON; docs/performance.md keeps the figures.
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
SHAPES = "1024x4096,1024x16384,1024x32768,131072x1024,2097152x64"
LARGE = "1024x131072"
OPS = "sum,min,max,mean,var"


def make_file(path, rows, cols):
    """A contiguous float64 dataset /x of uniform values, written about 64 MiB at a time."""
    import h5py
    import numpy as np
    rng = np.random.default_rng(11)
    step = max(1, (1 << 23) // cols)
    with h5py.File(path, "w") as f:
        d = f.create_dataset("x", (rows, cols), dtype="f8")
        for r in range(0, rows, step):
            d[r:r + step] = rng.random((min(step, rows - r), cols))


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def job_text(path, keep, out, report):
    return (f"[job]\nkernel = reduce\n[input]\nsource = hdf5\npath = {path}\ndataset = /x\n"
            f"[reduce]\nops = {OPS}\naxis = 0\nkeep = {keep}\n"
            f"[output]\npath = {out}\noverwrite = true\nreport = {report}\n")


def dproc(a, args):
    cmd = ["mpirun", "-np", str(a.np), "--bind-to", "none" if a.np == 1 else "core",
           os.path.join(a.build, "dproc"), "--set", f"run.threads={a.threads}", *args]
    return subprocess.run(cmd, env=ENV, check=True, capture_output=True, text=True).stdout


def timed(a, workdir, path, keep):
    """Median timing.total of keep's runs, and the output file of the last one."""
    job = os.path.join(workdir, f"{keep}.ini")
    out, report = os.path.join(workdir, f"{keep}.h5"), os.path.join(workdir, f"{keep}.json")
    with open(job, "w") as f:
        f.write(job_text(path, keep, out, report))
    totals = []
    for _ in range(a.reps + 1):
        warm(path)
        dproc(a, ["-q", job])
        with open(report) as f:
            totals.append(json.load(f)["timing"]["total"])
    return statistics.median(totals[1:]), out


def same_bits(p, q):
    import h5py
    import numpy as np

    def data(d):
        v = np.asarray(d[()])
        return v.dtype.str, v.shape, v.tobytes()
    with h5py.File(p, "r") as f, h5py.File(q, "r") as g:
        names = sorted(f["results"])
        return names == sorted(g["results"]) and all(
            data(f["results"][n]) == data(g["results"][n]) for n in names)


def auto_choice(a, workdir, path):
    job = os.path.join(workdir, "auto.ini")
    with open(job, "w") as f:
        f.write(job_text(path, "auto", os.path.join(workdir, "auto.h5"),
                         os.path.join(workdir, "auto.json")))
    line = next(ln for ln in dproc(a, ["--dry-run", job]).splitlines()
                if ln.startswith("outputs:"))
    return "own" if "keeps those of its block" in line else "all"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shapes", default=SHAPES, help="rows x columns, comma-separated")
    ap.add_argument("--large", action="store_true", help=f"also {LARGE} (1 GiB)")
    ap.add_argument("--out", default=os.path.join(HERE, "results-keep.json"))
    a = ap.parse_args()
    shapes = [tuple(int(v) for v in s.split("x")) for s in a.shapes.split(",")]
    if a.large:
        shapes.append(tuple(int(v) for v in LARGE.split("x")))
    probe = json.loads(subprocess.run(
        [os.path.join(a.build, "bench", "dp_bench"), "--mib", "512", "--reps", "3", "--threads",
         "2"], check=True, capture_output=True, text=True).stdout)
    res = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "ops": OPS, "axis": 0, "reps": a.reps, "ranks": a.np, "threads": a.threads,
           "probe_read_gbs": probe["probe_read_gbs"], "cases": []}
    with tempfile.TemporaryDirectory(dir=ROOT) as d:
        path = os.path.join(d, "table.h5")
        for rows, cols in shapes:
            make_file(path, rows, cols)
            t_all, out_all = timed(a, d, path, "all")
            t_own, out_own = timed(a, d, path, "own")
            pick = auto_choice(a, d, path)
            case = {"rows": rows, "columns": cols, "mib": rows * cols * 8 / 2**20,
                    "all_s": t_all, "own_s": t_own, "auto": pick,
                    "auto_faster": (t_own < t_all) == (pick == "own"),
                    "same_bits": same_bits(out_all, out_own)}
            res["cases"].append(case)
            print(json.dumps(case), flush=True)
    m = res["machine"]
    print(f"\nkeep = all against own on {m.get('cpu', '?')}, {m['cores']} cores, "
          f"{m.get('memory_gib', '?')} GiB; axis 0, ops {OPS}, HDF5 in the page cache, "
          f"{a.np} ranks x {a.threads} threads, median of {a.reps}; probe read "
          f"{res['probe_read_gbs']:.1f} GB/s at 2 threads")
    print(f"{'table':>14} {'MiB':>6} {'all (s)':>8} {'own (s)':>8} {'all GB/s':>9} "
          f"{'own GB/s':>9} {'auto':>5} {'faster':>7} {'same bits':>10}")
    for c in res["cases"]:
        gb = c["mib"] * 2**20 / 1e9
        print(f"{c['rows']:>7}x{c['columns']:<6} {c['mib']:6.0f} {c['all_s']:8.3f} "
              f"{c['own_s']:8.3f} {gb / c['all_s']:9.2f} {gb / c['own_s']:9.2f} {c['auto']:>5} "
              f"{'yes' if c['auto_faster'] else 'NO':>7} {'yes' if c['same_bits'] else 'NO':>10}")
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(f"written: {a.out}")
    return 0 if all(c["same_bits"] for c in res["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
