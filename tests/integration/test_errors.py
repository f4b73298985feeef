#!/usr/bin/python3
"""Integration test: bad job files and command lines at the given rank count. Each must end with
exit status 2 and a message on stderr of the form `JOB:LINE: [section] key: what` (or the
section-level `JOB:LINE: [section]: what`, the file-level `JOB:LINE: what` / `JOB: [section]
key: what`, or `--set TEXT: ...` for overrides) with the right line number, printed once
whatever the rank count, and no output file. CRLF line ends and a UTF-8 byte order mark are
accepted. Then runtime failures (exit status 1, or 2 for a decomposition the data does not
allow): one `dproc: error:` line naming the problem (and the rank when there are several), no
output or temporary file, and a report with status "failed"."""

import os
import re

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("errors", __doc__)
MAX_MESSAGE = 4096  # a diagnostic about a huge line must stay readable

GOOD = {
    "job": {"kernel": "reduce"},
    "input": {"source": "generate", "shape": "6,5"},
    "output": {"path": "out.h5", "report": "out.json"},
}

# An HDF5 file and a raw file for the cases that need an existing input.
with h5py.File(h.path("in.h5"), "w") as f:
    f["/d2"] = np.arange(20, dtype=np.float64).reshape(4, 5)
    f["/d4"] = np.zeros((2, 2, 2, 2))
    f["/scalar"] = 3.0
    f["/empty"] = np.zeros((0, 5))
    f["/t1"] = np.zeros(6, dtype=[("a", "<i4"), ("b", "<f8")])  # compound
    f["/t2"] = np.array([b"ab", b"cd", b"ef"])  # fixed-length strings
    f.create_group("/grp")
h.write("in.raw", np.arange(10, dtype=np.int16).tobytes())
h.write("not_hdf5.h5", "this is text, not HDF5\n" * 20)


def variant(changes=None, extra=None, drop=()):
    """GOOD with keys changed/added ({section: {key: value}}), (section, key) pairs dropped and
    extra sections appended."""
    secs = {s: dict(k) for s, k in GOOD.items()}
    for s, kv in (changes or {}).items():
        secs.setdefault(s, {}).update(kv)
    for s, k in drop:
        secs[s].pop(k)
    items = list(secs.items()) + list((extra or {}).items())
    return dh.job_text(items)


def outputs_absent(what, names=("out.h5", "out.json")):
    present = [n for n in names if os.path.exists(h.path(n))]
    h.check(not present, f"{what}: no output file created", present)
    for n in present:
        os.unlink(h.path(n))
    h.check_no_leftovers(what)


def dproc_lines(err, job):
    """The lines dproc itself printed (the launcher adds its own)."""
    starts = (f"{job}:", f"{job} ", "--set ", "dproc:")
    return [l for l in err.splitlines() if l.startswith(starts)]


def usage_case(name, text, head, what_re, sets=(), job=None, opts=(), also=None):
    """A bad job: exit 2 and exactly one stderr line matching `^head what_re`, where head is
    built by the caller from the job name, the line and the section/key."""
    job = job or f"e_{name}.ini"
    if text is not None:
        h.write(job, text)
    res = h.run(list(opts) + [a for s in sets for a in ("--set", s)] + [job])
    what = f"{name}"
    h.check(res.rc == 2, f"{what}: exit status 2", res.describe())
    pat = re.compile("^" + head.replace("JOB", re.escape(job)) + what_re)
    hits = [l for l in res.err.splitlines() if pat.search(l)]
    h.check(len(hits) == 1, f"{what}: one stderr line matches /{pat.pattern}/",
            f"{len(hits)} lines match; stderr: {res.err[:3000]!r}")
    mine = dproc_lines(res.err, job)
    h.check(len(mine) == len(set(mine)), f"{what}: no message printed twice", mine)
    longest = max((len(l) for l in mine), default=0)
    h.check(longest <= MAX_MESSAGE, f"{what}: messages at most {MAX_MESSAGE} characters",
            f"longest is {longest}")
    if also:
        also(res)
    outputs_absent(what)
    return res


