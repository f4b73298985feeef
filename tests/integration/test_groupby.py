#!/usr/bin/python3
"""Integration test: kernel groupby over CSV (source = text) at the given rank count, against a
reference computed here: an RFC 4180 record parser written from the contract (cross-checked
with Python's csv module on the files without bad rows), values parsed as strtod would (a
decimal/hex/inf/nan regex, then float / float.fromhex), sums with math.fsum (exact rational
arithmetic when fsum overflows in between), keys sorted by bytes.

1. A 1.2 MB CSV whose rank boundaries (the even byte split at 2, 3 and 4 ranks, N*r/p with N a
   multiple of 12) fall inside quoted fields: right after a newline inside quotes followed by
   text that looks like a row, between the two quotes of a doubled quote, right after an
   opening quote, on a closing quote, between '\\r' and '\\n' inside quotes; quoted keys with
   delimiters, doubled quotes, newlines, tabs, CR and backslashes (escaped as \\t \\n \\r \\\\ in
   the TSV), an empty key, keys differing only by spaces; values in many spellings (" 2.5 ",
   "+3", ".5", "5.", "1E3", hex, quoted); groups with cancellation (1e16, 1, -1e16 far apart in
   the file: sum exactly math.fsum) and intermediate overflow (1e308, 1e308, -1e308); rows with
   extra fields and rows with just enough fields; empty lines ("" and "\\r"); 13 bad rows
   (missing field, "", "abc", "1.5x", "1_000", "0x", "--1", "1.2.3", text after a closing
   quote, a bad record spanning lines), of which results.bad_lines lists the first 10 as
   FILE:LINE. Checked: the TSV (header `city<TAB>count<TAB>sum<TAB>mean<TAB>min<TAB>max`, keys
   ascending by bytes, count/sum/min/max exact as %.17g, mean within 1 ulp of
   math.fsum(values)/count), the report (records, total, distinct, top, bad_rows, bad_lines,
   shuffle), format = hdf5 (compound key/count/sum/mean/min/max, same rows); the TSV
   byte-identical at threads 2, with [run] chunk_mb = 1 and at one rank; aggs = count without a
   value; another key column (aggs = mean,sum). A quoted key of 1.4 MiB (twice) read in 1 MiB
   pieces; 120k keys with [run] shuffle_mb = 1 (results.shuffle.rounds > 1 at np > 1).
2. header = false with key/value by index and delimiter = tab (also the "\\t" spelling);
   delimiter ';' with CRLF records and aggs = max,min,count (columns in the order count, min,
   max); a directory and globs of files with the same header (hidden file with another header
   skipped, a header-only file, a file without a final newline, bad rows reported per file); a
   quoted header; NaN and infinities (sum NaN with NaN or inf + -inf; min/max with NaN accepted
   as NaN or the non-NaN extreme); a value column that no row has (every row bad); quotes inside
   unquoted fields (each such row bad, and only that row); bad records straddling the split
   points.
3. Failures: bad_rows = error (exit 1, the first bad row's FILE:LINE in the message and no later
   one, also when it lies far into the file or across a split point; no output); files whose
   headers differ; a key or value column not in the header (exit 1 or 2, the column named); a
   path matching no file; bad [groupby] keys (exit 2, `JOB:LINE: [groupby] key:`). After every
   run: no temporary file, inputs byte-identical."""

import csv
import io
import math
import os
import re
from fractions import Fraction

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("groupby", __doc__)
rng = np.random.default_rng(4242)
AGG_ORDER = ["count", "sum", "mean", "min", "max"]

# ---- the reference: records, values, groups --------------------------------------------------

QUOTED = re.compile(rb'"((?:[^"]|"")*)"', re.S)
NUMBER = re.compile(rb" *[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|"
                    rb"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?|"
                    rb"(?i:inf|infinity|nan)) *")


def records_of(data, delim):
    """[(line, fields or None when bad)] of one file's bytes, empty lines skipped."""
    out = []
    unquoted = re.compile(b"[^" + re.escape(delim) + b"\n]*")
    i, n, line = 0, len(data), 1
    while i < n:
        if data.startswith(b"\n", i) or data.startswith(b"\r\n", i):
            end = i + (1 if data[i] == 10 else 2)
            line += 1
            i = end
            continue
        start, fields, bad = i, [], False
        while True:
            if data.startswith(b'"', i):
                m = QUOTED.match(data, i)
                if not m:  # unterminated: the rest of the file (not used by the tests)
                    bad, end = True, n
                    break
                fields.append(m.group(1).replace(b'""', b'"'))
                j = m.end()
                if j == n:
                    end = n
                    break
                if data.startswith(delim, j):
                    i = j + 1
                    continue
                if data.startswith(b"\n", j) or data.startswith(b"\r\n", j):
                    end = j + (1 if data[j] == 10 else 2)
                    break
                bad = True  # text after the closing quote: the row ends at its line end
                k = data.find(b"\n", j)
                end = n if k < 0 else k + 1
                break
            m = unquoted.match(data, i)
            f, j = m.group(), m.end()
            bad = bad or b'"' in f
            if j < n and data.startswith(delim, j):
                fields.append(f)
                i = j + 1
                continue
            if j < n and f.endswith(b"\r"):
                f = f[:-1]
            fields.append(f)
            end = j + 1 if j < n else n
            break
        out.append((line, None if bad else fields))
        line += data.count(b"\n", start, end)
        i = end
    return out


