#!/usr/bin/python3
"""Integration test: bad data (issue 8 item 4). Inputs that are missing, of the wrong kind, of a
rank or shape the kernel cannot take, empty, of element types dproc does not read, truncated or
corrupted HDF5 files, files that are not HDF5 at all, raw files of the wrong size, directories
and named pipes. Each must end with a clear error and lose nothing:

- exit status 1 (a data problem found at run time) or 2 (a job setting that only the data show
  to be wrong, or an input missing when the job is read: the job-file form `JOB:LINE: [section]
  key: ...`), never a signal, within the time limit;
- exactly one dproc error line (printed once, by rank 0): `dproc: error: [rank R: ]MESSAGE`
  naming the file, the dataset (HDF5) and the reason; with several ranks the rank, once;
- nothing else alarming on stderr: no HDF5 error stack (HDF5-DIAG), no "Segmentation", "Abort",
  "MPI_ABORT", "core dumped", "signal", no Open MPI I/O component noise (mca_...);
- the inputs byte-identical afterwards (SHA-256), no new file but the report (status "failed",
  its error the message), no *.dproc-tmp* file, and a previous complete output at the output
  path (`overwrite = true`) byte-identical; where the failure comes after the output was
  created (a read error, nan = error) also a run without a previous output leaves none.

Then NaN, Inf and subnormal values: datasets mixing NaN (also with a payload and the sign bit
set), +-Inf, subnormals, -0.0 and normal values of very different magnitudes, float64 and
float32, reduced with ops count,sum,min,max,mean and nan = skip / propagate / error. The
results (HDF5 output and JSON report) against references computed here from docs/reduce.md's
policy: count of non-NaN values, math.fsum for the correctly rounded sum (Inf rules), min/max
of the non-NaN values, mean = sum / count; results.nan the NaN count; nan = propagate makes sum,
min, max and mean NaN when there is a NaN; nan = error fails (exit 1) naming the NaN count. Each
job also runs at 1 rank: every result is the same to the bit as at N ranks.

Needs at least 2 ranks (the rank named in messages)."""

import math
import os
import re
import struct
from fractions import Fraction

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("bad_data", __doc__)
NP = h.np
LAST = NP - 1
BOUND = min(60.0, h.args.timeout)  # seconds one failing run may take
NOISE = ("HDF5-DIAG", "Segmentation", "Abort", "MPI_ABORT", "core dumped", "signal", "mca_",
         "Traceback")

if NP < 2:
    h.check(False, "this test needs at least 2 ranks", f"np {NP}")
    h.finish()


# ---- inputs ----------------------------------------------------------------------------------

ROWS, COLS = 64, 32  # 8 chunks of 8 rows: the last chunk is read by the last rank at np 2..4
DATA = np.arange(ROWS * COLS, dtype=np.float64).reshape(ROWS, COLS) * 0.5 - 100.0


def make_hdf5(name, libver="earliest"):
    """A file with a contiguous and a gzip-chunked copy of DATA; returns the facts the damage
    cases need: the file bytes, the data offset of /cont, the object header addresses of /cont
    and /chunk, and the (offset, size) of each chunk of /chunk."""
    path = h.path(name)
    with h5py.File(path, "w", libver=libver) as f:
        f["/cont"] = DATA
        f.create_dataset("/chunk", data=DATA, chunks=(8, COLS), compression="gzip")
    with h5py.File(path, "r") as f:
        c = f["/chunk"].id
        facts = {
            "cont_data": f["/cont"].id.get_offset(),
            "cont_oh": h5py.h5o.get_info(f["/cont"].id).addr,
            "chunk_oh": h5py.h5o.get_info(c).addr,
            "chunks": [(c.get_chunk_info(i).byte_offset, c.get_chunk_info(i).size)
                       for i in range(c.get_num_chunks())],
        }
    with open(path, "rb") as f:
        facts["bytes"] = f.read()
    return facts


OLD = make_hdf5("base_v0.h5")  # h5py's default: superblock 0, object headers without checksums
NEW = make_hdf5("base_v3.h5", libver="latest")  # superblock 3, checksummed object headers
# The damage below is placed by superblock 0's layout: version at byte 8, end-of-file address
# at bytes 40..47, the root group's object header address at 64..71.
h.check(OLD["bytes"][8] == 0 and struct.unpack_from("<Q", OLD["bytes"], 40)[0] ==
        len(OLD["bytes"]) and NEW["bytes"][8] == 3,
        "the test files have the superblock versions (0 and 3) the damage cases assume",
        (OLD["bytes"][:48], NEW["bytes"][:16]))


def flipped(b, pos, mask=0xFF):
    b = bytearray(b)
    b[pos] ^= mask
    return bytes(b)


