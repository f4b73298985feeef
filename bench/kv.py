#!/usr/bin/python3
"""dproc's word-count benchmark: the wordcount kernel over a Zipf text, beside the classic shell
pipeline, a plain single-threaded C word count and the machine's bandwidth probe.

    /usr/bin/python3 bench/kv.py [--dproc build/dproc] [--mb 1000] [--repeat 3]
                                 [--pipeline-repeat N] [--workdir /tmp/dproc-bench-kv] [--save]

Makes once, and keeps in --workdir, a Zipf text of --mb MB (10^6 bytes) over a 50,000-word
vocabulary (build/bench/zipf_text, from data/zipf_text.c), reads it into the page cache, then
measures in the same run, each a median of --repeat runs (dproc and wc_plain after a warm-up):
  * dproc wordcount (source = text, [run] threads = 1) at mpirun -np 1 (--bind-to none) and
    -np 2 (--bind-to core): dproc's own time (the report's timing.total) and the wall time of
    the whole mpirun command, in MB/s = file bytes / median seconds;
  * the baseline `LC_ALL=C tr -cs 'A-Za-z0-9' '\\n' < file | sort | uniq -c > out` (wall time;
    --pipeline-repeat runs, default --repeat; the whole pipeline runs with LC_ALL=C);
  * bench/wc_plain: one thread, one hash table, read(2) (its own time and the wall time);
  * reading the file from the page cache (Python readinto, 16 MiB blocks), and the STREAM-style
    read probe of bench/dp_bench at 1 and 2 threads (through bench/run.py's run_in_memory).
It checks in passing that dproc counts what the spec says: the baseline splits words at bytes
>= 0x80 and keeps case, so a spec-equivalent pipeline (tr 'A-Z' 'a-z' | tr -cs
'a-z0-9\\200-\\377' '\\n' | sort | uniq -c, run once) gives the reference: dproc's results.top
must equal its top 10, results.total and results.distinct its sums, and dproc's TSV at both rank
counts must equal wc_plain's byte for byte. Prints a table; --save writes bench/results-kv.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from run import machine, run_in_memory  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
CENV = dict(os.environ, LC_ALL="C")

BASELINE = "tr -cs 'A-Za-z0-9' '\\n' < {inp} | sort | uniq -c > {out}"
SPEC_PIPELINE = ("tr 'A-Z' 'a-z' < {inp} | tr -cs 'a-z0-9\\200-\\377' '\\n' | sort | uniq -c "
                 "> {out}")


def make_text(a, zipf_text):
    """The cached Zipf text: made once per (size, vocabulary, s, seed)."""
    nbytes = a.mb * 10**6
    path = os.path.join(a.workdir, f"zipf-{a.mb}mb-v{a.vocab}-s{a.s:g}-seed{a.seed}.txt")
    info = {"path": path, "bytes": nbytes, "vocab": a.vocab, "s": a.s, "seed": a.seed}
    if os.path.exists(path) and os.path.getsize(path) == nbytes:
        info["generated"] = False
        return info
    if not os.access(zipf_text, os.X_OK):
        sys.exit(f"kv.py: {zipf_text} is missing: build it (cmake --build BUILD --target "
                 f"zipf_text)")
    tmp = path + ".part"
    t0 = time.perf_counter()
    subprocess.run([zipf_text, "--bytes", str(nbytes), "--vocab", str(a.vocab), "--seed",
                    str(a.seed), "--s", repr(a.s), tmp], check=True)
    os.replace(tmp, path)
    info["generated"] = True
    info["generate_s"] = time.perf_counter() - t0
    return info


def read_file(path):
    """Seconds to read the file through the page cache into one reused buffer."""
    buf = bytearray(1 << 24)
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
    return time.perf_counter() - t0


def timed(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t0, p


def summarize(runs, nbytes, own_key="own_s"):
    own = statistics.median(r[own_key] for r in runs)
    wall = statistics.median(r["wall_s"] for r in runs)
    return {"runs": runs, "median_s": own, "median_wall_s": wall,
            "mb_s": nbytes / 1e6 / own, "mb_s_wall": nbytes / 1e6 / wall}


def run_dproc(a, text, np_):
    out = os.path.join(a.workdir, f"dproc-np{np_}.tsv")
    report = os.path.join(a.workdir, f"dproc-np{np_}.json")
    job = os.path.join(a.workdir, f"wordcount-np{np_}.ini")
    with open(job, "w") as f:
        f.write(f"[job]\nkernel = wordcount\n[input]\nsource = text\npath = {text['path']}\n"
                f"[wordcount]\ntop_k = 10\n[run]\nthreads = 1\n[output]\npath = {out}\n"
                f"format = tsv\noverwrite = true\nreport = {report}\n")
    cmd = ["mpirun", "-np", str(np_), "--bind-to", "none" if np_ == 1 else "core", a.dproc,
           "-q", job]
    runs = []
    for i in range(a.repeat + 1):
        for p in (out, report):
            if os.path.exists(p):
                os.unlink(p)
        wall, _ = timed(cmd, env=ENV)
        rep = json.load(open(report))
        if i == 0:
            continue  # warm-up
        runs.append({"own_s": rep["timing"]["total"], "wall_s": wall, "timing": rep["timing"],
                     "results": {k: v for k, v in rep["results"].items() if k != "top"}})
    res = summarize(runs, text["bytes"])
    res["command"] = " ".join(cmd)
    res["report"] = rep  # the last run's, whole
    res["tsv"] = out
    res["timing_median"] = {k: statistics.median(r["timing"][k] for r in runs)
                            for k in runs[0]["timing"]
                            if isinstance(runs[0]["timing"][k], (int, float))}
    return res


def run_plain(a, text):
    out = os.path.join(a.workdir, "wc_plain.tsv")
    runs = []
    for i in range(a.repeat + 1):
        wall, p = timed([a.wc_plain, text["path"], out], capture_output=True, text=True)
        r = json.loads(p.stdout)
        if i:
            runs.append({"own_s": r["seconds"], "wall_s": wall, **r})
    res = summarize(runs, text["bytes"])
    res["tsv"] = out
    return res


def run_pipeline(a, text, template, reps, name):
    out = os.path.join(a.workdir, f"{name}.out")
    cmd = template.format(inp=text["path"], out=out)
    runs = []
    for _ in range(reps):
        wall, _ = timed(["bash", "-o", "pipefail", "-c", cmd], env=CENV)
        runs.append({"own_s": wall, "wall_s": wall})
    res = summarize(runs, text["bytes"])
    res["command"] = "LC_ALL=C bash -o pipefail -c " + repr(cmd)
    res["out"] = out
    return res


def uniq_counts(path):
    """{word bytes: count} from `uniq -c` output (the empty word of a leading separator dropped)."""
    counts = {}
    with open(path, "rb") as f:
        for line in f:
            n, _, w = line.lstrip(b" ").rstrip(b"\n").partition(b" ")
            if w:
                counts[w] = counts.get(w, 0) + int(n)
    return counts


def top(counts, k):
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def checks(a, text, res):
    """dproc against the spec-equivalent pipeline and wc_plain; a list of (what, ok, detail)."""
    out = []
    spec = res.get("pipeline_spec")
    ref = uniq_counts(spec["out"]) if spec else None
    if ref is not None:
        base = res.get("pipeline_baseline")
        if base:
            b = uniq_counts(base["out"])
            out.append(("baseline vs spec words (informational)", True,
                        f"baseline {sum(b.values())} words / {len(b)} distinct, spec "
                        f"{sum(ref.values())} / {len(ref)}"))
    plain = res.get("wc_plain")
    if plain and ref is not None:
        p = plain["runs"][-1]
        ok = p["words"] == sum(ref.values()) and p["distinct"] == len(ref)
        with open(plain["tsv"], "rb") as f:
            f.readline()
            rows = [line.rstrip(b"\n").rsplit(b"\t", 1) for line in f]
        ok = ok and rows == [[w, str(c).encode()] for w, c in top(ref, len(ref))]
        out.append(("wc_plain table == spec pipeline", ok,
                    f"{p['words']} words, {p['distinct']} distinct, {p['lines']} lines"))
    for np_ in (1, 2):
        d = res.get(f"dproc_np{np_}")
        if not d:
            continue
        r = d["report"]["results"]
        if ref is not None:
            want = [[w.decode("utf-8", "surrogateescape"), c] for w, c in top(ref, 10)]
            got = [[w, c] for w, c in r.get("top", [])]
            out.append((f"dproc np {np_} top 10 == spec pipeline top 10", got == want,
                        "" if got == want else f"dproc {got} vs pipeline {want}"))
            ok = r.get("total") == sum(ref.values()) and r.get("distinct") == len(ref)
            out.append((f"dproc np {np_} total, distinct == spec pipeline", ok,
                        f"dproc {r.get('total')} / {r.get('distinct')}, pipeline "
                        f"{sum(ref.values())} / {len(ref)}"))
        if plain:
            lines = plain["runs"][-1]["lines"]
            out.append((f"dproc np {np_} records == lines", r.get("records") == lines,
                        f"dproc {r.get('records')}, wc_plain {lines}"))
            same = open(d["tsv"], "rb").read() == open(plain["tsv"], "rb").read()
            out.append((f"dproc np {np_} TSV == wc_plain TSV (bytes)", same, d["tsv"]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dproc", default=os.path.join(ROOT, "build", "dproc"))
    ap.add_argument("--build", help="build directory (default: the one --dproc is in)")
    ap.add_argument("--workdir", default="/tmp/dproc-bench-kv")
    ap.add_argument("--mb", type=int, default=1000, help="text size in MB (10^6 bytes)")
    ap.add_argument("--vocab", type=int, default=50000)
    ap.add_argument("--s", type=float, default=1.0, help="Zipf exponent")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pipeline-repeat", type=int, help="baseline pipeline runs (default --repeat)")
    ap.add_argument("--probe-mib", type=int, default=1024)
    ap.add_argument("--no-dproc", action="store_true")
    ap.add_argument("--no-pipeline", action="store_true")
    ap.add_argument("--no-plain", action="store_true")
    ap.add_argument("--no-probe", action="store_true")
    ap.add_argument("--save", action="store_true", help="write the results as JSON")
    ap.add_argument("--out", default=os.path.join(HERE, "results-kv.json"))
    a = ap.parse_args()
    if not a.no_probe and not 1 <= a.repeat <= 63:
        ap.error("--repeat takes an integer in [1, 63] with the probe (dp_bench keeps at most 63 "
                 "timings), or --no-probe")
    a.dproc = os.path.abspath(a.dproc)
    build = os.path.abspath(a.build or os.path.dirname(a.dproc))
    a.wc_plain = os.path.join(build, "bench", "wc_plain")
    if a.pipeline_repeat is None:
        a.pipeline_repeat = a.repeat
    if not a.no_dproc and not os.access(a.dproc, os.X_OK):
        sys.exit(f"kv.py: no dproc binary at {a.dproc} (--dproc, or --no-dproc)")
    if not a.no_plain and not os.access(a.wc_plain, os.X_OK):
        sys.exit(f"kv.py: no {a.wc_plain}: build it (cmake --build BUILD --target wc_plain), "
                 f"or --no-plain")
    os.makedirs(a.workdir, exist_ok=True)

    text = make_text(a, os.path.join(build, "bench", "zipf_text"))
    read_file(text["path"])  # into the page cache
    res = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "text": text, "repeat": a.repeat, "pipeline_repeat": a.pipeline_repeat}
    if not a.no_probe:
        res["probe"] = {str(t): run_in_memory(build, a.probe_mib, a.repeat, t) for t in (1, 2)}
    reads = [read_file(text["path"]) for _ in range(a.repeat)]
    res["read_page_cache"] = summarize([{"own_s": t, "wall_s": t} for t in reads], text["bytes"])
    if not a.no_dproc:
        for np_ in (1, 2):
            res[f"dproc_np{np_}"] = run_dproc(a, text, np_)
            print(f"dproc np {np_}: {res[f'dproc_np{np_}']['mb_s']:.1f} MB/s", flush=True)
    if not a.no_plain:
        res["wc_plain"] = run_plain(a, text)
        print(f"wc_plain: {res['wc_plain']['mb_s']:.1f} MB/s", flush=True)
    if not a.no_pipeline:
        res["pipeline_baseline"] = run_pipeline(a, text, BASELINE, a.pipeline_repeat, "baseline")
        print(f"baseline pipeline: {res['pipeline_baseline']['mb_s']:.1f} MB/s", flush=True)
        res["pipeline_spec"] = run_pipeline(a, text, SPEC_PIPELINE, 1, "spec")
    if "wc_plain" in res:
        p = res["wc_plain"]["runs"][-1]
        text.update(words=p["words"], lines=p["lines"], distinct=p["distinct"])
    res["checks"] = [{"check": c, "ok": ok, "detail": d} for c, ok, d in checks(a, text, res)]

    m = res["machine"]
    print(f"\ndproc wordcount on {m.get('cpu', '?')}, {m['cores']} cores, "
          f"{m.get('memory_gib', '?')} GiB; {a.mb} MB Zipf text ({a.vocab} words, s = {a.s:g}, "
          f"seed {a.seed}" + (f", {text['words']} words, {text['lines']} lines" if "words" in text
                              else "") + f"), in the page cache; median of {a.repeat}")
    if "probe" in res:
        print(f"bandwidth probe (bench/dp_bench, {a.probe_mib} MiB): read "
              f"{res['probe']['1']['probe_read_gbs']:.2f} GB/s at 1 thread, "
              f"{res['probe']['2']['probe_read_gbs']:.2f} GB/s at 2 threads")
    plain_mb = res["wc_plain"]["mb_s"] if "wc_plain" in res else None
    print(f"{'':40} {'runs':>4} {'time s':>8} {'wall s':>8} {'MB/s':>8} {'MB/s wall':>10} "
          f"{'x plain':>8}")
    rows = [("read file (page cache, Python)", "read_page_cache"),
            ("dproc wordcount, np 1 x 1 thread", "dproc_np1"),
            ("dproc wordcount, np 2 x 1 thread", "dproc_np2"),
            ("wc_plain (C, 1 thread)", "wc_plain"),
            ("tr -cs | sort | uniq -c (baseline)", "pipeline_baseline"),
            ("lowercasing spec pipeline (check)", "pipeline_spec")]
    for label, key in rows:
        if key not in res:
            continue
        r = res[key]
        ratio = f"{r['mb_s'] / plain_mb:8.2f}" if plain_mb and key != "read_page_cache" else ""
        print(f"{label:40} {len(r['runs']):4} {r['median_s']:8.3f} {r['median_wall_s']:8.3f} "
              f"{r['mb_s']:8.1f} {r['mb_s_wall']:10.1f} {ratio:>8}")
    for np_ in (1, 2):
        d = res.get(f"dproc_np{np_}")
        if d:
            t = ", ".join(f"{k} {v:.3f}" for k, v in d["timing_median"].items() if v)
            sh = d["report"]["results"].get("shuffle", {})
            print(f"  dproc np {np_} timing (median s): {t}; shuffle {sh.get('bytes', '?')} B "
                  f"in {sh.get('rounds', '?')} rounds")
    print("time = dproc's timing.total, wc_plain's own clock, the pipeline's wall time; "
          "MB/s = 10^6 bytes of text per second")
    for c in res["checks"]:
        print(f"  [{'ok' if c['ok'] else 'FAIL'}] {c['check']}"
              + (f": {c['detail']}" if c["detail"] else ""))
    if a.save:
        for k in ("dproc_np1", "dproc_np2"):
            if k in res:
                res[k]["report"].pop("job", None)
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)
        print(f"written: {a.out}")
    return 0 if all(c["ok"] for c in res["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