def number(field):
    """The value strtod reads from the whole field, or None."""
    if not NUMBER.fullmatch(field):
        return None
    s = field.strip(b" ").decode()
    return float.fromhex(s) if re.match(r"[+-]?0[xX]", s) else float(s)


class Stats:
    def __init__(self, vals):
        self.vals = vals
        self.count = len(vals)
        if None in vals:  # aggs = count without a value column
            return
        finite = [v for v in vals if not math.isnan(v)]
        self.has_nan = len(finite) < len(vals)
        pinf, ninf = math.inf in vals, -math.inf in vals
        # documented: a NaN in a group makes its min and max NaN too (as numpy)
        self.min = min(finite) if finite and not self.has_nan else math.nan
        self.max = max(finite) if finite and not self.has_nan else math.nan
        if self.has_nan or (pinf and ninf):
            self.sum = self.mean = self.exact_mean = math.nan
        elif pinf or ninf:
            self.sum = self.mean = self.exact_mean = math.inf if pinf else -math.inf
        else:
            exact = sum((Fraction(v) for v in vals), Fraction(0))
            try:
                self.sum = math.fsum(vals)
            except OverflowError:  # an intermediate overflow; the exact sum rounded once
                self.sum = float(exact)
            self.mean = self.sum / self.count
            self.exact_mean = float(exact / self.count)


class Ref:
    """The expected groupby result of files [(FILE as dproc names it, bytes)]."""

    def __init__(self, files, delim=b",", header=True, key="city", value="temp"):
        self.records = self.total = 0
        self.bad = []
        groups = {}
        hdr = None
        ki = vi = None
        for name, data in files:
            recs = records_of(data, delim)
            if header:
                if not recs:
                    continue
                (_, fields), recs = recs[0], recs[1:]
                assert fields is not None and (hdr is None or fields == hdr), name
                hdr = fields
                ki = hdr.index(key.encode())
                vi = None if value is None else hdr.index(value.encode())
            else:
                ki, vi = int(key), None if value is None else int(value)
            need = ki if vi is None else max(ki, vi)
            for line, fields in recs:
                self.records += 1
                v = None
                if fields is not None and len(fields) > need and vi is not None:
                    v = number(fields[vi])
                if fields is None or len(fields) <= need or (vi is not None and v is None):
                    self.bad.append(f"{name}:{line}")
                    continue
                self.total += 1
                groups.setdefault(fields[ki], []).append(v)
        self.rows = [(k, Stats(groups[k])) for k in sorted(groups)]
        self.key_name = key.encode() if header else b"key"


def esc(key):
    return (key.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r"))


def fmt(x):
    return ("%.17g" % x).encode()


def csv_module_records(data, delim):
    """The records by Python's csv module (strict), empty lines dropped."""
    rd = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delim.decode(),
                    strict=True)
    return [[f.encode() for f in r] for r in rd if r]


# ---- CSV generators --------------------------------------------------------------------------

BASE_KEYS = ["Oslo", "Bergen", "Berg", "Zürich", "São Paulo", "Москва", "東京", "a", "A",
             "Oslo ", " Oslo", "Washington, D.C.", 'The "Big" Apple', "Line\nBreak",
             "CR\r\nLF", "Tab\tCity", "Back\\slash", "", "semi;colon", "\\n literal"]
KEYS = [k.encode() for k in BASE_KEYS] + [f"K{i:04d}".encode() for i in range(200)]
KEY_P = np.array([8.0] * len(BASE_KEYS) + [1.0] * 200)
KEY_P /= KEY_P.sum()


def quote(b):
    return b'"' + b.replace(b'"', b'""') + b'"'