def at(text, needle, section=None, key=None, start=1):
    """The expected head `JOB:LINE: [section] key: ` with LINE where needle is."""
    line = dh.line_of(text, needle, start)
    return head_for(f"JOB:{line}:", section, key)


def head_for(place, section=None, key=None):
    if section and key:
        return f"{re.escape(place)} \\[{re.escape(section)}\\] {re.escape(key)}: "
    if section:
        return f"{re.escape(place)} \\[{re.escape(section)}\\]: "
    return f"{re.escape(place)} "


# ---- syntax ----------------------------------------------------------------------------------

t = variant(extra={"run": {}}) + "threads 2\n"
usage_case("missing_equals", t, at(t, "threads 2", "run"), "expected 'key = value'")

t = variant(drop=[("job", "kernel")], changes={"job": {"kernal": "reduce"}})
usage_case("unknown_key_kernal", t, at(t, "kernal", "job", "kernal"),
           "unknown key, did you mean 'kernel'")

t = variant().replace("[input]", "[inptu]")
usage_case("unknown_section", t, at(t, "[inptu]", "inptu"),
           r"unknown section, did you mean \[input\]")

t = variant({"job": {"kernel": "reduse"}})
usage_case("unknown_kernel", t, at(t, "reduse", "job", "kernel"),
           "unknown kernel 'reduse', did you mean 'reduce'")

t = variant(extra={"run": {"threads": 1}}) + "chunk_mb = 2\nthreads = 2\n"
first = dh.line_of(t, "threads = 1")
usage_case("duplicate_key", t, at(t, "threads = 2", "run", "threads"),
           rf"key appears twice \(first at line {first}\)")

t = variant() + "[output]\noverwrite = true\n"
first = dh.line_of(t, "[output]")
usage_case("duplicate_section", t, at(t, "[output]", "output", start=first + 1),
           rf"section appears twice \(first at line {first}\)")

t = "kernel = reduce\n" + variant()
usage_case("key_before_section", t, at(t, "kernel = reduce"), "key before any section")

t = variant().replace("[input]", "[input")
usage_case("header_without_bracket", t, at(t, "[input"), "section header without ']'")

t = variant().replace("[input]", "[in put]")
usage_case("bad_section_name", t, at(t, "[in put]", "in put"), "bad section name")

t = variant({"job": {"name": '"unfinished'}})
usage_case("unterminated_quote", t, at(t, '"unfinished', "job", "name"),
           "unterminated double quote")

t = variant({"job": {"name": "ab\0cd"}})
usage_case("nul_byte", t, at(t, "ab\0cd"), "the line contains a NUL byte")

usage_case("empty_file", "", head_for("JOB:", "job", "kernel"), "missing")

# ---- values ----------------------------------------------------------------------------------

t = variant(drop=[("input", "shape")])
usage_case("generate_without_shape", t, at(t, "[input]", "input", "shape"), "missing")

t = variant({"input": {"source": "hdf5", "dataset": "/d2"}}, drop=[("input", "shape")])
usage_case("hdf5_without_path", t, at(t, "[input]", "input", "path"), "missing")

t = variant({"input": {"source": "hdf5", "path": "in.h5"}}, drop=[("input", "shape")])
usage_case("hdf5_without_dataset", t, at(t, "[input]", "input", "dataset"), "missing")

t = variant({"input": {"source": "raw", "path": "in.raw", "shape": "10"}})
usage_case("raw_without_dtype", t, at(t, "[input]", "input", "dtype"), "missing")

t = variant({"run": {"threads": "two"}})
usage_case("threads_not_a_number", t, at(t, "threads = two", "run", "threads"),
           "'two' is not a whole number")

t = variant({"run": {"threads": "1e400"}})
usage_case("threads_1e400", t, at(t, "threads = 1e400", "run", "threads"),
           "'1e400' is not a whole number")

t = variant({"run": {"chunk_mb": 0}})
usage_case("chunk_mb_0", t, at(t, "chunk_mb = 0", "run", "chunk_mb"), "0 is out of range")

