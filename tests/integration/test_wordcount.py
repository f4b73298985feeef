#!/usr/bin/python3
"""Integration test: kernel wordcount over source = text at the given rank count, against a
word counter written here from the contract (a bytes regex: a word is a maximal run of ASCII
letters, ASCII digits and bytes >= 0x80; A-Z lowercased unless lowercase = false; words shorter
than min_length bytes dropped; lines = '\\n' bytes plus one per non-empty file without a final
'\\n'; rows sorted by count descending, then key ascending by bytes).

1. Texts whose rank boundaries (the even byte split of the concatenated input at 2, 3 and 4
   ranks: N*r/p with N a multiple of 12) fall inside multi-byte UTF-8 characters of long words
   in long lines; exactly at a word's end, at a word's start, at a '\\n', between '\\r' and '\\n';
   a file junction where a word ends a file without a newline and the next file starts with a
   word. Whatever dproc's split really is, the results must be the reference.
2. Empty files, a three-byte file without a final newline (fewer bytes than ranks), a directory
   (sorted, hidden files and subdirectories skipped, empty files, invalid UTF-8, NUL bytes) and a
   glob; CRLF text; lowercase = false; min_length = 3 with top_k = 3; [run] chunk_mb = 1 over a
   5 MiB file (threads 2); [run] shuffle_mb = 1 with 400k distinct words (results.shuffle.rounds
   > 1 at np > 1); words longer than 1 MiB (one a prefix of another), also with shuffle_mb = 1.
3. Every run: the TSV output equals the reference byte for byte (header `word<TAB>count`), the
   report's results.records/total/distinct/top exactly, results.shuffle and timing.shuffle
   present (shuffle bytes 0 at one rank); format = hdf5 gives a compound dataset (key: UTF-8
   variable-length string, count: int64) with the same rows; no temporary file is left; the input
   files are byte-identical afterwards.
4. Failures: a path that matches no file (nonzero exit, the path in the message, no output); an
   existing output without overwrite; bad [wordcount] keys (exit 2, `JOB:LINE: [section] key:`)."""

import glob
import os
import re
from collections import Counter

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("wordcount", __doc__)
rng = np.random.default_rng(20250807)

# ---- the reference ---------------------------------------------------------------------------

WORD = re.compile(rb"[A-Za-z0-9\x80-\xff]+")
LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def reference(datas, lowercase=True, min_length=1):
    """(records, total, rows) of the texts datas (one bytes object per file, in input order);
    rows = [(key bytes, count)] in the output order."""
    counts = Counter()
    records = 0
    for d in datas:
        records += d.count(b"\n") + (1 if d and not d.endswith(b"\n") else 0)
        text = d.translate(LOWER) if lowercase else d  # A-Z only: word boundaries unchanged
        counts.update(w for w in WORD.findall(text) if len(w) >= min_length)
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return records, sum(counts.values()), rows


def tsv_of(rows):
    return b"word\tcount\n" + b"".join(k + b"\t" + str(c).encode() + b"\n" for k, c in rows)


def first_diff(got, want):
    gl, wl = got.split(b"\n"), want.split(b"\n")
    for i, (a, b) in enumerate(zip(gl, wl)):
        if a != b:
            return f"line {i + 1}: got {a[:160]!r}, expected {b[:160]!r}"
    return f"got {len(gl) - 1} lines, expected {len(wl) - 1}"


# ---- text generators -------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UCHARS = ["é", "É", "ß", "ü", "Ω", "ж", "€", "日", "本", "語", "한", "𝔘", "😀", "𝄞"]


def make_vocab(n):
    base = ["the", "of", "and", "Hello", "hello", "HELLO", "a", "I", "x1", "2024", "007",
            "abc123", "MiXeD", "mixed", "straße", "STRAßE", "naïve", "École", "école", "ÉCOLE",
            "日本語", "Ωmega", "𝔘nicode", "café", "CAFÉ", "über", "ß", "é", "€uro", "😀", "aé",
            "ab", "abc", "abcd", "Ab", "aB", "ABC"]
    words = list(base)
    while len(words) < n:
        k = int(rng.integers(1, 13))
        utf = rng.random() < 0.4
        chars = [UCHARS[rng.integers(len(UCHARS))] if utf and rng.random() < 0.5
                 else LETTERS[rng.integers(len(LETTERS))] for _ in range(k)]
        words.append("".join(chars))
    for _ in range(6):  # long words, a few hundred bytes
        words.append("long" + "é𝔘x" * int(rng.integers(40, 120)))
    out = list(dict.fromkeys(w.encode() for w in words))
    return out


