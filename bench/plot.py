#!/usr/bin/python3
"""Draws dproc's benchmark results as SVG charts with gnuplot (Debian: gnuplot-nox).

    /usr/bin/python3 bench/plot.py [--bench bench] [--out docs/img]

Reads the result files that bench/run.py, bench/stream.py and bench/kv.py leave in --bench and
writes into --out:
  bench-reduce.svg   reduce throughput in memory (GB/s) against threads for each op set, the
                     read bandwidth probe as a dashed line, numpy's 1-core figures as points
                     (results.json);
  bench-stencil.svg  stencil throughput (million points/s) against ranks x threads for each
                     stencil and halo depth, the bandwidth bound (triad / 24 B) as a dashed line
                     (results-stencil.json);
  bench-overlap.svg  overlap on vs off, for the cases measured both ways: total seconds of the
                     streaming runs (results-stream.json, results-stream-1x1.json) and the
                     stencil's rate (results-stencil.json);
  bench-kv.svg       word count MB/s at np 1 and 2 beside the plain C count, the sort | uniq -c
                     pipeline and the read probe, on a log scale (results-kv.json).
A chart whose input is missing is skipped with a note. Each chart is written under a temporary
name and renamed into place.
"""
import argparse
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TERMINAL = "set terminal svg size 720,420 dynamic enhanced font 'sans,11'"
PROBE = "lines lc black lw 2 dt 2"  # the bandwidth probe or bound: a dashed black line
NUMPY = (("sum", "sum"), ("var", "sum,min,max,mean,var"), ("hist", "hist"))  # as bench/run.py


class Skip(Exception):
    """A chart that the results at hand cannot draw."""


def q(s):
    """s as a gnuplot double-quoted string (same escapes as JSON: \\n, \\", \\\\)."""
    return json.dumps(s, ensure_ascii=False)


def load(bench, name):
    path = os.path.join(bench, name)
    if not os.path.exists(path):
        raise Skip(f"{os.path.relpath(path)} is missing")
    with open(path) as f:
        return json.load(f)


def need(res, name, *keys):
    missing = [k for k in keys if k not in res]
    if missing:
        raise Skip(f"{name} has no {', '.join(missing)}")


def machine(res):
    """Where and when: the machine of a result file and the date of its measurement."""
    m = res.get("machine", {})
    return f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {res.get('date', '?')}"


def title(what, res):
    return f"{what}\n{machine(res)}"


def block(name, rows):
    """Inline data for gnuplot: one row of numbers a line."""
    return f"${name} << EOD\n" + "\n".join(" ".join(map(str, r)) for r in rows) + "\nEOD"


def xtics(labels):
    return "set xtics (" + ", ".join(f"{q(label)} {x}" for label, x in labels) + ")"


def line_chart(head, xlabel, ylabel, ticks, series, logy=False):
    """series: (legend, [(x, y), ...], gnuplot style); ticks: [(label, x), ...]."""
    xs = [x for _, x in ticks]
    s = [f"set title {q(head)} noenhanced", f"set xlabel {q(xlabel)}",
         f"set ylabel {q(ylabel)}", xtics(ticks), f"set xrange [{min(xs) - 0.3}:{max(xs) + 0.3}]",
         "set logscale y" if logy else "set yrange [0:*]", "set grid ytics",
         "set key outside right top Left reverse width -3 noenhanced"]
    plots = []
    for i, (legend, points, style) in enumerate(series):
        s.append(block(f"s{i}", points))
        plots.append(f"$s{i} using 1:2 with {style} title {q(legend)}")
    return "\n".join(s + ["plot " + ", \\\n  ".join(plots)])