class Gen:
    """Rows of a CSV: ncols columns, key in column ki, value in column vi."""

    def __init__(self, delim=b",", eol=b"\n", ncols=4, ki=0, vi=2):
        self.d, self.eol, self.ncols, self.ki, self.vi = delim, eol, ncols, ki, vi

    def field(self, b, p_quote=0.1):
        needs = any(c in b for c in (self.d, b'"', b"\n", b"\r"))
        return quote(b) if needs or rng.random() < p_quote else b

    def value_text(self, x=None):
        while x is None or x == 0:
            x = float(rng.standard_normal() * 10.0 ** int(rng.integers(-3, 7)))
        r = rng.random()
        if r < 0.6:
            return repr(x).encode()
        if r < 0.68:
            return b"%.6g" % x
        if r < 0.74 and abs(x) >= 1:
            return b"%.3f" % x
        if r < 0.80:
            return b" " + repr(x).encode() + b" "
        if r < 0.86:
            return quote(repr(x).encode())
        if r < 0.90:
            return (b"%.10E" % x)
        if r < 0.94:
            return x.hex().encode()
        return (b"+" if x > 0 else b"") + repr(x).encode()

    def filler(self, col):
        r = rng.random()
        if r < 0.7:
            return b"S%d" % int(rng.integers(0, 1000))
        if r < 0.8:
            return b""
        if r < 0.9:
            return quote(b"note" + self.d + b' with "quotes"')
        return quote(b"multi\nline" + self.d + b"note")

    def raw_row(self, key_raw, value_raw, ncols=None):
        ncols = self.ncols if ncols is None else ncols
        f = [self.filler(c) for c in range(ncols)]
        if self.ki < ncols:
            f[self.ki] = key_raw
        if self.vi < ncols:
            f[self.vi] = value_raw
        return f

    def join(self, fields):
        return self.d.join(fields) + self.eol

    def row(self, key=None, value=None):
        key = KEYS[rng.choice(len(KEYS), p=KEY_P)] if key is None else key
        value = self.value_text() if value is None else value
        r = rng.random()
        ncols = self.ncols + 1 if r < 0.02 else (max(self.ki, self.vi) + 1 if r < 0.04 else None)
        return self.join(self.raw_row(self.field(key), value, ncols))

    def special(self, text, off, value=None):
        """A row whose raw key field is text (D = the delimiter) with byte off of the key field
        at the split point: (row bytes, offset in the row)."""
        key_raw = text.replace(b"{D}", self.d)
        f = self.raw_row(b"", value or self.value_text(), self.ncols)
        f = [b"S" if i != self.vi else x for i, x in enumerate(f)]
        prefix = self.d.join(f[:self.ki]) + (self.d if self.ki else b"")
        f[self.ki] = key_raw
        return self.join(f), len(prefix) + off

    def bad_rows(self):
        """Bad rows of every kind (simple fillers, so that each ends at its line end)."""
        need = max(self.ki, self.vi)

        def mk(key, value):
            f = [b"S"] * self.ncols
            f[self.ki], f[self.vi] = key, value
            return self.join(f)
        out = [self.join([b"Oslo" if i == self.ki else b"S" for i in range(need)])]
        out += [mk(b"Oslo", v) for v in (b"abc", b"", b"1.5x", b"1_000", b"0x", b"--1",
                                         b"1.2.3", b'"1"2')]
        out += [mk(b'"Oslo"x', b"1"), mk(b'"Multi\nLine"', b"notnum"),
                mk(b'"Multi\nline"bad', b"1"), mk(b'"ok"' + b" ", b"2")]
        return out

    def stray_rows(self):
        """Bad rows with a quote inside an unquoted field (the key, the value)."""
        def mk(key, value):
            f = [b"S"] * self.ncols
            f[self.ki], f[self.vi] = key, value
            return self.join(f)
        return [mk(b'Os"lo', b"1"), mk(b"Oslo", b'1"2'), mk(b'Oslo"', b"3")]


SPECIALS = [(b'"Fake\nOslo{D}st{D}99{D}n\nrow"', 6), (b'"He said ""hi{D}\n there"""', 10),
            (b'"\nOslo{D}st{D}7{D}n\n"', 1), (b'"x{D}y\n"', 5), (b'"a\r\nb{D}c"', 3)]
# the same, but bad rows (text after the closing quote, a value that is not a number)
BAD_SPECIALS = [(b'"Fake\nOslo{D}st{D}99{D}n\nrow"x', 6),
                (b'"He said ""hi{D}\n there"""', 10, b"bad"),
                (b'"\nOslo{D}st{D}7{D}n\n"', 1, b'"1"2'), (b'"x{D}y\n" ', 5),
                (b'"a\r\nb{D}c"junk', 3)]