with h5py.File(h.path("kinds.h5"), "w") as f:
    f["/d1"] = np.arange(50.0)
    f["/d2"] = DATA
    f["/d4"] = np.zeros((2, 3, 2, 2))
    f["/z0"] = np.zeros((0,))
    f["/z05"] = np.zeros((0, 5))
    f["/z50"] = np.zeros((5, 0))
    f["/null"] = h5py.Empty("<f8")  # a null dataspace
    f["/scalar"] = 2.5
    f.create_dataset("/d32", data=np.ones((2,) + (1,) * 31), chunks=(1,) * 32)
    f.create_dataset("/huge_empty", shape=(0, 4, 2**61), maxshape=(None, 4, 2**61),
                     chunks=(1, 1, 1024), dtype="f8")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)  # chunks never written, no fill value
    dcpl.set_chunk((5, 4))
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    h5py.Dataset(h5py.h5d.create(f.id, b"/no_fill", h5py.h5t.IEEE_F64LE,
                                 h5py.h5s.create_simple((10, 4)), dcpl=dcpl))[0:5] = 1.0
    f.create_dataset("/vstr", data=["ab", "cde", "f"], dtype=h5py.string_dtype())
    f.create_dataset("/vlen", shape=(3,), dtype=h5py.vlen_dtype(np.float64))
    f["/fstr"] = np.array([b"ab", b"cd", b"ef"])
    f["/cmp"] = np.zeros(6, dtype=[("a", "<i4"), ("b", "<f8")])
    f["/cplx"] = np.arange(4, dtype=np.complex128)
    f.create_dataset("/enum", data=np.arange(3, dtype=np.int8),
                     dtype=h5py.enum_dtype({"APPLE": 0, "BANANA": 1, "CHERRY": 2}, basetype="i1"))
    # an enum of two values that is not h5py's bool (FALSE = 0, TRUE = 1)
    f.create_dataset("/yesno", data=np.array([0, 1, 1], dtype=np.int8),
                     dtype=h5py.enum_dtype({"NO": 0, "YES": 1}, basetype="i1"))
    f["/opaque"] = np.array([b"\x01\x02", b"\x03\x04"], dtype="V2")
    # a float of 2 bytes that is not IEEE half: bfloat16 (8 exponent bits, 7 mantissa bits)
    bf16 = h5py.h5t.IEEE_F32LE.copy()
    bf16.set_fields(15, 7, 8, 0, 7)
    bf16.set_size(2)
    bf16.set_ebias(127)
    space = h5py.h5s.create_simple((4,))
    h5py.h5d.create(f.id, b"/bf16", bf16, space).write(
        h5py.h5s.ALL, h5py.h5s.ALL, np.array([0x3F80, 0x4000, 0x4040, 0x4080], dtype=np.uint16),
        mtype=bf16)
    f.create_group("/grp/sub")
    f["/grp/x"] = np.arange(4.0)
    f["/dangling"] = h5py.SoftLink("/nowhere")
    f["/grp/named_type"] = np.dtype("<f8")
    # a bitfield dataset (h5py has no numpy type for it: made with the low-level API)
    space = h5py.h5s.create_simple((4,))
    h5py.h5d.create(f.id, b"/bits", h5py.h5t.STD_B8LE, space)
    # an array element type (each element 3 floats)
    h5py.h5d.create(f.id, b"/arr", h5py.h5t.array_create(h5py.h5t.IEEE_F64LE, (3,)), space)