def reduce_chart(bench):
    res = load(bench, "results.json")
    need(res, "results.json", "in_memory")
    mem = res["in_memory"]
    threads = sorted(mem, key=int)
    ops = list(mem[threads[0]]["reduce_gbs"])
    series = [(f"reduce {op}", [(int(t), mem[t]["reduce_gbs"][op]) for t in threads],
               f"linespoints lc {i + 1} lw 2 pt 7") for i, op in enumerate(ops)]
    series.append(("read bandwidth probe",
                   [(int(t), mem[t]["probe_read_gbs"]) for t in threads], PROBE))
    npy = res.get("numpy_1core") or {}
    for name, op in NUMPY:
        if name in npy and op in ops:
            series.append((f"numpy {npy['version']} {name}, 1 core", [(1, npy[name])],
                           f"points lc {ops.index(op) + 1} pt 6 ps 1.5"))
    head = title(f"reduce in memory, {res['array_mib']} MiB of float64, median of {res['reps']}",
                 res)
    return line_chart(head, "threads", "throughput (GB/s of input)",
                      [(t, int(t)) for t in threads], series)


def stencil_chart(bench):
    res = load(bench, "results-stencil.json")
    need(res, "results-stencil.json", "stencil")
    st = res["stencil"]
    layouts, series = [], []
    for c, (case, runs) in enumerate(st["runs"].items()):
        lines = {}
        for key, r in runs.items():
            layout, variant = key.split(" ", 1)
            if variant.startswith("overlap="):
                continue
            if layout not in layouts:
                layouts.append(layout)
            lines.setdefault(variant, []).append((layouts.index(layout), r["mpts"]))
        for v, (variant, points) in enumerate(lines.items()):
            series.append((f"{case}: {variant}", points,
                           f"linespoints lc {v + 1} lw 2 pt {(7, 4, 9, 12)[c % 4]} dt {1 + 2 * c}"))
    series.append((f"bound: triad {st['triad_gbs']:.1f} GB/s / 24 B",
                   [(0, st["bound_mpts"]), (len(layouts) - 1, st["bound_mpts"])], PROBE))
    head = title(f"stencils through dproc, {st['iterations']} iterations, median of {res['reps']}",
                 res)
    return line_chart(head, "ranks x threads", "million points per second (Mpoints/s)",
                      [(layout, i) for i, layout in enumerate(layouts)], series)


def bars(name, head, groups, ylabel):
    """A panel of two bars (overlap on, off) per group: (tic label, on, off)."""
    return "\n".join([
        block(name, [(i, on, off) for i, (_, on, off) in enumerate(groups)]),
        f"set title {q(head)} noenhanced", f"set ylabel {q(ylabel)}",
        xtics((g[0], i) for i, g in enumerate(groups)),
        f"set xrange [-0.6:{len(groups) - 0.4}]", "set yrange [0:*]",
        f"plot ${name} using ($1 - 0.18):2:(0.34) with boxes lc 1 title 'overlap on', "
        f"${name} using ($1 + 0.18):3:(0.34) with boxes lc 2 title 'overlap off'"])