t = variant({"input": {"shape": "-5,3"}})
usage_case("negative_shape", t, at(t, "shape = -5,3", "input", "shape"), "'-5,3': ")

t = variant({"input": {"shape": "0,3"}})
usage_case("zero_shape", t, at(t, "shape = 0,3", "input", "shape"), "'0,3': .*at least 1")

t = variant({"input": {"shape": "4294967296,4294967296,4294967296"}})
usage_case("shape_overflow", t, at(t, "shape = 4294967296", "input", "shape"), ".*2\\^63")

t = variant({"input": {"generator": "random", "seed": "99999999999999999999"}})
usage_case("seed_overflow", t, at(t, "seed = 9", "input", "seed"), ".*out of range")

# 1e400 where a real number is expected: the keys come from the reference (--help-job), whose
# tables say "| `key` | TYPE |"; a type naming "number" takes reals (a list when plural).
ref = h.run(["--help-job"], mpi=False)
real_keys = []
for part in re.split(r"^### ", ref.out, flags=re.M)[1:]:
    sec = re.match(r"\[(\w+)\]", part)
    for key, typ in re.findall(r"^\| `(\w+)` \| ([^|]*number[^|]*) \|", part, re.M):
        real_keys.append((sec.group(1) if sec else "?", key, "numbers" in typ or "list" in typ))
if not real_keys:
    h.note("no job-file key takes a real number (--help-job lists none), so 1e400 was tried "
           "on an integer key above instead")
for sec, key, is_list in real_keys:
    if sec not in ("job", "input", "output", "run", "reduce"):
        h.note(f"[{sec}] {key} takes a real number, but belongs to another kernel: not tried")
        continue
    value = "0,1e400" if is_list else "1e400"
    t = variant(extra={sec: {key: value}}) if sec not in GOOD else variant({sec: {key: value}})
    usage_case(f"{sec}_{key}_1e400", t, at(t, f"{key} = {value}", sec, key), "")

t = variant({"input": {"dtype": "float32"}})
usage_case("dtype_with_generate", t, at(t, "dtype = float32", "input", "dtype"),
           "not used with source = generate")

t = variant({"input": {"seed": 5}})
usage_case("seed_with_ramp", t, at(t, "seed = 5", "input", "seed"),
           "used only by generator = random")

t = variant(extra={"reduce": {"ops": "sum,frobnicate"}})
usage_case("unknown_reduce_op", t, at(t, "sum,frobnicate", "reduce", "ops"),
           "unknown value 'frobnicate'")

t = variant({"run": {"decomposition": "3d"}})
usage_case("decomposition_3d_of_2d", t, at(t, "decomposition = 3d", "run", "decomposition"),
           "3d needs")

t = variant({"run": {"decomposition": "4d"}})
usage_case("decomposition_4d", t, at(t, "decomposition = 4d", "run", "decomposition"),
           "unknown value '4d'")

t = variant({"output": {"overwrite": "maybe"}})
usage_case("bad_boolean", t, at(t, "overwrite = maybe", "output", "overwrite"),
           "'maybe' is not a boolean")

t = variant({"output": {"dataset": "results"}})
usage_case("relative_dataset", t, at(t, "dataset = results", "output", "dataset"),
           "'results' must be an absolute path")

t = variant({"job": {"kernel": "copy"}}, drop=[("output", "path")])
usage_case("copy_without_output", t, at(t, "[output]", "output", "path"), "missing")

t = variant({"job": {"kernel": "copy"}}, extra={"reduce": {"ops": "sum"}})
usage_case("section_of_other_kernel", t, at(t, "[reduce]", "reduce"), "section of kernel 'reduce'")

# ---- line ends and byte order mark -----------------------------------------------------------


def accepted(name, data):
    job = f"ok_{name}.ini"
    h.write(job, data)
    res = h.run([job])
    if h.expect_ok(res, f"{name} accepted"):
        rep = dh.load_json(h.path("out.json"))
        n = 30  # shape 6,5 ramp: sum of 0..29
        h.check(isinstance(rep, dict) and rep.get("results", {}).get("count") == n and
                rep["results"].get("sum") == n * (n - 1) / 2,
                f"{name}: the job ran as written (count {n}, sum {n * (n - 1) // 2})", rep)
    for f in ("out.h5", "out.json"):
        if os.path.exists(h.path(f)):
            os.unlink(h.path(f))


