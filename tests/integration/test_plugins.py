#!/usr/bin/python3
"""Integration test: plugins, as a user outside the source tree builds and runs them.

1. `cmake --install` of the build into a fresh prefix installs bin/dproc, the public header
   include/dproc/kernel.h, the CMake package (lib/cmake/dproc), the pkg-config module
   (lib/pkgconfig/dproc.pc) and the manual page share/man/man1/dproc.1, which documents every
   key that --help-job lists.
2. kernels/examples, as installed in share/doc/dproc/examples, is configured and built as its
   own CMake project against that prefix (find_package(dproc)); a third plugin, a map kernel written here, is built with the C compiler
   and `pkg-config --cflags dproc` only.
3. The installed dproc runs them at 1, 2 and 3 ranks: `above` (count of values above a threshold,
   strict and not) on an HDF5 array with NaN and infinities against numpy; `http_status` on two
   access logs (with malformed and CRLF lines) against a parser written here from the plugin's
   documented rule; `negate` writes -x, compared bit for bit with numpy; the plugin shown in
   docs/kernels.md, taken from the page as it is, counts as numpy does. Plugins are named by
   path, by bare name on DPROC_PLUGIN_PATH, and loaded from a DPROC_PLUGIN_PATH directory, and
   appear in --list-kernels and --help-job.
   A map plugin with out_dtype int16 is rounded by dproc as numpy's rint and clip; a plugin
   that calls every function of the header loads and runs.
4. Bad plugins each give their documented message on one line from rank 0, exit 2, and no rank
   hangs: a missing file, a shared object without dproc_plugin, another API version, an undefined
   symbol, a call into dproc's internals (not exported), a kernel without a function its kind
   needs (combine; create for key-value), an option beyond config_size, a kernel name taken by a
   built-in, a DPROC_PLUGIN_PATH entry that does not exist, and a plugin, named in the job or on
   DPROC_PLUGIN_PATH, that fails to load on rank 1 only (fault injection)."""

import os
import re
import subprocess

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("plugins", __doc__)
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DP_BUILD_DIR", os.path.dirname(h.dproc_bin))
CMAKE = os.environ.get("DP_CMAKE", "cmake")
CC = os.environ.get("DP_CC", "cc")


