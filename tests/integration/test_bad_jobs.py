#!/usr/bin/python3
"""Integration test: the corpus of hostile job files in tests/bad_jobs. Each file begins with one
or more lines

    ; expect: EXIT <status> <python regex>

(after an optional UTF-8 byte order mark). The file is copied into the test directory, next to the
fixtures it may name (in.h5 with the float64 4x5 dataset /d2, in.raw, link_to_in.h5 -> in.h5,
sub/ for sub/../in.h5, data.txt, and a canary file x that shell metacharacters in the corpus try
to remove), and run as `dproc FILE` under the launcher. Checks per file: the exit status; every
regex matches exactly one line of stderr (each problem reported, and once, whatever the rank
count); no other line of dproc's own on stderr (no spurious follow-on message); no dproc line
longer than 4096 characters; no new file or directory at all (no output, no report, no
.dproc-tmp file, nothing a shell would have made); the fixtures and the job file byte-identical
afterwards; the run ended within the harness time limit."""

import os
import re
import shutil

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("bad_jobs", __doc__)
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "bad_jobs")
MAX_MESSAGE = 4096
EXPECT = re.compile(r"^; expect: EXIT (\d+) (.+)$")
BOM = b"\xef\xbb\xbf"


def make_fixtures():
    """(Re)creates the inputs the corpus refers to; returns their paths (all files, for the
    checksums, and the symbolic link itself)."""
    with h5py.File(h.path("in.h5"), "w") as f:
        f["/d2"] = np.arange(20, dtype=np.float64).reshape(4, 5)
    h.write("in.raw", np.arange(10, dtype=np.int16).tobytes())
    h.write("data.txt", "key,val\nalpha,1\nbeta,2.5\nalpha,3\n")
    h.write("x", "canary: a shell command in a job file would remove this file\n")
    os.makedirs(h.path("sub"), exist_ok=True)
    link = h.path("link_to_in.h5")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink("in.h5", link)
    return [h.path(n) for n in ("in.h5", "in.raw", "data.txt", "x")]


def tree(root):
    """Every path under root (files, directories, links), relative."""
    out = set()
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(dirpath, n), root))
    return out


def expectations(data):
    """The (status, regex) pairs of the leading `; expect:` lines, or a reason (str)."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    found = []
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
        m = EXPECT.match(line)
        if not m:
            break
        try:
            found.append((int(m.group(1)), re.compile(m.group(2))))
        except re.error as e:
            return f"bad regex {m.group(2)!r}: {e}"
    if not found:
        return "no '; expect: EXIT <status> <regex>' line at the top"
    if len({s for s, _ in found}) != 1:
        return "the expect lines disagree on the exit status"
    return found


def snapshot_sums(paths):
    return {p: dh.sha256(p) for p in paths}


def inputs_intact(sums):
    bad = [p for p, s in sums.items() if not os.path.exists(p) or dh.sha256(p) != s]
    link = h.path("link_to_in.h5")
    if not (os.path.islink(link) and os.readlink(link) == "in.h5"):
        bad.append(link + " (no longer a link to in.h5)")
    if not os.path.isdir(h.path("sub")):
        bad.append(h.path("sub") + " (directory gone)")
    return bad


def own_lines(err, job):
    """The lines dproc itself printed (the launcher adds its own), warnings left out."""
    starts = (f"{job}:", f"{job} ", "--set ", "dproc:")
    return [l for l in err.splitlines()
            if l.startswith(starts) and not l.startswith("dproc: warning:")]


names = sorted(f for f in os.listdir(CORPUS) if f.endswith(".ini"))
h.check(len(names) >= 45, f"corpus has at least 45 job files ({len(names)})", CORPUS)
inputs = make_fixtures()
sums = snapshot_sums(inputs)
longest = (0.0, "")

for name in names:
    with open(os.path.join(CORPUS, name), "rb") as f:
        data = f.read()
    exp = expectations(data)
    if not h.check(not isinstance(exp, str), f"{name}: expect lines parse", exp):
        continue
    status = exp[0][0]
    job = h.write(name, data)
    job_sum = dh.sha256(job)
    before = tree(h.dir)

    res = h.run([name])
    longest = max(longest, (res.secs, name))
    h.check(not res.timed_out and res.secs < h.args.timeout,
            f"{name}: finished within {h.args.timeout:.0f} s ({res.secs:.1f} s)", res.describe())
    h.check(res.rc == status, f"{name}: exit status {status}", res.describe())
    lines = res.err.splitlines()
    for _, rx in exp:
        hits = [l for l in lines if rx.search(l)]
        h.check(len(hits) == 1, f"{name}: exactly one stderr line matches /{rx.pattern}/",
                f"{len(hits)} lines match; stderr: {res.err[:3000]!r}")
    mine = own_lines(res.err, name)
    extra = [l for l in mine if not any(rx.search(l) for _, rx in exp)]
    h.check(not extra, f"{name}: no other message of dproc on stderr",
            "\n".join(l[:500] for l in extra))
    big = max((len(l) for l in mine), default=0)
    h.check(big <= MAX_MESSAGE, f"{name}: messages at most {MAX_MESSAGE} characters",
            f"longest is {big}")

    new = sorted(tree(h.dir) - before)
    h.check(not new, f"{name}: no file created (output, report, temporary file)", new)
    left = h.temp_leftovers()
    h.check(not left, f"{name}: no .dproc-tmp file left", left)
    for p in new + [os.path.relpath(p, h.dir) for p in left]:
        p = h.path(p)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            os.unlink(p)

    bad = inputs_intact(sums)
    if not os.path.exists(job) or dh.sha256(job) != job_sum:
        bad.append(job)
    h.check(not bad, f"{name}: inputs and the job file byte-identical after the run", bad)
    if bad:  # so that the next files are not blamed for this one
        sums = snapshot_sums(make_fixtures())
    os.unlink(job)

h.note(f"{len(names)} job files; slowest run {longest[1]} ({longest[0]:.1f} s)")
h.finish()