def overlap_chart(bench):
    """Streaming: total seconds; the stencil's halo exchange: Mpoints/s. A panel per file, as
    wide as its number of cases; the machine and date of each in the chart's title."""
    panels, sources = [], []
    for name in ("results-stream.json", "results-stream-1x1.json"):
        try:
            res = load(bench, name)
        except Skip:
            continue
        cases, groups = res["cases"], []
        for key, on in cases.items():
            cache, work, mode = key.split(" | ")
            off = cases.get(f"{cache} | {work} | overlap false")
            if mode == "overlap true" and off:
                groups.append((f"{cache}\n{work.split()[0]}", on["total"], off["total"]))
        if groups:
            layout = f"{res['ranks']}x{res['threads']}"
            panels.append((f"streaming {layout}, {res['gib']} GiB", groups,
                           "total time (s), lower is better"))
            sources.append(f"streaming {layout}: {machine(res)}")
    try:
        res = load(bench, "results-stencil.json")
        groups = []
        for case, runs in res.get("stencil", {}).get("runs", {}).items():
            for key, on in runs.items():
                off = runs.get(key.replace("overlap=true", "overlap=false"))
                if key.endswith("overlap=true") and off:
                    groups.append((f"{case.split()[0]}\n{key.split()[0]}", on["mpts"],
                                   off["mpts"]))
        if groups:
            panels.append(("stencil halo exchange", groups, "Mpoints/s, higher is better"))
            sources.append(f"stencil: {machine(res)}")
    except Skip:
        pass
    if not panels:
        raise Skip("no result file has cases measured with overlap on and off")
    head = "\n".join(["overlap on vs off"] + sources)
    s = [f"set multiplot title {q(head)} noenhanced", "set style fill solid 0.8",
         "set grid ytics", "set key top left", "set bmargin 3",
         "set offsets 0, 0, graph 0.2, 0"]
    total, x = sum(len(g) + 2 for _, g, _ in panels), 0.0
    height = 1 - 0.045 * (len(sources) + 1)  # room for the chart's title
    for i, (panel, groups, ylabel) in enumerate(panels):
        width = (len(groups) + 2) / total
        s += [f"set origin {x},0", f"set size {width},{height}",
              bars(f"p{i}", panel, groups, ylabel), "unset key"]
        x += width
    return "\n".join(s + ["unset multiplot"])


def kv_chart(bench):
    res = load(bench, "results-kv.json")
    need(res, "results-kv.json", "dproc_np1", "dproc_np2", "wc_plain", "probe")
    series = [("dproc wordcount, 1 thread a rank",
               [(1, res["dproc_np1"]["mb_s"]), (2, res["dproc_np2"]["mb_s"])],
               "linespoints lc 1 lw 2 pt 7"),
              ("wc_plain: plain C count, 1 thread", [(1, res["wc_plain"]["mb_s"])],
               "points lc 2 pt 5 ps 1.5")]
    if "pipeline_baseline" in res:
        series.append(("tr | sort | uniq -c pipeline", [(1, res["pipeline_baseline"]["mb_s"])],
                       "points lc 3 pt 9 ps 1.5"))
    if "read_page_cache" in res:
        series.append(("reading the file from the page cache, 1 thread",
                       [(1, res["read_page_cache"]["mb_s"])], "points lc 4 pt 13 ps 1.5"))
    series.append(("read bandwidth probe", [(int(t), p["probe_read_gbs"] * 1000)
                                            for t, p in sorted(res["probe"].items())], PROBE))
    text = res["text"]
    head = title(f"word count of a {text['bytes'] / 1e9:g} GB Zipf text "
                 f"({text['vocab']} words), median of {res['repeat']}", res)
    return line_chart(head, "MPI ranks (dproc), threads (probe)",
                      "throughput (MB/s of text, log scale)", [("1", 1), ("2", 2)], series,
                      logy=True)


CHARTS = (("bench-reduce.svg", reduce_chart), ("bench-stencil.svg", stencil_chart),
          ("bench-overlap.svg", overlap_chart), ("bench-kv.svg", kv_chart))


def draw(script, path):
    """Runs gnuplot on script, drawing to a temporary file in path's directory, renamed to path."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".svg")
    os.close(fd)
    try:
        subprocess.run(["gnuplot"], input=f"{TERMINAL}\nset output {q(tmp)}\n{script}\n"
                       "unset output\n", text=True, check=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=HERE, help="where the result files are (default: bench/)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img"),
                    help="where to write the charts (default: docs/img/)")
    a = ap.parse_args()
    try:
        subprocess.run(["gnuplot", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        ap.exit(2, "plot.py: gnuplot is missing: apt-get install gnuplot-nox\n")
    os.makedirs(a.out, exist_ok=True)
    for name, chart in CHARTS:
        try:
            script = chart(a.bench)
        except Skip as e:
            print(f"{name}: skipped, {e}")
            continue
        path = os.path.join(a.out, name)
        draw(script, path)
        print(f"written: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