def targets(n):
    assert n % 12 == 0
    return sorted({n * r // p for p in (2, 3, 4) for r in range(1, p)})


def layout(gen, n, header, scheduled=(), specials=SPECIALS, pad_eol=b"\n"):
    """n bytes: the header, generated rows, scheduled (fraction, row) rows once the text is that
    far, and a special row at each split point; empty lines fill the gaps."""
    out = bytearray(header)
    sched = sorted(scheduled, key=lambda s: s[0])
    todo = [(t,) + gen.special(*s) for t, s in zip(targets(n), specials)]
    pending = None

    def pad(k):
        return pad_eol * (k // len(pad_eol)) + b"\n" * (k % len(pad_eol))
    while True:
        if pending is None:
            if sched and len(out) >= sched[0][0] * n:
                pending = sched.pop(0)[1]
            else:
                pending = gen.row()
        if todo and len(out) + len(pending) > todo[0][0] - todo[0][2]:
            t, sb, off = todo.pop(0)
            out += pad(t - off - len(out)) + sb
            assert len(out) - len(sb) + off == t
            continue
        if len(out) + len(pending) > n:
            break
        out += pending
        pending = None
    out += pad(n - len(out))
    assert len(out) == n
    return bytes(out)


def in_quotes_at(data, delim, t):
    """Whether byte t of data lies inside a quoted field, after its opening quote (a field
    scan of well-formed CSV)."""
    i = 0
    unquoted = re.compile(b"[^" + re.escape(delim) + b"\n]*")
    while i < len(data):
        if data.startswith(b'"', i):
            m = QUOTED.match(data, i)
            if m.start() < t < m.end():
                return True
            i = m.end()
        else:
            i = unquoted.match(data, i).end()
        if i > t:
            return False
        i += 1  # the delimiter or the line end
    return False


# ---- running and checking --------------------------------------------------------------------

def job_for(name, path, gb, out=None, fmt=None, dataset=None, run=None):
    o = {"path": out} if out else {}
    if fmt:
        o["format"] = fmt
    if dataset:
        o["dataset"] = dataset
    o["report"] = f"{name}.json"
    secs = [("job", {"kernel": "groupby"}), ("input", {"source": "text", "path": path}),
            ("groupby", gb), ("output", o), ("run", {"threads": 1, **(run or {})})]
    text = dh.job_text(secs, comment=name)
    return h.write(f"{name}.ini", text), text


def cmp_real(text, want):
    """Whether the TSV text of a sum/min/max is want printed with %.17g (NaN as nan or -nan)."""
    if isinstance(want, float) and math.isnan(want):
        return text in (b"nan", b"-nan")
    return text == fmt(want)


def mean_ok(got, want):
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return abs(got - want) <= math.ulp(want)


def check_tsv(what, data, ref, aggs):
    """Compares a groupby TSV with the reference, column by column."""
    aggs = [a for a in AGG_ORDER if a in aggs]
    header = b"\t".join([ref.key_name] + [a.encode() for a in aggs])
    h.check(data.endswith(b"\n"), f"{what}: the TSV ends with a line end", data[-80:])
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    h.check(lines[:1] == [header], f"{what}: TSV header {header!r}", lines[:1])
    body = lines[1:]
    h.check(len(body) == len(ref.rows), f"{what}: {len(ref.rows)} TSV rows", len(body))
    rows = [l.split(b"\t") for l in body]
    bad_shape = [r for r in rows if len(r) != 1 + len(aggs)]
    if not h.check(not bad_shape, f"{what}: every TSV row has {1 + len(aggs)} fields",
                   bad_shape[:3]):
        return
    first = {}

    def note_bad(col, i, got, want):
        first.setdefault(col, f"row {i + 1}: got {got!r}, expected {want!r}")
    mean_note = 0
    for i, (r, (key, st)) in enumerate(zip(rows, ref.rows)):
        if r[0] != esc(key):
            note_bad("key", i, r[0], esc(key))
        for a, text in zip(aggs, r[1:]):
            if a == "count" and text != str(st.count).encode():
                note_bad(a, i, text, st.count)
            elif a == "sum" and not cmp_real(text, st.sum):
                note_bad(a, i, text, fmt(st.sum))
            elif a in ("min", "max"):
                want = getattr(st, a)
                if not cmp_real(text, want):
                    note_bad(a, i, text, fmt(want))
            elif a == "mean":
                try:
                    got = float(text)
                except ValueError:
                    got = None
                if got is None or not mean_ok(got, st.mean) or (
                        math.isfinite(got) and fmt(got) != text):
                    note_bad(a, i, text, f"{st.mean!r} within 1 ulp, printed with %.17g")
                elif math.isfinite(got) and got != st.exact_mean:
                    mean_note += 1
    n = min(len(rows), len(ref.rows))
    h.check("key" not in first, f"{what}: TSV keys (escaped) in byte order, all {n} rows",
            first.get("key"))
    for a in aggs:
        rule = {"count": "exactly", "sum": "== math.fsum exactly", "mean": "within 1 ulp",
                "min": "exactly", "max": "exactly"}[a]
        h.check(a not in first, f"{what}: TSV column {a} {rule}", first.get(a))
    if mean_note:
        h.note(f"{what}: {mean_note} means are within 1 ulp but not the exact mean rounded once")


def check_hdf5(what, path, dataset, ref, aggs):
    want_names = {"key", "count"} | {a for a in aggs if a != "count"}
    table = dh.kv_table(h, what, path, dataset, want_names)
    if table is None:
        return
    a, keys = table
    h.check(a.dtype["count"] == np.dtype("int64") and
            all(a.dtype[col] == np.dtype("float64") for col in want_names - {"key", "count"}),
            f"{what}: count int64, the others float64", a.dtype)
    if not h.check(a.shape == (len(ref.rows),), f"{what}: shape ({len(ref.rows)},)",
                   a.shape):
        return
    h.check(keys == [k for k, _ in ref.rows], f"{what}: HDF5 keys (raw) in byte order",
            next((f"row {i}: {g!r} != {w!r}" for i, (g, (w, _)) in
                  enumerate(zip(keys, ref.rows)) if g != w), None))
    h.check([int(c) for c in a["count"]] == [s.count for _, s in ref.rows],
            f"{what}: HDF5 count exact")
    for col in ("sum", "min", "max", "mean"):
        if col not in want_names:
            continue
        bad = None
        for i, (x, (k, st)) in enumerate(zip(a[col].tolist(), ref.rows)):
            want = getattr(st, col)
            if col == "mean":
                ok = mean_ok(x, want)
            elif math.isnan(want):
                ok = math.isnan(x)
            else:
                ok = dh.same_bits(np.float64(x), np.float64(want))
            if not ok:
                bad = f"row {i} {k!r}: got {x!r}, expected {want!r}"
                break
        h.check(bad is None, f"{what}: HDF5 {col} " +
                ("within 1 ulp" if col == "mean" else "exact"), bad)


def check_report(what, name, ref, np_, top_k=10):
    rep = dh.load_json(h.path(f"{name}.json"))
    if not h.check(isinstance(rep, dict), f"{what}: report readable", rep):
        return None
    h.check(rep.get("status") == "ok" and rep.get("kernel") == "groupby" and
            rep.get("ranks") == np_, f"{what}: report status ok, kernel groupby, ranks {np_}",
            {k: rep.get(k) for k in ("status", "kernel", "ranks")})
    r = rep.get("results") or {}
    for k, want in [("records", ref.records), ("total", ref.total),
                    ("distinct", len(ref.rows)), ("bad_rows", len(ref.bad)),
                    ("bad_lines", ref.bad[:10]),
                    ("top", [[k.decode(), st.count] for k, st in ref.rows[:top_k]])]:
        h.check(r.get(k) == want, f"{what}: results.{k} == {str(want)[:300]}", r.get(k))
    sh = r.get("shuffle")
    ok = (isinstance(sh, dict) and isinstance(sh.get("bytes"), int) and sh["bytes"] >= 0 and
          isinstance(sh.get("rounds"), int) and sh["rounds"] >= 0)
    h.check(ok and (np_ > 1 or sh["bytes"] == 0), f"{what}: results.shuffle has bytes and "
            f"rounds{' (bytes 0 at one rank)' if np_ == 1 else ''}", sh)
    t = (rep.get("timing") or {}).get("shuffle")
    h.check(isinstance(t, (int, float)) and t >= 0, f"{what}: timing.shuffle is a time", t)
    return rep


def gb_case(what, name, path, files, gb, ref, fmt_=None, dataset=None, run=None, np_=None,
            top_k=10):
    """Runs one groupby job; files = the input files (for the integrity check). Returns the
    output's bytes (TSV) or None."""
    np_ = h.np if np_ is None else np_
    out = f"{name}.{'h5' if fmt_ == 'hdf5' else 'tsv'}"
    job, _ = job_for(name, path, gb, out, fmt_, dataset, run)
    if not h.run_writing(what, job, out, files, np=np_):
        return None
    aggs = [a.strip() for a in gb.get("aggs", "count,sum,mean").split(",")]
    data = None
    if fmt_ == "hdf5":
        check_hdf5(what, h.path(out), dataset or "/groupby", ref, aggs)
    else:
        data = open(h.path(out), "rb").read()
        check_tsv(what, data, ref, aggs)
    check_report(what, name, ref, np_, top_k)
    return data


# ---- 1. the main file ------------------------------------------------------------------------

g = Gen()
N = 12 * 100_000
bad_rows = g.bad_rows()
sched = [(0.001, g.row(b"Cancel", b"1e16")), (0.5, g.row(b"Cancel", b"1")),
         (0.97, g.row(b"Cancel", b"-1e16")), (0.002, g.row(b"Cancel2", b"1e16")),
         (0.4, g.row(b"Cancel2", b" 1 ")), (0.7, g.row(b"Cancel2", b'"1"')),
         (0.98, g.row(b"Cancel2", b"-1e16")),
         (0.1, g.row(b"Overflow", b"1e308")), (0.6, g.row(b"Overflow", b"1E308")),
         (0.9, g.row(b"Overflow", b"-1e308")), (0.3, b"\r\n"), (0.31, b"\n\n")]
sched += [(0.01 + 0.06 * i, r) for i, r in enumerate(bad_rows)]
sched += [(0.2 + 0.1 * i, g.row(b"Tenth", b"0.1")) for i in range(7)]
main = layout(g, N, b"city,station,temp,note\n", sched)
tg = targets(N)
assert all(in_quotes_at(main, b",", t) for t in tg), [in_quotes_at(main, b",", t) for t in tg]
h.write("main.csv", main)
ref_main = Ref([("main.csv", main)])
assert len(ref_main.bad) == len(bad_rows), ref_main.bad
h.note(f"main.csv: {N} bytes, {ref_main.records} rows, {len(ref_main.rows)} keys, "
       f"{len(ref_main.bad)} bad rows; bytes {tg} are inside quoted fields")
ALL = "count,sum,mean,min,max"
gb_main = {"key": "city", "value": "temp", "aggs": ALL}
t1 = gb_case("main.csv, all aggs", "main", "main.csv", [h.path("main.csv")], gb_main, ref_main)
gb_case("main.csv, format = hdf5", "main_h5", "main.csv", [h.path("main.csv")],
        {**gb_main, "top_k": 3}, ref_main, fmt_="hdf5", top_k=3)
t2 = gb_case("main.csv, threads 2", "main_t2", "main.csv", [h.path("main.csv")], gb_main,
             ref_main, run={"threads": 2})
if t1 is not None and t2 is not None:
    h.check(t1 == t2, "main.csv: TSV byte-identical at threads 1 and 2")
if h.np > 1:
    t3 = gb_case("main.csv, one rank", "main_np1", "main.csv", [h.path("main.csv")], gb_main,
                 ref_main, np_=1)
    if t1 is not None and t3 is not None:
        h.check(t1 == t3, f"main.csv: TSV byte-identical at {h.np} ranks and at one rank")
t4 = gb_case("main.csv, [run] chunk_mb = 1", "main_chunk", "main.csv", [h.path("main.csv")],
             gb_main, ref_main, run={"chunk_mb": 1})
if t1 is not None and t4 is not None:
    h.check(t1 == t4, "main.csv: TSV byte-identical with chunk_mb = 1")
ref_count = Ref([("main.csv", main)], value=None)
gb_case("main.csv, aggs = count without a value column", "main_count", "main.csv",
        [h.path("main.csv")], {"key": "city", "aggs": "count", "top_k": 30}, ref_count,
        top_k=30)
ref_note = Ref([("main.csv", main)], key="note", value="temp")
gb_case("main.csv grouped by note, aggs = mean,sum", "main_note", "main.csv",
        [h.path("main.csv")], {"key": "note", "value": "temp", "aggs": "mean,sum"}, ref_note)

# records longer than a read piece: a quoted key of 1.4 MiB (newlines, delimiters, doubled
# quotes), twice, with [run] chunk_mb = 1
big_key = b"H" + b'x,y\n""z' * 200_000
hf = (b"city,station,temp,note\n" + b"".join(g.row() for _ in range(3000)) +
      quote(big_key) + b",S,1.5,n\n" + b"".join(g.row() for _ in range(2000)) +
      quote(big_key) + b",S,2.25,n\n" + b"".join(g.row() for _ in range(3000)))
h.write("hugefield.csv", hf)
ref_hf = Ref([("hugefield.csv", hf)])
assert not ref_hf.bad and len(big_key) > 1 << 20
gb_case("a 1.4 MiB quoted key, twice, chunk_mb = 1", "hugefield", "hugefield.csv",
        [h.path("hugefield.csv")], gb_main, ref_hf, run={"chunk_mb": 1})

# many distinct keys with [run] shuffle_mb = 1: several shuffle rounds
NK = 120_000
kv_rows = [b"city,temp\n"]
for i, (r, v) in enumerate(zip(rng.integers(1, 4, size=NK), rng.standard_normal(NK * 3))):
    kv_rows += [b"key%07d,%r\n" % (i * 7919 % NK, float(v) * 10 ** (i % 9) + j)
                for j in range(r)]
order = rng.permutation(len(kv_rows) - 1) + 1
many = kv_rows[0] + b"".join(kv_rows[i] for i in order)
h.write("many.csv", many)
ref_many = Ref([("many.csv", many)])
assert len(ref_many.rows) == NK and not ref_many.bad
h.note(f"many.csv: {len(many)} bytes, {NK} keys")
gb_case(f"{NK} keys with [run] shuffle_mb = 1", "many", "many.csv", [h.path("many.csv")],
        {"key": "city", "value": "temp", "aggs": ALL}, ref_many, run={"shuffle_mb": 1})
if h.np > 1:
    rep_many = dh.load_json(h.path("many.json"))
    sh = ((rep_many if isinstance(rep_many, dict) else {}).get("results") or {}).get("shuffle")
    h.check(isinstance(sh, dict) and isinstance(sh.get("rounds"), int) and sh["rounds"] > 1,
            f"{NK} keys with shuffle_mb = 1: results.shuffle.rounds > 1", sh)

# ---- 2. header = false with tab; ';' with CRLF -----------------------------------------------

gt = Gen(delim=b"\t", ncols=5, ki=1, vi=3)
N2 = 12 * 50_000
tab = layout(gt, N2, b"", [(0.2, gt.row(b"Cancel", b"1e16")), (0.8, gt.row(b"Cancel", b"1")),
                           (0.9, gt.row(b"Cancel", b"-1e16"))])
assert all(in_quotes_at(tab, b"\t", t) for t in targets(N2))
h.write("tab.tsv.txt", tab)
ref_tab = Ref([("tab.tsv.txt", tab)], delim=b"\t", header=False, key="1", value="3")
assert not ref_tab.bad
assert [f for _, f in records_of(tab, b"\t")] == csv_module_records(tab, b"\t"), \
    "reference parser disagrees with the csv module on tab.tsv.txt"
gb_case("header = false, key 1, value 3, delimiter = tab", "tab", "tab.tsv.txt",
        [h.path("tab.tsv.txt")], {"key": 1, "value": 3, "delimiter": "tab", "header": "false",
                                  "aggs": ALL}, ref_tab)
gb_case("header = false, delimiter = \\t, aggs = sum", "tab2", "tab.tsv.txt",
        [h.path("tab.tsv.txt")], {"key": 1, "value": 3, "delimiter": "\\t", "header": "false",
                                  "aggs": "sum"}, ref_tab)

gs = Gen(delim=b";", eol=b"\r\n", ncols=3, ki=2, vi=0)
N3 = 12 * 50_000
semi = layout(gs, N3, b"temp;station;city\r\n", [(0.5, b"\r\n"), (0.6, b"\n")],
              pad_eol=b"\r\n")
assert all(in_quotes_at(semi, b";", t) for t in targets(N3))
h.write("semi.csv", semi)
ref_semi = Ref([("semi.csv", semi)], delim=b";", key="city", value="temp")
assert not ref_semi.bad
assert [f for _, f in records_of(semi, b";")] == csv_module_records(semi, b";"), \
    "reference parser disagrees with the csv module on semi.csv"
gb_case("delimiter ';', CRLF, aggs = max,min,count", "semi", "semi.csv", [h.path("semi.csv")],
        {"key": "city", "value": "temp", "delimiter": '";"', "aggs": "max,min,count",
         "top_k": 5}, ref_semi, top_k=5)

# ---- several files ---------------------------------------------------------------------------

gd = Gen(ncols=3, ki=0, vi=1)
HDR = b"city,temp,extra\n"


def table(n, bad_at):
    rows = [HDR]
    for i in range(n):
        rows.append(gd.bad_rows()[bad_at[i]] if i in bad_at else gd.row())
    return b"".join(rows)


tables = {"a.csv": table(2500, {100: 3, 2400: 12}),
          "b.csv": table(3000, {2: 0, 7: 10, 8: 11, 1500: 1, 2999: 6}),
          "c.csv": HDR,
          "d.csv": table(2000, {0: 9, 5: 2, 6: 4, 7: 5, 1999: 7})[:-1]}  # no final newline
for n_, d_ in tables.items():
    h.write(f"tables/{n_}", d_)
h.write("tables/.hidden.csv", b"other,header\nx,1\n")
h.write("tables/sub/e.csv", b"city,temp,extra\nSub,1,x\n")
h.write("tables/notes.txt", HDR + b"Txt,5,x\n")
dir_names = ["a.csv", "b.csv", "c.csv", "d.csv", "notes.txt"]
dir_files = [(f"tables/{n_}", open(h.path("tables", n_), "rb").read()) for n_ in dir_names]
ref_dir = Ref(dir_files, value="temp")
assert len(ref_dir.bad) == 12, ref_dir.bad
gb_tab = {"key": "city", "value": "temp", "aggs": "count,mean"}
gb_case("a directory of files with one header", "dir", "tables", [h.path("tables")], gb_tab,
        ref_dir)
ref_glob = Ref(dir_files[:4], value="temp")
gb_case("a glob tables/*.csv", "glob", "tables/*.csv", [h.path("tables")], gb_tab, ref_glob)
ref_glob2 = Ref([dir_files[1], dir_files[3]], value="temp")
gb_case("a glob tables/[bd].csv, all aggs, hdf5", "glob2", "tables/[bd].csv",
        [h.path("tables")], {**gb_tab, "aggs": ALL}, ref_glob2, fmt_="hdf5")

# ---- NaN, infinities, spellings --------------------------------------------------------------

special = (b"g,v\ninf1,1\ninf1,inf\ninf1,2\nninf,-inf\nninf,5\nboth,Infinity\nboth,-INF\n"
           b"nan1,1\nnan1,nan\nnan1,3\nnan2,NaN\nhex,0x1.8p1\nhex, 0x10 \nhex,-0X.8P-1\n"
           b'signs,+3\nsigns,.5\nsigns,5.\nsigns,1E3\nsigns," 7 "\nsigns,-2e-3\n'
           b"big,1.7976931348623157e308\nbig,1.7976931348623157e308\nbig,-1.7976931348623157e308\n")
h.write("special.csv", special)
ref_sp = Ref([("special.csv", special)], key="g", value="v")
qh = b'"ci,ty","temp"\nOslo,1\n"Oslo",2\nRoma,3\n'
h.write("quoted_header.csv", qh)
gb_case("a quoted header", "qheader", "quoted_header.csv", [h.path("quoted_header.csv")],
        {"key": "ci,ty", "value": "temp", "aggs": ALL},
        Ref([("quoted_header.csv", qh)], key="ci,ty", value="temp"))
assert not ref_sp.bad and len(ref_sp.rows) == 8
gb_case("NaN, infinities, hex and other spellings", "special", "special.csv",
        [h.path("special.csv")], {"key": "g", "value": "v", "aggs": ALL, "top_k": 20},
        ref_sp, top_k=20)
gb_case("NaN, infinities: hdf5", "special_h5", "special.csv", [h.path("special.csv")],
        {"key": "g", "value": "v", "aggs": ALL}, ref_sp, fmt_="hdf5")

ref_all_bad = Ref([("tab.tsv.txt", tab)], delim=b"\t", header=False, key="1", value="7")
assert ref_all_bad.total == 0
gb_case("header = false, value = 7 beyond every row: every row bad", "allbad", "tab.tsv.txt",
        [h.path("tab.tsv.txt")], {"key": 1, "value": 7, "delimiter": "tab", "header": "false"},
        ref_all_bad)

# ---- 3. failures -----------------------------------------------------------------------------


def fail_case(what, name, path, gb, rcs, needles, files, others=()):
    """A job that must fail: exit status in rcs, every needle in stderr and none of others
    (the bad rows after the first), no output."""
    all_files = h.guard_inputs(files)
    job, _ = job_for(name, path, gb, f"{name}.tsv")
    res = h.dproc(job)
    h.check(res.rc in rcs, f"{what}: exit status {' or '.join(map(str, rcs))}", res.describe())
    for nd in needles:  # FILE:LINE must not be followed by another digit
        h.check(re.search(re.escape(nd) + r"(?![0-9])", res.err),
                f"{what}: the message names {nd!r}", res.err[:2000])
    if others:
        named = [o for o in others if re.search(re.escape(o) + r"(?![0-9])", res.err)]
        h.check(not named, f"{what}: no later bad row is named as the first", named)
    h.check(not os.path.exists(h.path(f"{name}.tsv")), f"{what}: no output file")
    h.check_no_leftovers(what)
    h.check_inputs(what, all_files)
    if res.rc == 1:
        rep = dh.load_json(h.path(f"{name}.json"))
        h.check(isinstance(rep, dict) and rep.get("status") == "failed",
                f"{what}: report status failed", rep)
    return res


# stray quotes: each such row is bad, and only that row (the rest of the file parses as usual)
stray = layout(g, 12 * 10_000, b"city,station,temp,note\n",
               [(0.05 + 0.3 * i, r) for i, r in enumerate(g.stray_rows())])
h.write("stray.csv", stray)
ref_stray = Ref([("stray.csv", stray)])
assert len(ref_stray.bad) == 3, ref_stray.bad
gb_case("quotes inside unquoted fields (stray quotes)", "stray", "stray.csv",
        [h.path("stray.csv")], gb_main, ref_stray)
small = (b'city,temp\nOslo,1\nOs"lo,2\nOslo,3\n"Bergen",4\nOslo,5"6\nBergen,7\n"Mul\nti",8\n'
         b"Oslo,9\n")
h.write("stray_small.csv", small)
ref_ss = Ref([("stray_small.csv", small)], key="city", value="temp")
assert ref_ss.bad == ["stray_small.csv:3", "stray_small.csv:6"] and ref_ss.total == 6
gb_case("stray quotes, a small file", "stray_small", "stray_small.csv",
        [h.path("stray_small.csv")], {"key": "city", "value": "temp", "aggs": ALL}, ref_ss)

fail_case("bad_rows = error on main.csv", "err_main", "main.csv",
          {**gb_main, "bad_rows": "error"}, (1,), [ref_main.bad[0]], [h.path("main.csv")],
          others=ref_main.bad[1:])
fail_case("bad_rows = error on a directory", "err_dir", "tables",
          {**gb_tab, "bad_rows": "error"}, (1,), [ref_dir.bad[0]], [h.path("tables")])
late = layout(g, 12 * 25_000, b"city,station,temp,note\n",
              [(0.6, bad_rows[2]), (0.9, bad_rows[0])])
h.write("late.csv", late)
ref_late = Ref([("late.csv", late)])
assert len(ref_late.bad) == 2
h.note(f"late.csv: its first bad row is {ref_late.bad[0]}, 60% into the file")
fail_case("bad_rows = error, the first bad row 60% into the file", "err_late", "late.csv",
          {**gb_main, "bad_rows": "error"}, (1,), [ref_late.bad[0]], [h.path("late.csv")])
gb_case("bad rows late in the file: bad_lines", "late", "late.csv", [h.path("late.csv")],
        gb_main, ref_late)

edge = layout(g, 12 * 25_000, b"city,station,temp,note\n", specials=BAD_SPECIALS)
assert all(in_quotes_at(edge, b",", t) for t in targets(len(edge)))
h.write("edgebad.csv", edge)
ref_edge = Ref([("edgebad.csv", edge)])
assert len(ref_edge.bad) == 5, ref_edge.bad
h.note(f"edgebad.csv: bad records {ref_edge.bad} straddle the split points")
gb_case("bad records across the split points: bad_lines", "edgebad", "edgebad.csv",
        [h.path("edgebad.csv")], gb_main, ref_edge)
fail_case("bad_rows = error, the first bad record across a split point", "err_edge",
          "edgebad.csv", {**gb_main, "bad_rows": "error"}, (1,), [ref_edge.bad[0]],
          [h.path("edgebad.csv")], others=ref_edge.bad[1:])

h.write("mism/a.csv", b"city,temp\nOslo,1\n")
h.write("mism/b.csv", b"city,value\nOslo,2\n")
fail_case("files whose headers differ", "mism", "mism", {"key": "city", "value": "temp"},
          (1, 2), [], [h.path("mism")])
fail_case("key column not in the header", "nokey", "special.csv",
          {"key": "town", "value": "v"}, (1, 2), ["town"], [h.path("special.csv")])
fail_case("value column not in the header", "noval", "special.csv",
          {"key": "g", "value": "temperature"}, (1, 2), ["temperature"],
          [h.path("special.csv")])
fail_case("path matching no file", "nofile", "nothing/*.csv", {"key": "g", "value": "v"},
          (1, 2), ["nothing/*.csv"], [])


def usage_case(what, gb, needle, key, what_re=""):
    name = "bad_" + re.sub(r"\W+", "_", what)
    job, text = job_for(name, "special.csv", gb, "bad.tsv")
    res = h.dproc(job)
    h.check(res.rc == 2, f"{what}: exit status 2", res.describe())
    line = dh.line_of(text, needle)
    pat = re.compile(rf"^{re.escape(job)}:{line}: \[groupby\] {key}: {what_re}", re.M)
    h.check(pat.search(res.err), f"{what}: message /{pat.pattern}/", res.err[:2000])
    h.check(not os.path.exists(h.path("bad.tsv")), f"{what}: no output file")
    h.check_no_leftovers(what)


usage_case("aggs = sum,median", {"key": "g", "value": "v", "aggs": "sum,median"},
           "aggs = sum,median", "aggs", ".*median")
usage_case("value missing with aggs = sum", {"key": "g", "aggs": "sum"}, "[groupby]", "value")
usage_case("value missing with the default aggs", {"key": "g"}, "[groupby]", "value")
usage_case("key missing", {"value": "v"}, "[groupby]", "key")
usage_case("delimiter of two bytes", {"key": "g", "value": "v", "delimiter": "ab"},
           "delimiter = ab", "delimiter")
usage_case("bad_rows = skip", {"key": "g", "value": "v", "bad_rows": "skip"},
           "bad_rows = skip", "bad_rows")
usage_case("header = maybe", {"key": "g", "value": "v", "header": "maybe"}, "header = maybe",
           "header")
usage_case("unknown key keys", {"key": "g", "value": "v", "keys": "g"}, "keys = g", "keys",
           "unknown key")

h.check_inputs("all runs")
h.finish()