VOCAB = make_vocab(3000)
VOCAB_P = 1.0 / np.arange(1, len(VOCAB) + 1) ** 0.9
VOCAB_P /= VOCAB_P.sum()
SEPS = [b" "] * 60 + [b", ", b", ", b". ", b". ", b"_", b"_", b"-", b"'", b"\t", b"\t", b"\x00",
                      b"!?", b" (", b") ", b"  ", b"  ", b"/", b";", b"="]


def gen_text(n, crlf=False, newline_every=300, vocab=VOCAB, probs=VOCAB_P):
    """Exactly n bytes of text (valid UTF-8 when the vocabulary is): words and separators, a
    line end every ~newline_every words, padded at the end with spaces."""
    if n <= 0:
        return b""
    m = n // 4 + 16
    while True:
        idx = rng.choice(len(vocab), size=m, p=probs)
        sidx = rng.integers(0, len(SEPS), size=m)
        nl = rng.random(m) < 1.0 / newline_every
        eol = b"\r\n" if crlf else b"\n"
        pieces = [vocab[i] + (eol if nl[j] else SEPS[sidx[j]]) for j, i in enumerate(idx)]
        lens = np.cumsum([len(p) for p in pieces])
        if lens[-1] >= n:
            break
        m *= 2
    k = int(np.searchsorted(lens, n, side="right"))  # pieces[:k] fit
    body = b"".join(pieces[:k])
    return body + b" " * (n - len(body))