crlf = variant().replace("\n", "\r\n")
accepted("crlf", crlf)
accepted("bom", "\ufeff" + variant())
accepted("bom_crlf", "\ufeff" + crlf)
t = variant({"run": {"threads": "x"}}).replace("\n", "\r\n")
usage_case("crlf_line_numbers", t, at(t, "threads = x", "run", "threads"), "'x' is not")
t = "\ufeff" + variant({"run": {"threads": "x"}})
usage_case("bom_line_numbers", t, at(t, "threads = x", "run", "threads"), "'x' is not")

# ---- huge lines ------------------------------------------------------------------------------

big = "k" * 100_000
t = variant({"job": {"kernel": big}})
usage_case("100kB_kernel_value", t, at(t, big[:50], "job", "kernel"), "unknown kernel")
t = variant({"run": {"threads": "9" * 100_000}})
usage_case("100kB_threads_value", t, at(t, "9" * 50, "run", "threads"), ".*out of range")
t = variant({"job": {"a" * 100_000: 1}})
usage_case("100kB_key", t, f"{re.escape('JOB:' + str(dh.line_of(t, 'a' * 50)) + ':')} \\[job\\] a+",
           ".*unknown key")

# ---- --set and the command line --------------------------------------------------------------

good = variant()
h.write("good.ini", good)
usage_case("set_without_dot", None, head_for("--set runthreads=2:"),
           "expected --set section.key=value", sets=["runthreads=2"], job="good.ini")
usage_case("set_unknown_key", None, head_for("--set run.thread=2:", "run", "thread"),
           "unknown key, did you mean 'threads'", sets=["run.thread=2"], job="good.ini")
usage_case("set_bad_value", None, head_for("--set run.threads=-1:", "run", "threads"),
           "-1 is out of range", sets=["run.threads=-1"], job="good.ini")
usage_case("unknown_option", None, "dproc: ", "unknown or incomplete option '--frobnicate'",
           opts=["--frobnicate"], job="good.ini")
usage_case("missing_job_file", None, head_for("JOB:"), "cannot read the job file",
           job="nonexistent.ini")

# ---- the file system -------------------------------------------------------------------------

t = variant({"output": {"path": "no/such/dir/out.h5"}})
usage_case("output_directory_missing", t, at(t, "no/such/dir", "output", "path"),
           "the directory of 'no/such/dir/out.h5' does not exist")

t = variant({"output": {"report": "no/such/dir/out.json"}})
usage_case("report_directory_missing", t, at(t, "no/such/dir", "output", "report"),
           "the directory of")

t = variant({"input": {"source": "hdf5", "path": "missing.h5", "dataset": "/d2"}},
            drop=[("input", "shape")])
usage_case("input_file_missing", t, at(t, "missing.h5", "input", "path"),
           "cannot read 'missing.h5'")


def output_still_hdf5(res):
    if res.rc == 0:
        h.check(h5py.is_hdf5(h.path("out.h5")), "report_is_output_other_spelling: the job "
                "ran; out.h5 is still its HDF5 output, not replaced by the JSON report")


t = variant({"output": {"report": "./out.h5"}})
usage_case("report_is_output_other_spelling", t, at(t, "./out.h5", "output", "report"), "",
           also=output_still_hdf5)

# ---- runtime failures ------------------------------------------------------------------------