ds = {}  # the damaged and foreign files: name -> bytes
o, n = OLD, NEW
ds["trunc_4.h5"] = o["bytes"][:4]  # inside the signature
ds["trunc_superblock.h5"] = o["bytes"][:40]  # inside the superblock
ds["trunc_metadata.h5"] = o["bytes"][:o["cont_oh"] + 20]  # inside /cont's object header
ds["trunc_contiguous.h5"] = o["bytes"][:o["cont_data"] + DATA.nbytes // 2]
last_chunk = o["chunks"][-1]
ds["trunc_chunk.h5"] = o["bytes"][:last_chunk[0] + last_chunk[1] // 2]
ds["trunc_last_byte.h5"] = o["bytes"][:-1]
ds["trunc_v3_metadata.h5"] = n["bytes"][:n["chunk_oh"] + 10]
# truncated in /cont's data, and the superblock's end-of-file address (superblock 0: bytes
# 40..47) patched to match: HDF5 opens it, the data lie beyond the end
cut = o["cont_data"] + DATA.nbytes // 2
b = bytearray(o["bytes"][:cut])
struct.pack_into("<Q", b, 40, cut)
ds["trunc_patched_eof.h5"] = bytes(b)
ds["flip_signature.h5"] = flipped(o["bytes"], 1)
ds["flip_sb_version.h5"] = flipped(o["bytes"], 8)
ds["flip_sb_eof.h5"] = flipped(o["bytes"], 41)  # the end-of-file address
ds["flip_sb_root.h5"] = flipped(o["bytes"], 64)  # the root group's object header address
ds["flip_v3_sb.h5"] = flipped(n["bytes"], 20)  # superblock 3: checksummed
for k, off in enumerate((0, 6, 30)):
    ds[f"flip_v3_oh_cont_{k}.h5"] = flipped(n["bytes"], n["cont_oh"] + off, 0x5A)
ds["flip_v3_oh_chunk.h5"] = flipped(n["bytes"], n["chunk_oh"] + 40, 0x5A)
ds["flip_gzip_last.h5"] = flipped(o["bytes"], last_chunk[0] + last_chunk[1] // 2)
ds["flip_gzip_first.h5"] = flipped(n["bytes"], n["chunks"][0][0] + n["chunks"][0][1] // 2)
ds["text.h5"] = "this is text, not HDF5\n" * 40
ds["random.h5"] = np.random.default_rng(4).integers(0, 256, 6000, dtype=np.uint8).tobytes()
ds["empty.h5"] = b""
for name, data in ds.items():
    h.write(name, data)

h.write("f64.raw", np.arange(10, dtype=np.float64).tobytes() + b"xyz")  # 83 bytes
h.write("i16.raw", np.arange(10, dtype=np.int16).tobytes() + b"q")  # 21 bytes
h.write("short.raw", np.arange(12, dtype=np.float32).tobytes())  # 48 bytes
h.write("empty.raw", b"")
os.makedirs(h.path("a_directory"))
h.write("a_directory/inside", "x")
os.mkfifo(h.path("pipe.h5"))  # guard_inputs would block reading it: not guarded

INPUT_FILES = h.guard_inputs([h.path(x) for x in ["base_v0.h5", "base_v3.h5", "kinds.h5",
                                                  "f64.raw", "i16.raw", "short.raw",
                                                  "empty.raw", "a_directory", *ds]])


# ---- running ---------------------------------------------------------------------------------

def remove(*names):
    for name in names:
        if os.path.lexists(h.path(name)):
            os.unlink(h.path(name))


def listing():
    found = set()
    for root, _, files in os.walk(h.dir):
        found |= {os.path.relpath(os.path.join(root, f), h.dir) for f in files}
    return found


def noise(err):
    return [l for l in err.splitlines() if any(w in l for w in NOISE)]


def jobfile(name, sections):
    text = dh.job_text(sections, comment=name)
    h.write(f"{name}.ini", text)
    return f"{name}.ini", text


# A previous complete output: a copy job's HDF5 file, put back before every failing run.
PREV_JOB, _ = jobfile("previous", [
    ("job", {"kernel": "copy"}), ("input", {"source": "hdf5", "path": "base_v0.h5",
                                            "dataset": "/cont"}),
    ("output", {"path": "out.h5", "overwrite": "true"}), ("run", {"threads": 1})])
res = h.dproc(PREV_JOB, opts=["-q"], timeout=BOUND)
if not h.check(res.rc == 0 and os.path.exists(h.path("out.h5")),
               "a good copy job makes the previous complete output", res.describe()):
    h.finish()
with h5py.File(h.path("out.h5"), "r") as f:
    h.check(dh.same_bits(f["/data"][()] if "/data" in f else np.zeros(0), DATA),
            "the previous output holds the input (it is a complete file)", list(f.keys()))
with open(h.path("out.h5"), "rb") as f:
    PREVIOUS = f.read()
PREVIOUS_SUM = dh.sha256(h.path("out.h5"))
remove("out.h5")
h.check_no_leftovers("the good copy job")


def bad_case(name, inp, want_rc, want_re, kernel="reduce", extra=(), job_form=None,
             rank=None, both=False, run=None):
    """Runs a job on bad input inp ([input] keys) that must fail. want_re must match the message
    (after `dproc: error: ` and the rank prefix); job_form=(section, key, needle) for exit-2
    messages in the form `JOB:LINE: [section] key: ...` (LINE where needle is); rank: the rank
    the message must name (default: any). both: run once with a previous output in place and
    once without (the failure comes after the output was created). run: more [run] keys."""
    job, text = jobfile(f"b_{name}", [
        ("job", {"kernel": kernel}), ("input", inp), *extra,
        ("output", {"path": "out.h5", "overwrite": "true", "report": "rep.json"}),
        ("run", {"threads": 1, **(run or {})})])
    for previous in ((True, False) if both else (True,)):
        what = name + ("" if not both else " (previous output)" if previous else " (no output)")
        remove("out.h5", "rep.json")
        if previous:
            h.write("out.h5", PREVIOUS)
        before = listing()
        res = h.dproc(job, opts=["-q"], timeout=BOUND)
        if res.timed_out:
            continue  # the harness has counted it as a failure
        h.check(res.rc == want_rc, f"{what}: exit status {want_rc}", res.describe())
        h.check(not noise(res.err), f"{what}: no crash, abort or HDF5 error stack on stderr",
                noise(res.err))
        if job_form:
            sec, key, needle = job_form
            head = f"{job}:{dh.line_of(text, needle)}: [{sec}] {key}: "
            mine = [l for l in res.err.splitlines() if l.startswith((job, "dproc:"))]
            mine = [l for l in mine if not l.startswith("dproc: warning:")]
            h.check(len(mine) == 1 and mine[0].startswith(head) and
                    re.search(want_re, mine[0][len(head):]),
                    f"{what}: exactly one line '{head}...' matching /{want_re}/", res.err[:3000])
        else:
            errs = [l for l in res.err.splitlines() if l.startswith("dproc: error:")]
            msg = errs[0][len("dproc: error: "):] if len(errs) == 1 else ""
            h.check(len(errs) == 1, f"{what}: exactly one 'dproc: error:' line", res.err[:3000])
            m = re.match(r"rank (\d+): ", msg)
            body = msg[m.end():] if m else msg
            h.check(m and not re.match(r"rank \d+: ", body),
                    f"{what}: the message names the rank, once", msg)
            if rank is not None:
                h.check(m and int(m.group(1)) == rank, f"{what}: the message names rank {rank}",
                        msg)
            h.check(re.search(want_re, body), f"{what}: message matches /{want_re}/", msg)
            rep = dh.load_json(h.path("rep.json"))
            h.check(isinstance(rep, dict) and rep.get("status") == "failed" and
                    rep.get("error") == msg,
                    f"{what}: the report says status failed with the message",
                    rep if not isinstance(rep, dict) else rep.get("error"))
        new = listing() - before - {"rep.json"}
        h.check(not new, f"{what}: no new file but the report", sorted(new))
        if previous:
            h.check(dh.sha256(h.path("out.h5")) == PREVIOUS_SUM if os.path.exists(
                h.path("out.h5")) else False,
                f"{what}: the previous complete output is still there, byte-identical")
        else:
            h.check(not os.path.exists(h.path("out.h5")), f"{what}: no output file")
        h.check_no_leftovers(what)
        h.check_inputs(what)
    remove("out.h5", "rep.json")


def hdf5(path, dataset):
    return {"source": "hdf5", "path": path, "dataset": dataset}


def raw(path, dtype, shape, **more):
    return {"source": "raw", "path": path, "dtype": dtype, "shape": shape, **more}


def q(text):
    return re.escape(text)


# ---- missing and wrong kinds of input ----------------------------------------------------------

bad_case("missing_input_file", hdf5("no_such.h5", "/d"), 2,
         "cannot read 'no_such.h5': No such file or directory",
         job_form=("input", "path", "no_such.h5"))
bad_case("missing_raw_file", raw("no_such.raw", "float64", "10"), 2,
         "cannot read 'no_such.raw': No such file or directory",
         job_form=("input", "path", "no_such.raw"))
bad_case("directory_as_hdf5_input", hdf5("a_directory", "/d"), 1,
         q("'a_directory'") + ".*is a directory")
bad_case("directory_as_raw_input", raw("a_directory", "float64", "10"), 1,
         q("'a_directory'") + ".*is a directory")
bad_case("named_pipe_as_input", hdf5("pipe.h5", "/d"), 1, q("'pipe.h5'") + ".*named pipe")
bad_case("named_pipe_as_raw_input", raw("pipe.h5", "float64", "10"), 1,
         q("'pipe.h5'") + ".*named pipe")

bad_case("missing_dataset", hdf5("kinds.h5", "/nope"), 1, q("'kinds.h5' has no dataset '/nope'"))
bad_case("missing_nested_dataset", hdf5("kinds.h5", "/grp/nope/deeper"), 1,
         q("'kinds.h5' has no dataset '/grp/nope/deeper'") + ".*" + q("'/grp/nope'"))
bad_case("dataset_under_a_dataset", hdf5("kinds.h5", "/d2/x"), 1,
         q("'kinds.h5' has no dataset '/d2/x'") + ".*" + q("'/d2' is not a group"))
bad_case("group_as_dataset", hdf5("kinds.h5", "/grp"), 1,
         q("'kinds.h5': '/grp' is a group, not a dataset"))
bad_case("root_group_as_dataset", hdf5("kinds.h5", "/"), 1,
         q("'kinds.h5': '/' is a group, not a dataset"))
bad_case("named_datatype_as_dataset", hdf5("kinds.h5", "/grp/named_type"), 1,
         q("'kinds.h5': '/grp/named_type' is a named datatype, not a dataset"))
bad_case("dangling_soft_link", hdf5("kinds.h5", "/dangling"), 1,
         q("'kinds.h5': '/dangling' is a link to an object that does not exist"))

# ---- rank and shape for the kernel -------------------------------------------------------------

TAPS_2D = "-1,0:0.25 1,0:0.25 0,-1:0.25 0,1:0.25"
bad_case("1d_data_for_2d_stencil", hdf5("kinds.h5", "/d1"), 2,
         "taps have 2 offsets each, but the data have 1 dimension", kernel="stencil",
         extra=[("stencil", {"taps": TAPS_2D, "iterations": 2})],
         job_form=("stencil", "taps", "taps ="))
# a scalar, more than 3 dimensions and an empty array are reduced (test_reduce_ops.py); other
# kernels refuse them, and reduce an axis the data lack
FOLDED_TAIL = q("reads arrays of 1 to 3 dimensions (kernel reduce reads any number)") + "$"
bad_case("4d_dataset_copy", hdf5("kinds.h5", "/d4"), 1,
         q("'kinds.h5:/d4' has 4 dimensions; kernel copy ") + FOLDED_TAIL, kernel="copy")
bad_case("4d_dataset_stencil", hdf5("kinds.h5", "/d4"), 1,
         q("'kinds.h5:/d4' has 4 dimensions; kernel stencil ") + FOLDED_TAIL, kernel="stencil",
         extra=[("stencil", {"preset": "heat", "alpha": 0.1, "iterations": 2})])
bad_case("4d_dataset_reduce_axis_4", hdf5("kinds.h5", "/d4"), 2,
         q("axis 4, but 'kinds.h5:/d4' has 4 dimensions (axes 0 to 3)"),
         extra=[("reduce", {"ops": "sum", "axis": 4})], job_form=("reduce", "axis", "axis ="))
bad_case("4d_dataset_axis_decomposition_3d", hdf5("kinds.h5", "/d4"), 2,
         q("3d needs an array of at least 3 dimensions; the data has 2 (the 4-D dataset is read "
           "as 2x12, its axes merged around axis 0)"),
         extra=[("reduce", {"ops": "sum", "axis": 0})], run={"decomposition": "3d"},
         job_form=("run", "decomposition", "decomposition ="))
bad_case("axis_the_data_lack", hdf5("kinds.h5", "/d2"), 2,
         "axis 2, but the data have 2 dimensions", extra=[("reduce", {"ops": "sum", "axis": 2})],
         job_form=("reduce", "axis", "axis ="))
EMPTY_TAIL = q("needs values (kernel reduce reads an empty array)") + "$"
bad_case("zero_size_1d", hdf5("kinds.h5", "/z0"), 1,
         q("'kinds.h5:/z0' is empty (extent 0 along axis 0); kernel copy ") + EMPTY_TAIL,
         kernel="copy")
bad_case("zero_size_0x5", hdf5("kinds.h5", "/z05"), 1,
         q("'kinds.h5:/z05' is empty (extent 0 along axis 0); kernel copy ") + EMPTY_TAIL,
         kernel="copy")
bad_case("zero_size_5x0", hdf5("kinds.h5", "/z50"), 1,
         q("'kinds.h5:/z50' is empty (extent 0 along axis 1); kernel stencil ") + EMPTY_TAIL,
         kernel="stencil", extra=[("stencil", {"preset": "heat", "alpha": 0.1, "iterations": 2})])
bad_case("chunked_32d", hdf5("kinds.h5", "/d32"), 1,
         q("'kinds.h5:/d32' is chunked and has 32 dimensions; HDF5 1.10 cannot read part of such "
           "a dataset (dproc reads chunked datasets of up to 31 dimensions)"))
bad_case("empty_with_huge_extents", hdf5("kinds.h5", "/huge_empty"), 1,
         q("'kinds.h5:/huge_empty': its extents are too large: their product overflows 64-bit "
           "byte counts"))
bad_case("unwritten_without_fill_value", hdf5("kinds.h5", "/no_fill"), 1,
         q("'kinds.h5:/no_fill': parts of the dataset were never written and it has no fill "
           "value (fill time never): their values are undefined"))
bad_case("null_dataspace", hdf5("kinds.h5", "/null"), 1,
         q("'kinds.h5:/null' is empty (a null dataspace: no values)"))
bad_case("scalar_dataset", hdf5("kinds.h5", "/scalar"), 1,
         q("'kinds.h5:/scalar' is a scalar (0 dimensions); kernel copy ") + FOLDED_TAIL,
         kernel="copy")
bad_case("scalar_dataset_reduce_axis", hdf5("kinds.h5", "/scalar"), 2,
         q("'kinds.h5:/scalar' is a scalar (0 dimensions): it has no axis to reduce along"),
         extra=[("reduce", {"ops": "sum", "axis": 0})], job_form=("reduce", "axis", "axis ="))

# ---- element types -----------------------------------------------------------------------------

TYPE_TAIL = q("; dproc reads integers of 1, 2, 4 or 8 bytes, floats of 2 (IEEE half), 4 or 8 "
              "bytes and bool (h5py's enum FALSE/TRUE)") + "$"
for dset, words in [("/vstr", "a variable-length string"),
                    ("/vlen", "a variable-length sequence"),
                    ("/fstr", "a fixed-length string of 2 bytes"),
                    ("/cmp", "a compound of 2 members (a, b)"),
                    ("/cplx", "a compound of 2 members (r, i)"),
                    ("/enum", "an enum of 3 values over 1-byte integers (APPLE, BANANA, CHERRY)"),
                    ("/yesno", "an enum of 2 values over 1-byte integers (NO, YES)"),
                    ("/opaque", "opaque data of 2 bytes"),
                    ("/bits", "a bitfield of 1 byte"),
                    ("/arr", "an array of 24 bytes per element"),
                    ("/bf16", "a float of 2 bytes")]:
    bad_case(f"type_{dset[1:]}", hdf5("kinds.h5", dset), 1,
             q(f"'kinds.h5:{dset}': element type is {words}") + TYPE_TAIL,
             kernel="map" if dset == "/cmp" else "reduce",
             extra=[("map", {"op": "sqrt"})] if dset == "/cmp" else ())

# ---- truncated, corrupted and foreign files ----------------------------------------------------

TRUNC = "the HDF5 file is (damaged or )?truncated"
DAMAGED = "the HDF5 file is damaged or truncated, HDF5 cannot open it "
for name, dset, want in [
        ("trunc_4.h5", "/cont", "not an HDF5 file"),
        ("trunc_superblock.h5", "/cont", TRUNC),
        ("trunc_metadata.h5", "/cont", TRUNC),
        ("trunc_contiguous.h5", "/cont", "the HDF5 file is truncated.*eof = "),
        ("trunc_chunk.h5", "/chunk", "the HDF5 file is truncated.*eof = "),
        ("trunc_last_byte.h5", "/chunk", "the HDF5 file is truncated.*eof = "),
        ("trunc_v3_metadata.h5", "/chunk", TRUNC),
        ("flip_signature.h5", "/cont", "not an HDF5 file"),
        ("flip_sb_version.h5", "/cont", DAMAGED + ".*superblock version"),
        ("flip_sb_eof.h5", "/cont", TRUNC),
        ("flip_sb_root.h5", "/chunk", DAMAGED),
        ("flip_v3_sb.h5", "/cont", DAMAGED + ".*checksum"),
        ("text.h5", "/cont", "not an HDF5 file"),
        ("random.h5", "/cont", "not an HDF5 file"),
        ("empty.h5", "/cont", "the file is empty")]:
    bad_case(name[:-3], hdf5(name, dset), 1, q(f"cannot read '{dset}' from '{name}': ") + want)

bad_case("trunc_patched_eof_contiguous", hdf5("trunc_patched_eof.h5", "/cont"), 1,
         q("'trunc_patched_eof.h5:/cont': the dataset's 16384 bytes at offset ") +
         r"\d+ lie beyond the end of the file")
bad_case("trunc_patched_eof_chunked", hdf5("trunc_patched_eof.h5", "/chunk"), 1,
         q("'trunc_patched_eof.h5:/chunk': ") + ".*damaged")
for k in range(3):
    bad_case(f"flip_v3_object_header_{k}", hdf5(f"flip_v3_oh_cont_{k}.h5", "/cont"), 1,
             q(f"'flip_v3_oh_cont_{k}.h5:/cont': ") + ".*damaged")
bad_case("flip_v3_object_header_chunked", hdf5("flip_v3_oh_chunk.h5", "/chunk"), 1,
         q("'flip_v3_oh_chunk.h5:/chunk': ") + ".*damaged.*checksum")
# A flipped byte in a gzip chunk: found when the chunk is read, by the rank that reads it (the
# last chunk: the last rank; the first: rank 0), after the output file was created.
bad_case("flip_gzip_chunk_last_rank", hdf5("flip_gzip_last.h5", "/chunk"), 1,
         q("reading 'flip_gzip_last.h5:/chunk' failed") + ".*inflate", rank=LAST, both=True)
bad_case("flip_gzip_chunk_rank0_copy", hdf5("flip_gzip_first.h5", "/chunk"), 1,
         q("reading 'flip_gzip_first.h5:/chunk' failed") + ".*inflate", rank=0, kernel="copy")
bad_case("flip_gzip_chunk_stencil", hdf5("flip_gzip_last.h5", "/chunk"), 1,
         q("reading 'flip_gzip_last.h5:/chunk' failed") + ".*inflate", rank=LAST,
         kernel="stencil", extra=[("stencil", {"preset": "heat", "alpha": 0.1,
                                               "iterations": 2})])
# The same files read where they are intact give the data (the damage is where it was meant).
for name, dset in (("flip_gzip_last.h5", "/cont"), ("flip_v3_oh_chunk.h5", "/cont")):
    job, _ = jobfile(f"intact_{name[:-3]}", [
        ("job", {"kernel": "reduce"}), ("input", hdf5(name, dset)),
        ("reduce", {"ops": "count,sum"}), ("output", {"report": "intact.json"}),
        ("run", {"threads": 1})])
    res = h.dproc(job, opts=["-q"], timeout=BOUND)
    rep = dh.load_json(h.path("intact.json"))
    got = rep.get("results", {}) if isinstance(rep, dict) else {}
    h.check(res.rc == 0 and got.get("count") == DATA.size and
            got.get("sum") == math.fsum(DATA.ravel().tolist()),
            f"{name}:{dset} (undamaged part): exit 0, count and sum of the data", res.describe())
    remove("intact.json")

# ---- raw files of the wrong size ---------------------------------------------------------------

bad_case("raw_not_a_multiple", raw("f64.raw", "float64", "10"), 1,
         q("raw input 'f64.raw' has 83 bytes, but offset 0 + 10 float64 values of 8 bytes need 80 "
           "(the 83 bytes after the offset are not a whole number of 8-byte values)"))
bad_case("raw_not_a_multiple_int16", raw("i16.raw", "int16", "2,5"), 1,
         q("raw input 'i16.raw' has 21 bytes") + ".*need 20.*not a whole number of 2-byte")
bad_case("raw_shorter_than_shape", raw("short.raw", "float32", "4,4"), 1,
         q("raw input 'short.raw' has 48 bytes, but offset 0 + 4x4 float32 values of 4 bytes "
           "need 64") + "$")
bad_case("raw_offset_past_data", raw("short.raw", "float32", "12", offset=4), 1,
         q("raw input 'short.raw' has 48 bytes, but offset 4 + 12 float32 values") +
         ".*need 52")
bad_case("raw_empty_file", raw("empty.raw", "float64", "10"), 1,
         q("raw input 'empty.raw' has 0 bytes") + ".*need 80")


# ---- NaN, Inf and subnormal values ---------------------------------------------------------------

def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


SHAPE = (37, 11)  # rows split unevenly: NaN and Inf values fall in different ranks' blocks
rng = np.random.default_rng(88)
base = rng.standard_normal(SHAPE) * np.exp(rng.uniform(-30, 30, SHAPE))
base[1, 2], base[30, 9] = 1e300, -1e300  # cancel exactly
base[2, 3], base[35, 1] = 1e16, 3.0
base[3, 0], base[36, 10] = -0.0, 0.0
subn = [5e-324, -5e-324, 2.5e-310, -1.1125369292536007e-308, 4.9e-322, 1e-315]
for k, v in enumerate(subn):
    base[4 + 5 * k, k] = v
NANS = [(0, 0), (12, 4), (20, 10), (36, 5), (9, 9)]
nan_kinds = [math.nan, f64(0xFFF8000000000000), f64(0x7FF0000000000001),
             f64(0x7FF8DEADBEEF0001), -math.nan]
finite = base.copy()
for (i, j), v in zip(NANS, nan_kinds):
    finite[i, j] = v
plus_inf = finite.copy()
plus_inf[17, 7] = math.inf
both_inf = plus_inf.copy()
both_inf[25, 2] = -math.inf
no_nan = base.copy()
no_nan[33, 3] = -math.inf
all_nan = np.full((5, 3), math.nan)
f32 = rng.standard_normal(SHAPE).astype(np.float32)
f32[0, 1], f32[19, 0], f32[36, 10] = np.nan, np.inf, np.float32(1e-45)
f32[8, 8], f32[27, 4] = np.float32(-3e-39), np.nan
NAN_SETS = {"finite": finite, "plus_inf": plus_inf, "both_inf": both_inf, "no_nan": no_nan,
            "all_nan": all_nan, "f32": f32}
with h5py.File(h.path("nan.h5"), "w") as f:
    for k, v in NAN_SETS.items():
        f[f"/{k}"] = v
with h5py.File(h.path("nan.h5"), "r") as f:  # what is in the file, as float64
    STORED = {k: f[f"/{k}"][()].astype(np.float64) for k in NAN_SETS}
h.check(int(np.isnan(STORED["finite"]).sum()) == len(NANS) and
        sum(1 for v in STORED["finite"].ravel() if v != 0 and abs(v) < 2.2250738585072014e-308)
        == len(subn), "the NaN test data hold the NaN and subnormal values meant")
NAN_INPUTS = h.guard_inputs([h.path("nan.h5")])


def reference(x, policy):
    """count, nan, sum, min, max and the allowed means of x under the policy (docs/reduce.md).
    None for policy error with NaN present."""
    v = x.ravel()
    nan = int(np.isnan(v).sum())
    if policy == "error" and nan:
        return None
    w = v[~np.isnan(v)]
    count = int(w.size)
    ref = {"count": count, "nan": nan}
    if count == 0:
        ref.update(sum=0.0, min=math.nan, max=math.nan, mean=[math.nan])
    else:
        pinf, ninf = bool(np.isposinf(w).any()), bool(np.isneginf(w).any())
        if pinf or ninf:
            s = math.nan if pinf and ninf else math.inf if pinf else -math.inf
            means = [s]
        else:
            s = math.fsum(w.tolist())
            exact = sum((Fraction(t) for t in w.tolist()), Fraction(0))
            means = [float(exact / count), s / count]  # from the exact sum, or from its rounding
        ref.update(sum=s, min=float(w.min()), max=float(w.max()), mean=means)
    if policy == "propagate" and nan:
        ref.update(sum=math.nan, min=math.nan, max=math.nan, mean=[math.nan])
    return ref


def same(a, b):
    """Equal as numbers, NaN equal to NaN, -0.0 and 0.0 told apart only for zeros expected."""
    a, b = float(a), float(b)
    if math.isnan(b):
        return math.isnan(a)
    return a == b and (b != 0 or math.copysign(1, a) == math.copysign(1, b))


def results_of(json_name, h5_name):
    """The results group of the HDF5 output as {name: float} and the report's results."""
    rep = dh.load_json(h.path(json_name))
    jres = rep.get("results", {}) if isinstance(rep, dict) else {}
    hres = {}
    if os.path.exists(h.path(h5_name)):
        with h5py.File(h.path(h5_name), "r") as f:
            got = dh.h5_datasets(f, "/results") or {}
        hres = {k: float(np.asarray(v).ravel()[0]) for k, v in got.items()
                if np.asarray(v).size == 1}
    return jres, hres


OPS = ["count", "sum", "min", "max", "mean"]
for dset, x in STORED.items():
    for policy in ("skip", "propagate", "error"):
        what = f"nan = {policy}, /{dset}"
        ref = reference(x, policy)
        runs = {}
        for np_ in (NP, 1):
            name = f"nan_{dset}_{policy}_np{np_}"
            job, _ = jobfile(name, [
                ("job", {"kernel": "reduce"}), ("input", hdf5("nan.h5", f"/{dset}")),
                ("reduce", {"ops": ",".join(OPS), "nan": policy}),
                ("output", {"path": f"{name}.h5", "report": f"{name}.json"}),
                ("run", {"threads": 1})])
            res = h.dproc(job, opts=["-q"], np=np_, timeout=BOUND)
            runs[np_] = (res, name)
            w = f"{what} at {np_} rank{'s' if np_ > 1 else ''}"
            h.check(not noise(res.err), f"{w}: nothing alarming on stderr", noise(res.err))
            if ref is None:
                n_nan = int(np.isnan(x).sum())
                h.check(res.rc == 1, f"{w}: exit status 1", res.describe())
                errs = [l for l in res.err.splitlines() if l.startswith("dproc: error:")]
                h.check(len(errs) == 1 and re.search(rf"\b{n_nan} NaN values?\b", errs[0]),
                        f"{w}: one error line naming the {n_nan} NaN values", res.err[:2000])
                h.check(len(errs) == 1 and "nan.h5" in errs[0] and f"/{dset}" in errs[0],
                        f"{w}: the message names the file and dataset", errs)
                h.check(not os.path.exists(h.path(f"{name}.h5")), f"{w}: no output file")
                h.check_no_leftovers(w)
                continue
            if not h.expect_ok(res, w):
                continue
            jres, hres = results_of(f"{name}.json", f"{name}.h5")
            for k in ("count", "nan"):
                h.check(jres.get(k) == ref[k] and hres.get(k) == ref[k],
                        f"{w}: {k} = {ref[k]} (report and HDF5)",
                        f"report {jres.get(k)}, HDF5 {hres.get(k)}")
            for k in ("sum", "min", "max", "mean"):
                wants = ref[k] if k == "mean" else [ref[k]]
                hv = hres.get(k)
                h.check(hv is not None and any(same(hv, t) for t in wants),
                        f"{w}: HDF5 {k} = {wants[0]!r}", f"got {hv!r}, allowed {wants}")
                jv = jres.get(k, "missing")
                if math.isfinite(wants[0]):
                    ok = jv is not None and jv != "missing" and any(same(jv, t) for t in wants)
                else:
                    ok = jv == dh.json_nonfinite(wants[0])
                h.check(ok, f"{w}: report {k} = {wants[0]!r} (null for NaN, strings for Inf)",
                        f"got {jv!r}")
        if ref is not None and all(r.rc == 0 for r, _ in runs.values()):
            a = results_of(runs[NP][1] + ".json", runs[NP][1] + ".h5")[1]
            b = results_of(runs[1][1] + ".json", runs[1][1] + ".h5")[1]
            bits = lambda d: {k: struct.pack("<d", v) for k, v in d.items()}
            h.check(a and bits(a) == bits(b),
                    f"{what}: every result the same to the bit at {NP} ranks and at 1",
                    f"{a} vs {b}")
        for r, name in runs.values():
            remove(f"{name}.h5", f"{name}.json")
h.check_inputs("the NaN jobs", NAN_INPUTS)

# nan = error with a previous output in place: it stays, byte-identical.
job, _ = jobfile("nan_error_previous", [
    ("job", {"kernel": "reduce"}), ("input", hdf5("nan.h5", "/plus_inf")),
    ("reduce", {"nan": "error"}),
    ("output", {"path": "out.h5", "overwrite": "true", "report": "rep.json"}),
    ("run", {"threads": 1})])
h.write("out.h5", PREVIOUS)
res = h.dproc(job, opts=["-q"], timeout=BOUND)
h.check(res.rc == 1, "nan = error, previous output: exit status 1", res.describe())
h.check(dh.sha256(h.path("out.h5")) == PREVIOUS_SUM,
        "nan = error: the previous complete output is still there, byte-identical")
rep = dh.load_json(h.path("rep.json"))
h.check(isinstance(rep, dict) and rep.get("status") == "failed",
        "nan = error: the report says status failed", rep)
h.check_no_leftovers("nan = error, previous output")
remove("out.h5", "rep.json")

h.check_inputs("all runs", INPUT_FILES)
h.finish()