def targets(n):
    """The even split points of n bytes at 2, 3 and 4 ranks (n a multiple of 12)."""
    assert n % 12 == 0
    return sorted({n * r // p for p in (2, 3, 4) for r in range(1, p)})


def with_specials(n, specials, **gen_kw):
    """n bytes of generated text with specials[i] = (bytes, offset) placed so that byte offset of
    the i-th special lands on the i-th split point."""
    out = b""
    for t, (sb, off) in zip(targets(n), specials):
        out += gen_text(t - off - len(out), **gen_kw) + sb
    out += gen_text(n - len(out), **gen_kw)
    assert len(out) == n
    return out


def mid_char(prefix, char, k, suffix):
    """A special: a word with the split point k bytes into its multi-byte character char."""
    b = (" " + prefix + char + suffix + " ").encode()
    return b, len((" " + prefix).encode()) + k


# ---- running ---------------------------------------------------------------------------------

def job_for(name, path, wc=None, out=None, run=None, fmt=None, dataset=None, report=True):
    secs = [("job", {"kernel": "wordcount"}), ("input", {"source": "text", "path": path})]
    if wc is not None:
        secs.append(("wordcount", wc))
    o = {}
    if out:
        o["path"] = out
    if fmt:
        o["format"] = fmt
    if dataset:
        o["dataset"] = dataset
    if report:
        o["report"] = f"{name}.json"
    secs.append(("output", o))
    secs.append(("run", {"threads": 1, **(run or {})}))
    text = dh.job_text(secs, comment=name)
    return h.write(f"{name}.ini", text), text


def check_hdf5(what, path, dataset, rows):
    table = dh.kv_table(h, what, path, dataset, {"key", "count"})
    if table is None:
        return
    a, keys = table
    h.check(a.dtype["count"] == np.dtype("int64"), f"{what}: count is int64", a.dtype)
    h.check(a.shape == (len(rows),), f"{what}: dataset shape ({len(rows)},)", a.shape)
    got = list(zip(keys, (int(c) for c in a["count"])))
    diff = next((f"row {i}: got {g[0][:80]!r} {g[1]}, expected {w[0][:80]!r} {w[1]}"
                 for i, (g, w) in enumerate(zip(got, rows)) if g != w),
                f"{len(got)} rows, expected {len(rows)}")
    h.check(got == rows, f"{what}: HDF5 rows equal the reference (key, count, order)", diff)


def wc_case(what, name, path, files, wc=None, run=None, fmt=None, dataset=None, np_=None,
            want_rounds=False, lowercase=True, min_length=1, top_k=10, datas=None):
    """Runs wordcount on path (whose files, in input order, are files) and checks everything
    against the reference."""
    np_ = h.np if np_ is None else np_
    base = os.path.dirname(path) if glob.has_magic(path) else path.rstrip("/")
    datas = datas if datas is not None else [open(f, "rb").read() for f in files]
    records, total, rows = reference(datas, lowercase, min_length)
    ext = "h5" if fmt == "hdf5" else "tsv"
    out = f"{name}.{ext}"
    job, _ = job_for(name, path, wc, out, run, fmt, dataset)
    if not h.run_writing(what, job, out, [h.path(base)], np=np_):
        return None
    if fmt == "hdf5":
        check_hdf5(what, h.path(out), dataset or "/wordcount", rows)
    else:
        got = open(h.path(out), "rb").read()
        want = tsv_of(rows)
        h.check(got == want, f"{what}: TSV equals the reference ({len(rows)} rows)",
                first_diff(got, want))
    rep = check_report(what, name, np_, records, total, rows, top_k)
    if want_rounds and np_ > 1 and isinstance(rep, dict):
        sh = (rep.get("results") or {}).get("shuffle") or {}
        h.check(isinstance(sh.get("rounds"), int) and sh["rounds"] > 1,
                f"{what}: results.shuffle.rounds > 1 with shuffle_mb = 1", sh)
        h.check(isinstance(sh.get("bytes"), int) and sh["bytes"] > 0,
                f"{what}: results.shuffle.bytes > 0", sh)
    return rep


def check_report(what, name, np_, records, total, rows, top_k):
    rep = dh.load_json(h.path(f"{name}.json"))
    if not h.check(isinstance(rep, dict), f"{what}: report readable", rep):
        return None
    h.check(rep.get("status") == "ok" and rep.get("kernel") == "wordcount" and
            rep.get("ranks") == np_, f"{what}: report status ok, kernel wordcount, ranks {np_}",
            {k: rep.get(k) for k in ("status", "kernel", "ranks")})
    r = rep.get("results") or {}
    h.check(r.get("records") == records, f"{what}: results.records == {records}",
            r.get("records"))
    h.check(r.get("total") == total, f"{what}: results.total == {total}", r.get("total"))
    h.check(r.get("distinct") == len(rows), f"{what}: results.distinct == {len(rows)}",
            r.get("distinct"))
    want_top = [[k.decode("utf-8", errors="replace"), c] for k, c in rows[:top_k]]
    got_top = r.get("top")
    short = lambda t: [[k[:60], c] for k, c in t] if isinstance(t, list) and all(
        isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) for x in t) else t
    h.check(got_top == want_top, f"{what}: results.top is the first {top_k} rows",
            f"got {short(got_top)}\nexpected {short(want_top)}")
    sh = r.get("shuffle")
    ok = (isinstance(sh, dict) and isinstance(sh.get("bytes"), int) and sh["bytes"] >= 0 and
          isinstance(sh.get("rounds"), int) and sh["rounds"] >= 0)
    if ok and np_ == 1:
        ok = sh["bytes"] == 0
    h.check(ok, f"{what}: results.shuffle has bytes and rounds" +
            (" (bytes 0 at one rank)" if np_ == 1 else ""), sh)
    t = (rep.get("timing") or {}).get("shuffle")
    h.check(isinstance(t, (int, float)) and t >= 0, f"{what}: timing.shuffle is a time", t)
    return rep


# ---- 1. split points inside characters, words and lines --------------------------------------

N1 = 12 * 50_000


def inside_long_line(data, ts):
    return all(data[t] & 0xC0 == 0x80 and WORD.fullmatch(data[t - 1:t + 1]) and
               b"\n" not in data[t - 200:t + 200] for t in ts)


for _ in range(50):  # until no line end happens to be near a split point
    mid = with_specials(N1, [mid_char("Ωmega", "𝔘", 1, "zeta"), mid_char("caf", "é", 1, "Bar"),
                             mid_char("price", "€", 2, "x"), mid_char("emoji", "😀", 3, "fin"),
                             mid_char("日本", "語", 1, "")], newline_every=2000)
    if inside_long_line(mid, targets(N1)):
        break
assert inside_long_line(mid, targets(N1))
h.write("mid.txt", mid)
h.note(f"mid.txt: {N1} bytes; bytes {targets(N1)} are continuation bytes of multi-byte "
       f"characters inside words, far from any line end")
wc_case("split inside UTF-8 characters (defaults, no [wordcount] section)", "mid", "mid.txt",
        [h.path("mid.txt")])
wc_case("split inside UTF-8 characters, format = hdf5", "mid_h5", "mid.txt",
        [h.path("mid.txt")], wc={"top_k": 25}, fmt="hdf5", top_k=25)
wc_case("split inside UTF-8 characters, hdf5 dataset /res/words, threads 2", "mid_h5b",
        "mid.txt", [h.path("mid.txt")], fmt="hdf5", dataset="/res/words",
        run={"threads": 2})

N2 = 12 * 20_000
edges = with_specials(N2, [(b" wordend right", 8), (b" wordstart ", 1),
                           (b" lineend\nnext ", 8), (b" lastword\nFirstword ", 10),
                           (b" crword\r\nnextline ", 8)], newline_every=150)
tg = targets(N2)
assert edges[tg[0] - 1:tg[0] + 1] == b"d " and edges[tg[1] - 1:tg[1] + 1] == b" w"
assert edges[tg[2]] == 10 and edges[tg[3] - 1:tg[3] + 1] == b"\nF"
assert edges[tg[4] - 1:tg[4] + 1] == b"\r\n"
h.write("edges.txt", edges)
h.note(f"edges.txt: split points {tg}: a word's end, a word's start, a '\\n' after a word, the "
       "byte after a '\\n', between '\\r' and '\\n'")
wc_case("split at word and line edges", "edges", "edges.txt", [h.path("edges.txt")],
        wc={"lowercase": "true", "min_length": 1, "top_k": 10})

# ---- 2. small and empty files ----------------------------------------------------------------

h.write("empty.txt", b"")
wc_case("one empty file", "empty", "empty.txt", [h.path("empty.txt")])
h.write("empties/a.txt", b"")
h.write("empties/b.txt", b"")
wc_case("a directory of empty files, format = hdf5", "empties", "empties",
        [h.path("empties/a.txt"), h.path("empties/b.txt")], fmt="hdf5")
h.write("tiny.txt", b"a B")
wc_case("three bytes without a final newline", "tiny", "tiny.txt", [h.path("tiny.txt")])
h.write("nonl.txt", b"One two\n\nthree, Four! five\nsix seven EIGHT")
wc_case("a file without a final newline", "nonl", "nonl.txt", [h.path("nonl.txt")])

# ---- directory and glob ----------------------------------------------------------------------

A = 40_000
d_one = b"x"
d_a = gen_text(A - len(b" junctionleft")) + b" junctionleft"  # no final newline
d_nl = b"\n\n\n"
d_bad = b"\xff\xfe ok \x80abc \xe2\x82 tr\xc3 caf\xc3\xa9 end\x00nul\n"
d_dat = b"datword datword\n"
# 03_b + 05_big sized so that the 2-rank split point is the end of 02_a
rest = len(d_one) + A - len(d_nl) - len(d_bad) - len(d_dat)
d_b = b"junctionright " + gen_text(8000) + b"\n"
d_big = gen_text(rest - len(d_b) - 1) + b"\n"
dir_files = [("00_empty.txt", b""), ("01_one.txt", d_one), ("02_a.txt", d_a),
             ("03_b.txt", d_b), ("04_empty.txt", b""), ("05_big.txt", d_big),
             ("06_nl.txt", d_nl), ("07_bad.txt", d_bad), ("08_other.dat", d_dat)]
for n_, d_ in dir_files:
    h.write(f"corpus/{n_}", d_)
h.write("corpus/.hidden.txt", b"hiddenword hiddenword hiddenword\n")
h.write("corpus/zz_sub/inner.txt", b"innerword innerword\n")
tot = sum(len(d_) for _, d_ in dir_files)
assert tot // 2 == len(d_one) + len(d_a) and tot % 2 == 0
h.note(f"corpus/: {tot} bytes; the 2-rank split point {tot // 2} is the junction of 02_a.txt "
       f"(ends with a word, no newline) and 03_b.txt (starts with a word) at "
       f"{len(d_one) + len(d_a)}")
wc_case("a directory (sorted, hidden file and subdirectory skipped, empty files, invalid "
        "UTF-8)", "dir", "corpus/", [h.path("corpus", n_) for n_, _ in dir_files])
globbed = sorted(glob.glob(h.path("corpus", "*.txt")))
assert len(globbed) == 8, globbed
wc_case("a glob corpus/*.txt", "glob", "corpus/*.txt", globbed)
wc_case("a glob corpus/0[2-3]_?.txt, min_length 2", "glob2", "corpus/0[2-3]_?.txt",
        [h.path("corpus/02_a.txt"), h.path("corpus/03_b.txt")], wc={"min_length": 2},
        min_length=2)

# ---- CRLF, lowercase, min_length -------------------------------------------------------------

N3 = 12 * 15_000
crlf = with_specials(N3, [(b" crword\r\nnextline ", 8), (b" a\r\n\r\nb ", 3),
                          (b" zz\r\n", 4), (b"\r\nFoo ", 1), (b" Bar\r\n", 5)],
                     crlf=True, newline_every=20)
assert b"\n" not in crlf.replace(b"\r\n", b"")
h.write("crlf.txt", crlf)
wc_case("CRLF text", "crlf", "crlf.txt", [h.path("crlf.txt")])

small = gen_text(150_000, newline_every=40)
h.write("small.txt", small)
wc_case("lowercase = false", "nolower", "small.txt", [h.path("small.txt")],
        wc={"lowercase": "false"}, lowercase=False)
wc_case("min_length = 3, top_k = 3", "min3", "small.txt", [h.path("small.txt")],
        wc={"min_length": 3, "top_k": 3}, min_length=3, top_k=3)
wc_case("lowercase = false, min_length = 4, top_k = 40", "nolower4", "small.txt",
        [h.path("small.txt")], wc={"lowercase": "false", "min_length": 4, "top_k": 40},
        lowercase=False, min_length=4, top_k=40)

# ---- pieces, shuffle rounds, huge words ------------------------------------------------------

N4 = 12 * 440_000  # about 5 MiB
big = with_specials(N4, [mid_char("Ωmega", "𝔘", 2, "zeta"), mid_char("caf", "é", 1, ""),
                         mid_char("x", "€", 1, "x"), mid_char("", "😀", 1, ""),
                         mid_char("長", "語", 2, "")], newline_every=5000)
h.write("big.txt", big)
wc_case("5 MiB in [run] chunk_mb = 1 pieces, threads 2", "chunk", "big.txt",
        [h.path("big.txt")], run={"chunk_mb": 1, "threads": 2})

NDIST = 400_000
letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
rand = letters[rng.integers(0, 26, size=(NDIST, 16))]
idx = np.arange(NDIST)
tag = np.stack([letters[(idx // 26 ** k) % 26] for k in range(4)], axis=1)
words = np.concatenate([rand, tag], axis=1).astype(np.uint8)
word_list = [bytes(r) for r in words]
reps = rng.choice([1, 2, 3, 5], size=NDIST, p=[0.8, 0.14, 0.05, 0.01])
tokens = [w for w, k in zip(word_list, reps) for _ in range(k)]
rng.shuffle(tokens)
seps = np.where(rng.random(len(tokens)) < 1 / 12, "\n", " ")
shuf = b"".join(t + s.encode() for t, s in zip(tokens, seps))
h.write("distinct.txt", shuf)
h.note(f"distinct.txt: {len(shuf)} bytes, {NDIST} distinct words of 20 bytes")
wc_case(f"{NDIST} distinct words with [run] shuffle_mb = 1", "shuffle", "distinct.txt",
        [h.path("distinct.txt")], run={"shuffle_mb": 1}, want_rounds=True)

W = ("HugeWord" + "é𝔘xyZ" * 150_000).encode()  # about 1.6 MiB
W3 = W[:1_048_580]
assert W3[-1] < 0x80 and len(W3) > 1 << 20
huge = (gen_text(30_000) + b" " + W + b" " + gen_text(20_000) + b"\n" + W + b"\n" + W + b"q " +
        gen_text(10_000) + b"\r\n" + W3 + b"\n" + gen_text(5000))
h.write("huge.txt", huge)
h.note(f"huge.txt: {len(huge)} bytes, words of {len(W)}, {len(W) + 1} and {len(W3)} bytes")
wc_case("words longer than 1 MiB, chunk_mb = 1", "huge", "huge.txt", [h.path("huge.txt")],
        run={"chunk_mb": 1})
# a word bigger than the shuffle's bound: either the right result or a clean failure
name = "huge_shuffle"
job, _ = job_for(name, "huge.txt", None, f"{name}.tsv", {"shuffle_mb": 1, "chunk_mb": 1})
res = h.dproc(job)
what = "words longer than 1 MiB with shuffle_mb = 1"
if res.rc == 0:
    h.check(open(h.path(f"{name}.tsv"), "rb").read() == tsv_of(reference([huge])[2]),
            f"{what}: ran, TSV equals the reference")
else:
    h.check(res.rc == 1 and "dproc: error:" in res.err and not os.path.exists(
        h.path(f"{name}.tsv")), f"{what}: ran, or failed cleanly (exit 1, a message, no "
        "output)", res.describe())
h.check_no_leftovers(what)

# ---- a report without an output table --------------------------------------------------------

job, _ = job_for("reponly", "nonl.txt")
res = h.dproc(job)
if h.expect_ok(res, "no [output] path, report only"):
    check_report("no [output] path, report only", "reponly", h.np,
                 *reference([open(h.path("nonl.txt"), "rb").read()]), 10)

# ---- 4. failures -----------------------------------------------------------------------------

for label, pat in [("no such file", "missing/none.txt"), ("glob matching nothing",
                                                           "corpus/*.nomatch")]:
    what = f"path matching no file ({label})"
    name = re.sub(r"\W+", "_", label)
    job, _ = job_for(name, pat, None, f"{name}.tsv")
    res = h.dproc(job)
    h.check(res.rc in (1, 2), f"{what}: exit status 1 or 2", res.describe())
    h.check(pat in res.err, f"{what}: the message names {pat}", res.err[:2000])
    h.check(not os.path.exists(h.path(f"{name}.tsv")), f"{what}: no output file")
    h.check_no_leftovers(what)
    if res.rc == 1:
        rep = dh.load_json(h.path(f"{name}.json"))
        h.check(isinstance(rep, dict) and rep.get("status") == "failed",
                f"{what}: report status failed", rep)

old = h.write("exists.tsv", b"not written by dproc\n")
job, text = job_for("exists", "tiny.txt", None, "exists.tsv")
res = h.dproc(job)
h.check(res.rc == 2, "existing output without overwrite: exit status 2", res.describe())
h.check(open(old, "rb").read() == b"not written by dproc\n",
        "existing output without overwrite: the old file is untouched")
job, text = job_for("exists2", "tiny.txt", None, "exists.tsv")
text = text.replace("[output]\n", "[output]\noverwrite = true\n")
h.write("exists2.ini", text)
res = h.dproc(job)
if h.expect_ok(res, "existing output with overwrite = true"):
    h.check(open(old, "rb").read() == tsv_of(reference([b"a B"])[2]),
            "existing output with overwrite = true: replaced by the new table")


def usage_case(what, sections, needle, section, key, what_re="", start_at=None):
    text = dh.job_text(sections)
    name = "bad_" + re.sub(r"\W+", "_", what)
    job = h.write(f"{name}.ini", text)
    res = h.dproc(job)
    h.check(res.rc == 2, f"{what}: exit status 2", res.describe())
    line = dh.line_of(text, needle, dh.line_of(text, start_at) if start_at else 1)
    pat = re.compile(rf"^{re.escape(job)}:{line}: \[{section}\] {key}: {what_re}", re.M)
    h.check(pat.search(res.err), f"{what}: message /{pat.pattern}/", res.err[:2000])
    h.check(not os.path.exists(h.path("bad.tsv")), f"{what}: no output file")
    h.check_no_leftovers(what)


def wc_job(wc, output=None):
    return [("job", {"kernel": "wordcount"}), ("input", {"source": "text", "path": "tiny.txt"}),
            ("wordcount", wc), ("output", output or {"path": "bad.tsv"}),
            ("run", {"threads": 1})]


usage_case("min_length = 0", wc_job({"min_length": 0}), "min_length = 0", "wordcount",
           "min_length")
usage_case("min_length = -2", wc_job({"min_length": -2}), "min_length = -2", "wordcount",
           "min_length")
usage_case("min_length = abc", wc_job({"min_length": "abc"}), "min_length = abc", "wordcount",
           "min_length")
usage_case("lowercase = maybe", wc_job({"lowercase": "maybe"}), "lowercase = maybe",
           "wordcount", "lowercase")
usage_case("unknown key lowercse", wc_job({"lowercse": "true"}), "lowercse", "wordcount",
           "lowercse", "unknown key")
usage_case("format = csv", wc_job({}, {"path": "bad.tsv", "format": "csv"}), "format = csv",
           "output", "format")
text = dh.job_text(wc_job({}) + [("groupby", {"key": "a"})])
job = h.write("bad_groupby_section.ini", text)
res = h.dproc(job)
h.check(res.rc == 2 and re.search(rf"^{re.escape(job)}:{dh.line_of(text, '[groupby]')}: "
                                  r"\[groupby\]", res.err, re.M),
        "[groupby] in a wordcount job: exit status 2, message at the section", res.describe())

h.check_inputs("all runs")
h.finish()