def runtime_case(name, input_keys, want_rc, what_re, kernel="copy", sets=()):
    """A job that is valid but fails on the data."""
    text = dh.job_text([("job", {"kernel": kernel}), ("input", input_keys),
                        ("output", {"path": "out.h5", "report": "rep.json"})])
    job = f"r_{name}.ini"
    h.write(job, text)
    res = h.dproc(job, sets=sets)
    h.check(res.rc == want_rc, f"{name}: exit status {want_rc}", res.describe())
    lines = [l for l in res.err.splitlines() if l.startswith("dproc: error: ")]
    h.check(len(lines) == 1, f"{name}: one 'dproc: error:' line", res.err[:3000])
    msg = lines[0][len("dproc: error: "):] if lines else ""
    h.check(re.search(what_re, msg), f"{name}: message matches /{what_re}/", msg)
    if h.np > 1:
        h.check(re.match(r"rank \d+: ", msg), f"{name}: message names the rank", msg)
    else:
        h.check(not msg.startswith("rank "), f"{name}: no rank prefix with one rank", msg)
    h.check("HDF5-DIAG" not in res.err, f"{name}: no HDF5 error stack on stderr", res.err[:2000])
    rep = dh.load_json(h.path("rep.json"))
    h.check(isinstance(rep, dict) and rep.get("status") == "failed" and rep.get("error") == msg,
            f"{name}: report says status failed with the message", rep)
    if os.path.exists(h.path("rep.json")):
        os.unlink(h.path("rep.json"))
    outputs_absent(name, ("out.h5",))


hdf5 = lambda d: {"source": "hdf5", "path": "in.h5", "dataset": d}
runtime_case("missing_dataset", hdf5("/nope"), 1, "'/nope'")
runtime_case("missing_nested_dataset", hdf5("/grp/nope/deeper"), 1, "'/grp/nope/deeper'")
runtime_case("group_not_dataset", hdf5("/grp"), 1, "'/grp'")
runtime_case("compound_dataset", hdf5("/t1"), 1, r"^(rank \d+: )?'in.h5:/t1': [^']*\bcompound\b")
runtime_case("string_dataset", hdf5("/t2"), 1, r"^(rank \d+: )?'in.h5:/t2': [^']*\bstring\b")
runtime_case("4d_dataset", hdf5("/d4"), 1, "4 dimensions")
runtime_case("scalar_dataset", hdf5("/scalar"), 1, "0 dimensions")
runtime_case("empty_dataset", hdf5("/empty"), 1, "empty")
runtime_case("not_an_hdf5_file", {"source": "hdf5", "path": "not_hdf5.h5", "dataset": "/d"}, 1,
             "not an HDF5 file")
runtime_case("raw_size_mismatch", {"source": "raw", "path": "in.raw", "dtype": "int16",
                                   "shape": "3,4"}, 1, "has 20 bytes.* need 24")
runtime_case("raw_offset_too_big", {"source": "raw", "path": "in.raw", "dtype": "int16",
                                    "shape": "10", "offset": 2}, 1, "has 20 bytes.* need 22")


def data_usage_case(name, input_keys, sets, want_re):
    """A job setting that only the data show to be wrong: exit 2, reported once in the job-file
    form (WHERE: [section] key: ...), without a rank prefix, and nothing written."""
    text = dh.job_text([("job", {"kernel": "reduce"}), ("input", input_keys),
                        ("output", {"path": "out.h5", "report": "rep.json"})])
    job = f"u_{name}.ini"
    h.write(job, text)
    res = h.dproc(job, sets=sets)
    h.check(res.rc == 2, f"{name}: exit status 2", res.describe())
    lines = [l for l in res.err.splitlines() if re.match(want_re, l)]
    h.check(len(lines) == 1, f"{name}: one line matching /{want_re}/", res.err[:3000])
    h.check("rank " not in (lines[0] if lines else ""), f"{name}: no rank prefix", res.err[:500])
    rep = dh.load_json(h.path("rep.json"))
    h.check(isinstance(rep, dict) and rep.get("status") == "failed",
            f"{name}: report says status failed", rep)
    if os.path.exists(h.path("rep.json")):
        os.unlink(h.path("rep.json"))
    outputs_absent(name, ("out.h5",))


data_usage_case("decomposition_3d_of_2d_dataset", hdf5("/d2"), ["run.decomposition=3d"],
                r"^--set run\.decomposition=3d: \[run\] decomposition: 3d needs an array of at "
                r"least 3 dimensions; the data has 2$")

h.finish()