def sh(cmd, what, env=None, **kw):
    """Runs a build command; a failure is a failed check with its output."""
    p = subprocess.run(cmd, capture_output=True, text=True, env=env or h.env, **kw)
    h.check(p.returncode == 0, f"{what}: exit status 0",
            f"{' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


# ---- 1. install ------------------------------------------------------------------------------

PREFIX = h.path("prefix")
sh([CMAKE, "--install", BUILD, "--prefix", PREFIX], "cmake --install")
for f in ("bin/dproc", "include/dproc/kernel.h", "lib/cmake/dproc/dprocConfig.cmake",
          "lib/cmake/dproc/dprocConfigVersion.cmake", "lib/pkgconfig/dproc.pc",
          "share/man/man1/dproc.1", "share/doc/dproc/examples/CMakeLists.txt",
          "share/doc/dproc/examples/threshold_count.c", "share/doc/dproc/examples/http_status.c"):
    h.check(os.path.isfile(os.path.join(PREFIX, f)), f"installed {f}")
DPROC = os.path.join(PREFIX, "bin", "dproc")
if not os.access(DPROC, os.X_OK):
    h.finish()
h.dproc_bin = DPROC  # from here on, the installed dproc runs every job

ref = h.run(["--help-job"], mpi=False)
keys = sorted(set(re.findall(r"^\| `([^`]+)` \|", ref.out, re.M)))
with open(os.path.join(PREFIX, "share/man/man1/dproc.1")) as f:
    man = f.read()
man_keys = set(re.findall(r"^\.TP\n\\fB(.+?)\\fR", man, re.M))
h.check(len(keys) > 50 and set(keys) <= {k.replace("\\-", "-") for k in man_keys},
        f"dproc.1 documents all {len(keys)} keys of --help-job",
        sorted(set(keys) - {k.replace("\\-", "-") for k in man_keys}))
h.check(man.startswith(".TH DPROC 1") and "DPROC_PLUGIN_PATH" in man,
        "dproc.1 is a man page (.TH) and documents DPROC_PLUGIN_PATH", man[:200])

# ---- 2. build the plugins against the installed dproc ----------------------------------------

EX = h.path("examples-build")
sh([CMAKE, "-S", os.path.join(PREFIX, "share", "doc", "dproc", "examples"), "-B", EX,
    f"-DCMAKE_PREFIX_PATH={PREFIX}", "-DCMAKE_BUILD_TYPE=Release"],
   "configure kernels/examples with find_package(dproc)")
sh([CMAKE, "--build", EX], "build kernels/examples")
ABOVE = os.path.join(EX, "libdproc_threshold_count.so")
STATUS = os.path.join(EX, "libdproc_http_status.so")

env_pc = dict(h.env, PKG_CONFIG_PATH=os.path.join(PREFIX, "lib", "pkgconfig"))
cflags = sh(["pkg-config", "--cflags", "dproc"], "pkg-config --cflags dproc", env=env_pc)
CFLAGS = cflags.stdout.split()
h.check(any(os.path.samefile(f[2:], os.path.join(PREFIX, "include"))
            for f in CFLAGS if f.startswith("-I") and os.path.isdir(f[2:])),
        "pkg-config --cflags dproc names the installed include directory", cflags.stdout)

NEGATE = r"""
#include <dproc/kernel.h>
#include <stddef.h>

static const dp_opt_t opts[] = {{0}};

static void negate(const void *st, const dp_block_t *in, dp_block_t *out, void *partial)
{
    (void)st;
    (void)partial;
    const int64_t n = dp_block_size(in);
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++)
        out->data[i] = -in->data[i];
}

static const dp_kernel_t k = {
    .name = "negate", .summary = "y = -x", .kind = DP_KERNEL_MAP, .opts = opts,
    .process = negate,
};
DP_PLUGIN_EXPORT const dp_plugin_t dproc_plugin = {
    .api_version = DP_KERNEL_API_VERSION, .name = "negate",
    .kernels = (const dp_kernel_t *const[]){&k, NULL},
};
"""


def build_so(name, source, extra=()):
    """Builds a plugin from C source with cc and pkg-config's flags; returns its path."""
    c = h.write(f"{name}.c", source)
    so = h.path(f"lib{name}.so")
    sh([CC, "-std=c17", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fopenmp",
        *CFLAGS, *extra, c, "-o", so], f"cc builds lib{name}.so")
    return so


NEG = build_so("negate", NEGATE)
# the same map writing int16: dproc rounds what process() wrote to the type (out_dtype)
NEG16 = build_so("negate16", NEGATE.replace('"negate"', '"negate16"').replace(
    ".process = negate,", ".process = negate, .out_dtype = int16,").replace(
    "static const dp_kernel_t k", "static dp_dtype_t int16(const void *c)\n{\n    (void)c;\n"
    "    return DP_DT_INT16;\n}\n\nstatic const dp_kernel_t k"))
# every function of the header called from a plugin, so that dlopen must resolve them all
APIALL = build_so("apiall", NEGATE.replace('"negate"', '"apiall"').replace(
    "static const dp_kernel_t k", """static void *const api[] = {
    (void *)dp_results_real, (void *)dp_results_int, (void *)dp_results_reals,
    (void *)dp_results_ints, (void *)dp_results_array, (void *)dp_results_int_array,
    (void *)dp_kv_get, (void *)dp_field_max_change, (void *)dp_field_tiles};

static void *create(const void *cfg, const dp_shape_t *g)
{
    (void)cfg;
    (void)g;
    for (size_t j = 0; j < sizeof api / sizeof api[0]; j++)
        if (!api[j])
            return NULL;
    return (void *)api;
}

static const dp_kernel_t k""").replace(".process = negate,", ".process = negate, .create = create,"))

# the plugin of docs/kernels.md, exactly as the page shows it, built as the page says
with open(os.path.join(SRC, "docs", "kernels.md")) as f:
    DOC_C = re.search(r"```c\n(.*?)```", f.read(), re.S).group(1)
DOC = build_so("above_doc", DOC_C.replace('.name = "above"', '.name = "above_doc"'))

# ---- 3. runs against independent references ---------------------------------------------------

rng = np.random.default_rng(20261201)
x = rng.standard_normal((1001, 37))
x.flat[rng.choice(x.size, 40, replace=False)] = np.nan
x.flat[rng.choice(x.size, 5, replace=False)] = np.inf
x.flat[rng.choice(x.size, 5, replace=False)] = -np.inf
x[17, 3] = 0.75  # exactly at the threshold
with h5py.File(h.path("x.h5"), "w") as f:
    f["data"] = x
    f["d4"] = np.ones((2, 3, 2, 2))  # only the built-in reduce reads these
    f["empty"] = np.ones((0, 3))


def above_job(threshold, strict, plugin=ABOVE, extra=None):
    return dh.job_text({
        "job": {"kernel": "above", "plugin": plugin, **(extra or {})},
        "input": {"source": "hdf5", "path": "x.h5", "dataset": "/data"},
        "above": {"threshold": threshold, "strict": strict},
        "output": {"report": "above.json", "overwrite": "true"},
        "run": {"threads": 1},
    })


def log_lines(seed, n):
    r = np.random.default_rng(seed)
    out = []
    for i in range(n):
        st = r.choice(["200", "200", "304", "404", "500", "301", "206"])
        size = "-" if r.random() < 0.2 else str(int(r.integers(0, 10**6)))
        kind = r.random()
        if kind < 0.02:
            out.append("not a log line at all")
        elif kind < 0.03:
            out.append(f'198.51.100.{i % 200} - - [01/Dec/2026:10:00:00 +0000] "GET /x" 2OO 12')
        elif kind < 0.04:
            out.append("")
        else:
            ua = '"Mozilla/5.0 (X11)"' if kind < 0.5 else '"-"'
            eol = "\r" if kind > 0.97 else ""
            out.append(f'198.51.100.{i % 200} - frank [01/Dec/2026:10:00:{i % 60:02d} +0000] '
                       f'"GET /page/{i}?q=x HTTP/1.1" {st} {size} "-" {ua}{eol}')
    return out


def status_reference(lines):
    """The documented rule, written independently: the 3 digits after the second '"' of the
    line and a space, then a space or the line's end; bytes: the digits after that space."""
    rows, records, good = {}, 0, 0
    for line in lines:
        if line == "":
            continue
        records += 1
        q1 = line.find('"')
        q2 = line.find('"', q1 + 1) if q1 >= 0 else -1
        m = re.match(r" (\d{3})(?: (\d*)|$)", line[q2 + 1:]) if q2 >= 0 else None
        if not m:
            continue
        good += 1
        req, byt = rows.get(m.group(1), (0, 0))
        rows[m.group(1)] = (req + 1, byt + int(m.group(2) or 0))
    return records, good, rows


logs = [log_lines(1, 3000), log_lines(2, 1777)]
for i, lines in enumerate(logs):
    h.write(f"logs/access.log.{i}", "\n".join(lines) + ("\n" if i == 0 else ""))
records, good, rows = status_reference(logs[0] + logs[1])
want_tsv = "status\trequests\tbytes\n" + "".join(
    f"{k}\t{v[0]}\t{v[1]}\n" for k, v in sorted(rows.items()))

status_job = dh.job_text({
    "job": {"kernel": "http_status", "plugin": STATUS},
    "input": {"source": "text", "path": "logs"},
    "output": {"path": "status.tsv", "format": "tsv", "report": "status.json",
               "overwrite": "true"},
    "run": {"threads": 2},
})
negate_job = dh.job_text({
    "job": {"kernel": "negate", "plugin": NEG},
    "input": {"source": "hdf5", "path": "x.h5", "dataset": "/data"},
    "output": {"path": "neg.h5", "dataset": "/y", "overwrite": "true"},
    "run": {"threads": 2},
})
h.guard_inputs([h.path("x.h5"), h.path("logs")])

for np_ in (1, 2, 3):
    for thr, strict in (("0.75", "true"), ("0.75", "false"), ("-1e300", "true")):
        t = float(thr)
        with np.errstate(invalid="ignore"):
            want = int(np.sum(x > t) if strict == "true" else np.sum(x >= t))
        h.write("above.ini", above_job(thr, strict))
        res = h.dproc("above.ini", np=np_)
        what = f"np {np_}: above threshold {thr} strict {strict}"
        if h.expect_ok(res, what):
            r = dh.load_json(h.path("above.json"))
            got = r.get("results", {}) if isinstance(r, dict) else {}
            h.check(got.get("above") == want and got.get("values") == x.size and
                    got.get("nan") == int(np.isnan(x).sum()) and
                    got.get("fraction") == want / x.size,
                    f"{what}: above {want}, values, nan, fraction as numpy's", got)

    for dset, why in (("/d4", "has 4 dimensions; kernel above reads arrays of 1 to 3 dimensions"),
                      ("/empty", "is empty (extent 0 along axis 0); kernel above needs values")):
        res = h.dproc(h.write("above_shape.ini", above_job("0.75", "true").replace(
            "dataset = /data", f"dataset = {dset}")), np=np_)
        h.check(res.rc == 1 and f"'x.h5:{dset}' {why}" in res.err,
                f"np {np_}: a plugin's REDUCE kernel refuses {dset} (exit 1, the reason)",
                res.describe())

    res = h.dproc(h.write("status.ini", status_job), np=np_)
    what = f"np {np_}: http_status over two logs"
    if h.expect_ok(res, what):
        with open(h.path("status.tsv")) as f:
            got_tsv = f.read()
        h.check(got_tsv == want_tsv, f"{what}: TSV equals the reference", got_tsv[:400])
        r = dh.load_json(h.path("status.json"))
        got = r.get("results", {}) if isinstance(r, dict) else {}
        h.check(got.get("records") == records and got.get("total") == good and
                got.get("bad_rows") == records - good and got.get("distinct") == len(rows),
                f"{what}: report records {records}, total {good}, bad_rows, distinct", got)

    h.write("doc.ini", above_job("0.75", "true", plugin=DOC).replace("kernel = above\n",
            "kernel = above_doc\n").replace("[above]", "[above_doc]").replace("strict = true\n", ""))
    res = h.dproc("doc.ini", np=np_)
    what = f"np {np_}: the plugin of docs/kernels.md"
    if h.expect_ok(res, what):
        r = dh.load_json(h.path("above.json"))
        got = r.get("results", {}) if isinstance(r, dict) else {}
        with np.errstate(invalid="ignore"):
            want = int(np.sum(x > 0.75))
        h.check(got == {"above": want}, f"{what}: above {want} as numpy's", got)

    h.write("neg16.ini", negate_job.replace("negate", "negate16"))
    res = h.dproc("neg16.ini", np=np_)
    what = f"np {np_}: a map plugin writing int16 (out_dtype)"
    if h.expect_ok(res, what):
        with h5py.File(h.path("neg.h5"), "r") as f:
            y = f["y"][()]
        with np.errstate(invalid="ignore"):
            want = np.clip(np.rint(-x), -32768, 32767)
        want[np.isnan(want)] = 0
        h.check(y.dtype == np.int16 and np.array_equal(y, want.astype(np.int16)),
                f"{what}: numpy's rint, clip, NaN to 0")

    res = h.dproc(h.write("negate.ini", negate_job), np=np_)
    what = f"np {np_}: negate (a map plugin built with pkg-config)"
    if h.expect_ok(res, what):
        with h5py.File(h.path("neg.h5"), "r") as f:
            y = f["y"][()]
        h.check(dh.same_bits(y, -x), f"{what}: output is -x to the bit")
h.check_inputs("plugin runs")
res = h.dproc(h.write("apiall.ini", negate_job.replace(f"plugin = {NEG}", f"plugin = {APIALL}")
                      .replace("kernel = negate", "kernel = apiall")), np=2)
h.expect_ok(res, "a plugin calling every function of <dproc/kernel.h> loads and runs")

# bare names on DPROC_PLUGIN_PATH, directories on it, --list-kernels, --help-job
env_dir = dict(h.env, DPROC_PLUGIN_PATH=f"{h.path('nowhere-else')}:{EX}")
os.makedirs(h.path("nowhere-else"))
h.write("bare.ini", above_job("0.75", "true", plugin="libdproc_threshold_count.so"))
res = h.run(["bare.ini"], np=2, env=env_dir)
h.expect_ok(res, "plugin named without '/' is found on DPROC_PLUGIN_PATH")
env_all = dict(h.env, DPROC_PLUGIN_PATH=EX)
h.write("bydir.ini", above_job("0.75", "true").replace(f"plugin = {ABOVE}\n", ""))
res = h.run(["bydir.ini"], np=2, env=env_all)
h.expect_ok(res, "kernels of a DPROC_PLUGIN_PATH directory need no [job] plugin")
res = h.run(["--list-kernels"], np=1, env=env_all)
listed = {l.split()[0]: l for l in res.out.splitlines() if l.strip()}
h.check(res.rc == 0 and "reduce" in listed and
        all(k in listed and f"[plugin {n}, {os.path.realpath(p)}]" in listed[k]
            for k, n, p in (("above", "threshold_count", ABOVE),
                            ("http_status", "http_status", STATUS))),
        "--list-kernels lists the built-ins and the plugins' kernels with their files",
        res.describe())
res = h.run(["--help-job"], mpi=False, env=env_all)
h.check(res.rc == 0 and "### [above]: kernel above" in res.out and "| `threshold` |" in res.out,
        "--help-job documents a plugin kernel's keys", res.out[-600:])

# ---- 4. bad plugins --------------------------------------------------------------------------

NO_SYMBOL = "int dp_something_else = 1;\n"
WRONG_API = NEGATE.replace(".api_version = DP_KERNEL_API_VERSION", ".api_version = 999")
UNDEFINED = NEGATE.replace("out->data[i] = -in->data[i];",
                           "out->data[i] = dp_not_a_function(in->data[i]);").replace(
    "#include <stddef.h>", "#include <stddef.h>\ndouble dp_not_a_function(double);")
INTERNAL = NEGATE.replace("out->data[i] = -in->data[i];", "out->data[i] = -in->data[i];\n"
                          "    dp_xmalloc(1);").replace(
    "#include <stddef.h>", "#include <stddef.h>\nvoid *dp_xmalloc(size_t);")
NO_COMBINE = NEGATE.replace(".kind = DP_KERNEL_MAP", ".kind = DP_KERNEL_REDUCE")
KV_NO_CREATE = NEGATE.replace(".kind = DP_KERNEL_MAP", ".kind = DP_KERNEL_KEYVALUE")
SECOND_BAD = NEGATE.replace("static const dp_kernel_t k =", """static const dp_kernel_t bad = {
    .name = "negate_bad", .summary = "no process", .kind = DP_KERNEL_MAP, .opts = opts,
};
static const dp_kernel_t k =""").replace("(const dp_kernel_t *const[]){&k, NULL}",
                                         "(const dp_kernel_t *const[]){&k, &bad, NULL}")
NO_RANGE = NEGATE.replace("static const dp_opt_t opts[] = {{0}};", """static const dp_opt_t opts[] = {
    {.key = "factor", .type = DP_OPT_REAL, .def = "1", .help = "h"},
    {0},
};""").replace(".process = negate,", ".process = negate, .config_size = sizeof(double),")
BAD_DEFAULT = NO_RANGE.replace('.def = "1", .help', '.def = "2", .min = 0, .max = 1, .help')
NO_ROOM = NEGATE.replace("static const dp_opt_t opts[] = {{0}};", """static const dp_opt_t opts[] = {
    {.key = "scale", .type = DP_OPT_REAL, .min = 0, .max = 1, .def = "1", .help = "h"},
    {0},
};""")
TAKEN = NEGATE.replace('.name = "negate", .summary', '.name = "reduce", .summary')
bad_sos = {
    "nosym": build_so("nosym", NO_SYMBOL),
    "api": build_so("api", WRONG_API),
    "undef": build_so("undef", UNDEFINED),
    "internal": build_so("internal", INTERNAL),
    "nocombine": build_so("nocombine", NO_COMBINE),
    "kvnocreate": build_so("kvnocreate", KV_NO_CREATE),
    "noroom": build_so("noroom", NO_ROOM),
    "secondbad": build_so("secondbad", SECOND_BAD),
    "norange": build_so("norange", NO_RANGE),
    "baddefault": build_so("baddefault", BAD_DEFAULT),
    "taken": build_so("taken", TAKEN),
}


def expect_refused(what, text, want, env=None, np_=None, line=True):
    h.write("bad.ini", text)
    res = h.run(["bad.ini"], np=np_, env=env)
    lines = [l for l in res.err.splitlines()  # every line of dproc's: no follow-on messages
             if l.startswith(("bad.ini", "DPROC_PLUGIN_PATH", "dproc:"))
             and not l.startswith("dproc: warning")]
    head = f"bad.ini:{dh.line_of(text, 'plugin =')}: [job] plugin: " if line else ""
    h.check(res.rc == 2 and not res.timed_out and len(lines) == 1 and
            lines[0].startswith(head) and re.search(want, lines[0]),
            f"{what}: exit 2, one line '{head}...' matching {want!r}", res.describe())


def negate_with(plugin):
    return negate_job.replace(f"plugin = {NEG}", f"plugin = {plugin}")


expect_refused("missing plugin file", negate_with(h.path("libnothere.so")),
               r"libnothere\.so: No such file or directory")
expect_refused("bare name found nowhere", negate_with("libnothere.so"),
               r"no such plugin in the directories of DPROC_PLUGIN_PATH")
expect_refused("no dproc_plugin symbol", negate_with(bad_sos["nosym"]),
               r"not a dproc plugin: it defines no 'dproc_plugin'")
expect_refused("another API version", negate_with(bad_sos["api"]),
               r"built for kernel API version 999, this dproc has version 1")
expect_refused("undefined symbol", negate_with(bad_sos["undef"]),
               r"cannot be loaded: .*undefined symbol: dp_not_a_function")
expect_refused("a plugin calling dproc's internals (not exported)",
               negate_with(bad_sos["internal"]),
               r"cannot be loaded: .*undefined symbol: dp_xmalloc")
expect_refused("key-value kernel without create", negate_with(bad_sos["kvnocreate"]),
               r"kernel 'negate' lacks create")
expect_refused("an option beyond config_size", negate_with(bad_sos["noroom"]),
               r"kernel 'negate': option 'scale' has no room in its configuration")
expect_refused("a good kernel beside a bad one: the plugin is refused whole, one message",
               negate_with(bad_sos["secondbad"]) + "\n[negate]\n",
               r"kernel 'negate_bad' lacks process$")
res = h.run(["--list-kernels"], np=1, env=dict(h.env, DPROC_PLUGIN_PATH=bad_sos["secondbad"]))
h.check(res.rc == 2 and "lacks process" in res.err and "negate" not in res.out and
        "reduce" in res.out, "--list-kernels: a plugin refused whole lists none of its kernels",
        res.describe())
expect_refused("a number option without a range", negate_with(bad_sos["norange"]),
               r"kernel 'negate': option 'factor' has no range: set min below max")
expect_refused("a default outside its own range", negate_with(bad_sos["baddefault"]),
               r"kernel 'negate': a default its option table refuses: .*factor: 2 is out of "
               r"range \(0 to 1\)")
expect_refused("a plugin kernel named without loading its plugin",
               negate_job.replace(f"plugin = {NEG}\n", ""),
               r"unknown kernel 'negate' .*a plugin's kernel needs \[job\] plugin or "
               r"DPROC_PLUGIN_PATH", line=False)
expect_refused("reduce kernel without its functions", negate_with(bad_sos["nocombine"]),
               r"kernel 'negate' lacks partial_size")
expect_refused("kernel name of a built-in", negate_with(bad_sos["taken"]),
               r"a kernel named 'reduce' exists already")
expect_refused("DPROC_PLUGIN_PATH entry that does not exist", negate_job,
               r"^DPROC_PLUGIN_PATH: .*/gone: No such file or directory",
               env=dict(h.env, DPROC_PLUGIN_PATH=h.path("gone")), line=False)
if h.np >= 2:
    expect_refused("plugin fails to load on rank 1 only", negate_job,
                   r"injected fault .*\(on rank 1, .*; rank 0 found no problem\)",
                   env=dict(h.env, DPROC_FAULT="plugin:1"))
    expect_refused("a DPROC_PLUGIN_PATH plugin fails to load on rank 1 only",
                   above_job("0.75", "true").replace(f"plugin = {ABOVE}\n", ""),
                   r"^DPROC_PLUGIN_PATH: .*injected fault .*\(on rank 1, .*; rank 0 found no "
                   r"problem\)", env=dict(h.env, DPROC_FAULT="plugin:1", DPROC_PLUGIN_PATH=EX),
                   line=False)
h.check_inputs("bad plugins")
h.check_no_leftovers("all runs")
h.finish()
