#!/usr/bin/python3
"""Integration test: kernel stencil on random float64 HDF5 input against an independent numpy
reference (np.pad with mode constant / wrap / edge, then shifted slices summed in the documented
order acc = w0*x0; acc = acc + w1*x1; ...), compared to the bit: 1-D, 2-D and 3-D; every preset
(jacobi, heat, laplacian, blur3, star, box) and custom asymmetric taps with repeated offsets;
every boundary (dirichlet with a non-zero boundary_value); shapes no rank count divides evenly
and extents smaller than the reach on an axis with one rank. The same bits at 1 to 4 ranks,
1 or 2 threads, every decomposition, overlap on or off and halo_depth 1 to 4 (a deep halo as wide
as the thinnest block is allowed). Convergence: tolerance with check_every stops at the first
multiple of check_every whose largest change is below the tolerance; iterations_done and
residual in the report equal the reference's. Checkpoints: the field and dproc_iteration of
every checkpoint_every iterations (not the last), replaced without a temporary file left;
--restart at another rank count (the input file replaced by other values) gives the
uninterrupted run's bits, also after the launcher was killed with SIGKILL. Refusals: exit 2
with one `JOB:LINE: [stencil] key:` message and no output (taps and preset, neither, bad taps,
taps of another dimension, a halo wider than a block, checkpoint_every without
checkpoint_path, --restart from another stencil's checkpoint); --restart without a
checkpoint: exit 1. This test loops over the rank counts itself; --np is the largest count it
uses (at least 4)."""

import itertools
import math
import os
import re
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np

import dp_harness as dh

h = dh.Harness("stencil", __doc__)
MAX_NP = max(h.np, 4)
rng = np.random.default_rng(20240611)
PAD_MODE = {"dirichlet": "constant", "periodic": "wrap", "neumann": "edge"}


def np_of(n):
    """A rank count from 1..MAX_NP (the cases name counts up to 4)."""
    return min(n, MAX_NP)


# ---- the reference ---------------------------------------------------------------------------


def preset_taps(preset, d, alpha=0.1, radius=1):
    """[(offsets, weight)] of a preset for d dimensions, in the documented order."""
    zero = (0,) * d

    def unit(axis, j):
        o = [0] * d
        o[axis] = j
        return tuple(o)

    faces = [unit(a, s) for a in range(d) for s in (-1, 1)]
    if preset == "jacobi":
        return [(o, 1.0 / (2 * d)) for o in faces]
    if preset == "heat":
        return [(zero, 1.0 - 2 * d * alpha)] + [(o, alpha) for o in faces]
    if preset == "laplacian":
        return [(zero, float(-2 * d))] + [(o, 1.0) for o in faces]
    if preset == "blur3":
        w1 = (0.25, 0.5, 0.25)
        return [(o, math.prod(w1[x + 1] for x in o))
                for o in itertools.product((-1, 0, 1), repeat=d)]
    if preset == "star":
        taps = []
        for a in range(d):
            for j in range(1, radius + 1):
                taps.append((unit(a, -j), -1.0 / (2 * j * radius)))
                taps.append((unit(a, j), 1.0 / (2 * j * radius)))
        return taps
    if preset == "box":
        taps = []
        for o in itertools.product(range(-radius, radius + 1), repeat=d):
            w = 1.0
            for _ in range(d):
                w *= 1.0 / (2 * radius + 1)
            taps.append((o, w))
        return taps
    raise ValueError(preset)


def parse_taps(text):
    """The taps text as written in the job: 'o0,o1:w o0,o1:w ...'."""
    taps = []
    for t in text.split():
        offs, w = t.split(":")
        taps.append((tuple(int(x) for x in offs.split(",")), float(w)))
    return taps


def taps_of(keys, d):
    if "taps" in keys:
        return parse_taps(keys["taps"])
    return preset_taps(keys["preset"], d, float(keys.get("alpha", 0.1)),
                       int(keys.get("radius", 1)))


def apply(u, taps, boundary, bval):
    """One application: np.pad by the reach of each axis, then the shifted slices summed in
    the order of the taps (acc = w0*x0, then acc = acc + w*x)."""
    d = u.ndim
    reach = [max(abs(o[a]) for o, _ in taps) for a in range(d)]
    kw = {"constant_values": bval} if boundary == "dirichlet" else {}
    p = np.pad(u, [(r, r) for r in reach], mode=PAD_MODE[boundary], **kw)
    acc = None
    for off, w in taps:
        sl = tuple(slice(reach[a] + off[a], reach[a] + off[a] + u.shape[a]) for a in range(d))
        term = np.float64(w) * p[sl]
        acc = term if acc is None else acc + term
    return acc


def rounding_scale(u, taps, boundary, bval):
    """sum over taps of |w| * |x|: the size the rounding errors of one application scale with."""
    return apply(np.abs(u), [(o, abs(w)) for o, w in taps], boundary, abs(bval))


class Reference:
    """The iterates u_0, u_1, ... and residuals r_n = max |u_n - u_{n-1}|, computed on demand."""

    def __init__(self, u0, keys):
        self.taps = taps_of(keys, u0.ndim)
        self.boundary = keys.get("boundary", "dirichlet")
        self.bval = float(keys.get("boundary_value", 0.0))
        self.u = [u0]
        self.r = [None]

    def at(self, n):
        while len(self.u) <= n:
            new = apply(self.u[-1], self.taps, self.boundary, self.bval)
            self.r.append(float(np.max(np.abs(new - self.u[-1]))))
            self.u.append(new)
        return self.u[n]

    def residual(self, n):
        self.at(n)
        return self.r[n]

    def stop(self, iterations, tolerance=0.0, check_every=10):
        """The iteration the run ends after: the first multiple of check_every whose residual
        is below tolerance, else iterations."""
        if tolerance > 0:
            for n in range(check_every, iterations + 1, check_every):
                if self.residual(n) < tolerance:
                    return n
        return iterations


# ---- running dproc ---------------------------------------------------------------------------


def write_input(name, data):
    with h5py.File(h.path(name), "w") as f:
        f.create_dataset("/x", data=data)
    return name


def random_field(shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def make_job(name, in_name, stencil, run=None):
    """A job file name.ini: HDF5 input in_name:/x, output name.h5:/field, report name.json."""
    sections = [("job", {"name": name, "kernel": "stencil"}),
                ("input", {"source": "hdf5", "path": in_name, "dataset": "/x"}),
                ("output", {"path": f"{name}.h5", "dataset": "/field",
                            "report": f"{name}.json"}),
                ("stencil", stencil),
                ("run", {"threads": 1, **(run or {})})]
    text = dh.job_text(sections, comment=name)
    return h.write(f"{name}.ini", text), text


def remove(*names):
    for n in names:
        if os.path.lexists(h.path(n)):
            os.unlink(h.path(n))


def read_field(path, dataset="/field"):
    with h5py.File(path, "r") as f:
        d = f.get(dataset)
        return d[()] if isinstance(d, h5py.Dataset) else None


def run_job(what, job, np_, out, report, sets=(), opts=()):
    """Runs a job that must succeed; returns (field, report dict) or None."""
    remove(out, report)
    res = h.dproc(job, sets=list(sets), opts=list(opts), np=np_)
    h.check_no_leftovers(what)
    if not h.expect_ok(res, what):
        return None
    field = read_field(h.path(out)) if os.path.exists(h.path(out)) else None
    if not h.check(field is not None, f"{what}: output {out} has dataset /field"):
        return None
    rep = dh.load_json(h.path(report))
    h.check(isinstance(rep, dict) and rep.get("status") == "ok",
            f"{what}: report status ok", rep)
    return field, rep if isinstance(rep, dict) else {}


def check_against(what, got, rep, ref, n, shape=None):
    """The field is u_n of the reference to the bit; the report says iterations_done n and
    residual r_n."""
    want = ref.at(n)
    ok = dh.same_bits(got, want)
    detail = dh.bits_mismatch(got, want)
    if not ok and got.shape == want.shape:
        # not the documented evaluation order: say whether it is at least a rounding away
        prev = ref.at(n - 1) if n > 0 else want
        scale = np.max(rounding_scale(prev, ref.taps, ref.boundary, ref.bval)) if n else 0.0
        close = np.allclose(got, want, rtol=1e-12, atol=1e-12 * max(scale, 1e-300))
        detail += (f"; within the rounding bound (rtol 1e-12, atol 1e-12 * {scale:.3g}): "
                   f"{close}; largest difference {np.max(np.abs(got - want)):.3g}")
    h.check(ok, f"{what}: field == numpy reference after {n} iterations, to the bit", detail)
    res = rep.get("results", {}) if isinstance(rep.get("results"), dict) else {}
    h.check(res.get("iterations_done") == n, f"{what}: report iterations_done == {n}",
            res.get("iterations_done"))
    if n > 0:
        r = ref.residual(n)
        h.check(res.get("residual") is not None and float(res["residual"]) == r,
                f"{what}: report residual == max|u_{n} - u_{n - 1}| == {r!r}",
                res.get("residual"))
    if shape is not None:
        h.check(rep.get("shape") == list(shape), f"{what}: report shape {list(shape)}",
                rep.get("shape"))


def case(name, data, stencil, np_, run=None, sets=(), n=None):
    """One stencil job on data at np_ ranks, checked against the reference. Returns the field."""
    write_input(f"{name}_in.h5", data)
    job, _ = make_job(name, f"{name}_in.h5", stencil, run)
    got = run_job(name, job, np_, f"{name}.h5", f"{name}.json", sets)
    if got is None:
        return None
    ref = Reference(data, stencil)
    iters = int(stencil.get("iterations", 1))
    if n is None:
        n = ref.stop(iters, float(stencil.get("tolerance", 0)),
                     int(stencil.get("check_every", 10)))
    check_against(name, got[0], got[1], ref, n, data.shape)
    return got[0]


# ---- every preset, dimension and boundary ----------------------------------------------------
# (name, shape, stencil keys, ranks, run keys); the shapes leave every block at least as thick as
# the reach for any decomposition auto may choose.

CASES = [
    ("1d_jacobi_dirichlet", (23,), {"preset": "jacobi", "boundary": "dirichlet",
                                    "boundary_value": 0.5, "iterations": 4}, 3, {}),
    ("2d_jacobi_periodic", (13, 11), {"preset": "jacobi", "boundary": "periodic",
                                      "iterations": 3}, 4, {}),
    ("3d_jacobi_neumann", (7, 6, 5), {"preset": "jacobi", "boundary": "neumann",
                                      "iterations": 2}, 2, {}),
    ("1d_heat_neumann", (29,), {"preset": "heat", "boundary": "neumann", "iterations": 5}, 4,
     {}),
    ("2d_heat_dirichlet", (11, 9), {"preset": "heat", "alpha": 0.2, "boundary": "dirichlet",
                                    "boundary_value": -1.25, "iterations": 4}, 3, {}),
    ("3d_heat_periodic", (6, 7, 5), {"preset": "heat", "alpha": 0.15, "boundary": "periodic",
                                     "iterations": 2}, 4, {}),
    ("1d_laplacian_periodic", (17,), {"preset": "laplacian", "boundary": "periodic",
                                      "iterations": 2}, 2, {"threads": 2}),
    ("2d_laplacian_dirichlet", (10, 7), {"preset": "laplacian", "boundary": "dirichlet",
                                         "boundary_value": 2.0, "iterations": 2}, 1,
     {"threads": 2}),
    ("3d_laplacian_neumann", (5, 8, 6), {"preset": "laplacian", "boundary": "neumann",
                                         "iterations": 2}, 3, {}),
    ("1d_blur3_dirichlet", (19,), {"preset": "blur3", "boundary_value": 0.75,
                                   "iterations": 3}, 4, {}),
    ("2d_blur3_neumann", (12, 9), {"preset": "blur3", "boundary": "neumann",
                                   "iterations": 3}, 2, {}),
    ("3d_blur3_periodic", (6, 5, 8), {"preset": "blur3", "boundary": "periodic",
                                      "iterations": 2}, 4, {"decomposition": "3d"}),
    ("1d_star4_periodic", (31,), {"preset": "star", "radius": 4, "boundary": "periodic",
                                  "iterations": 3}, 3, {}),
    ("2d_star2_dirichlet", (13, 17), {"preset": "star", "radius": 2, "boundary": "dirichlet",
                                      "boundary_value": 1.5, "iterations": 3}, 4, {}),
    ("3d_star3_neumann", (8, 7, 9), {"preset": "star", "radius": 3, "boundary": "neumann",
                                     "iterations": 2}, 2, {}),
    ("2d_star_periodic", (9, 10), {"preset": "star", "boundary": "periodic",
                                   "iterations": 2}, 1, {}),
    ("1d_box2_neumann", (21,), {"preset": "box", "radius": 2, "boundary": "neumann",
                                "iterations": 3}, 2, {}),
    ("2d_box3_periodic", (14, 13), {"preset": "box", "radius": 3, "boundary": "periodic",
                                    "iterations": 2}, 4, {}),
    ("3d_box_dirichlet", (5, 6, 7), {"preset": "box", "boundary": "dirichlet",
                                     "boundary_value": -0.5, "iterations": 2}, 3, {}),
    ("2d_box4_dirichlet", (9, 11), {"preset": "box", "radius": 4, "boundary": "dirichlet",
                                    "boundary_value": 0.25, "iterations": 2}, 1, {"threads": 2}),
    # extents below the reach on an axis that only one rank holds
    ("2d_star3_thin_axis_dirichlet", (20, 2), {"preset": "star", "radius": 3,
                                                "boundary_value": 0.3, "iterations": 3}, 2,
     {"decomposition": "1d"}),
    ("3d_box2_thin_axis_neumann", (12, 1, 3), {"preset": "box", "radius": 2,
                                                "boundary": "neumann", "iterations": 2}, 3,
     {"decomposition": "1d"}),
    ("1d_star4_3_points_dirichlet", (3,), {"preset": "star", "radius": 4,
                                           "boundary_value": -2.0, "iterations": 2}, 1, {}),
    ("2d_box3_2x3_neumann", (2, 3), {"preset": "box", "radius": 3, "boundary": "neumann",
                                     "iterations": 2}, 1, {}),
    # custom taps: asymmetric, offsets repeated (the order of the sum matters to the bits)
    ("1d_custom_dirichlet", (25,), {"taps": "0:1 3:-0.5 -1:0.25 3:0.25 -4:0.1",
                                    "boundary_value": 1.0, "iterations": 3}, 3, {}),
    ("2d_custom_neumann", (15, 14),
     {"taps": "1,0:0.3 0,0:0.5 1,0:-0.125 -2,1:0.2 0,-3:0.07 1,0:0.1 0,0:-0.0625 "
              "-1,-1:0.3333333333333333 0,2:-1e-3",
      "boundary": "neumann", "iterations": 3}, 4, {}),
    ("3d_custom_periodic", (8, 9, 10),
     {"taps": "0,0,0:0.4 1,-1,0:0.2 0,0,2:0.1 0,0,2:0.15 -1,0,0:0.15 0,1,-1:2.5e-1",
      "boundary": "periodic", "iterations": 2}, 2, {}),
]

for name, shape, stencil, np_, run in CASES:
    case(name, random_field(shape), stencil, np_of(np_), run)

# iterations = 0: the input unchanged
case("2d_jacobi_0_iterations", random_field((7, 5)), {"preset": "jacobi", "iterations": 0},
     np_of(2))

# ---- the same bits at every layout -----------------------------------------------------------


def layout_family(family, data, stencil, layouts):
    """Runs one job at every (ranks, threads, extra run keys); each result is the reference's
    to the bit and identical to the first."""
    write_input(f"{family}_in.h5", data)
    job, _ = make_job(family, f"{family}_in.h5", stencil)
    ref = Reference(data, stencil)
    n = ref.stop(int(stencil["iterations"]))
    first = None
    for np_, threads, extra in layouts:
        sets = [f"run.threads={threads}"] + [f"{k}={v}" for k, v in extra.items()]
        what = f"{family} np {np_} threads {threads} {' '.join(sets[1:])}".rstrip()
        got = run_job(what, job, np_of(np_), f"{family}.h5", f"{family}.json", sets)
        if got is None:
            continue
        check_against(what, got[0], got[1], ref, n)
        if first is None:
            first = (what, got[0])
        else:
            h.check(dh.same_bits(got[0], first[1]), f"{what}: identical bits to {first[0]}",
                    dh.bits_mismatch(got[0], first[1]))


layout_family("layout_3d_heat_neumann", random_field((9, 8, 7)),
              {"preset": "heat", "alpha": 0.12, "boundary": "neumann", "iterations": 3},
              [(n, t, {}) for n in range(1, MAX_NP + 1) for t in (1, 2)] +
              [(4, 1, {"run.decomposition": d}) for d in ("1d", "2d", "3d")] +
              [(3, 1, {"run.overlap": "false"}), (4, 2, {"run.overlap": "false"})])

# deep halos: 7 iterations, not a multiple of halo_depth; 26/4 rows at halo_depth 3 and reach 2
# give blocks exactly as thick as the halo
layout_family("layout_2d_box2_periodic_deep_halo", random_field((26, 25)),
              {"preset": "box", "radius": 2, "boundary": "periodic", "iterations": 7},
              [(4, 1, {}),
               (4, 1, {"stencil.halo_depth": 2}),
               (4, 1, {"stencil.halo_depth": 2, "stencil.temporal_blocking": "true"}),
               (3, 1, {"stencil.halo_depth": 3, "run.decomposition": "2d"}),
               (3, 2, {"stencil.halo_depth": 3, "stencil.temporal_blocking": "true"}),
               (2, 2, {"stencil.halo_depth": 3, "run.overlap": "false"}),
               (2, 1, {"stencil.halo_depth": 3, "run.overlap": "false",
                       "stencil.temporal_blocking": "true"}),
               (4, 1, {"stencil.halo_depth": 3, "run.decomposition": "1d"}),
               (1, 1, {"stencil.halo_depth": 4}),
               (1, 2, {"stencil.halo_depth": 4, "stencil.temporal_blocking": "true"})])

# deep halos with the other boundaries
case("halo4_1d_star2_dirichlet", random_field((40,)),
     {"preset": "star", "radius": 2, "boundary_value": 0.7, "iterations": 9, "halo_depth": 4},
     np_of(4))
case("halo3_2d_custom_neumann", random_field((19, 16)),
     {"taps": "0,0:0.5 1,-1:0.25 -1,0:0.125 1,-1:0.0625 0,1:0.0625", "boundary": "neumann",
      "iterations": 8, "halo_depth": 3}, np_of(3), {"overlap": "false"})
case("halo2_3d_heat_dirichlet", random_field((10, 9, 8)),
     {"preset": "heat", "alpha": 0.1, "boundary_value": -0.3, "iterations": 5,
      "halo_depth": 2}, np_of(4), {"threads": 2})
case("halo3_2d_custom_neumann_tiles", random_field((19, 16)),
     {"taps": "0,0:0.5 1,-1:0.25 -1,0:0.125 1,-1:0.0625 0,1:0.0625", "boundary": "neumann",
      "iterations": 8, "halo_depth": 3, "temporal_blocking": "true"}, np_of(3))
case("halo2_3d_heat_dirichlet_tiles", random_field((10, 9, 8)),
     {"preset": "heat", "alpha": 0.1, "boundary_value": -0.3, "iterations": 5,
      "halo_depth": 2, "temporal_blocking": "true"}, np_of(4), {"threads": 2})
case("halo2_1d_jacobi_neumann_blocks_of_2", random_field((8,)),  # halo as thick as a block
     {"preset": "jacobi", "boundary": "neumann", "iterations": 5, "halo_depth": 2}, np_of(4))

# ---- convergence -----------------------------------------------------------------------------


def tolerance_case(name, data, stencil, between, runs):
    """tolerance chosen between the reference residuals r_between and r_between+1 (geometric
    mean), so that the run stops at the next multiple of check_every; runs: [(np, run keys)]."""
    ref = Reference(data, stencil)
    eps = math.sqrt(ref.residual(between) * ref.residual(between + 1))
    stencil = dict(stencil, tolerance=repr(eps))
    c = int(stencil.get("check_every", 10))
    n = ref.stop(int(stencil["iterations"]), eps, c)
    h.note(f"{name}: tolerance {eps!r}, check_every {c}: the reference stops after {n} "
           f"iterations (residual {ref.residual(n)!r}; first below at "
           f"{next(k for k in range(1, n + 1) if ref.residual(k) < eps)})")
    write_input(f"{name}_in.h5", data)
    job, _ = make_job(name, f"{name}_in.h5", stencil)
    for np_, run in runs:
        what = f"{name} np {np_} {run}"
        got = run_job(what, job, np_of(np_), f"{name}.h5", f"{name}.json",
                      [f"{k}={v}" for k, v in run.items()])
        if got is not None:
            check_against(what, got[0], got[1], ref, n)


tolerance_case("tol_2d_heat_neumann", random_field((12, 10)),
               {"preset": "heat", "alpha": 0.2, "boundary": "neumann", "iterations": 300,
                "check_every": 7}, 24,
               [(3, {"stencil.halo_depth": 3}), (1, {"run.threads": 2})])
tolerance_case("tol_1d_jacobi_default_check_every", random_field((20,)),
               {"preset": "jacobi", "boundary_value": 0.4, "iterations": 100}, 13,
               [(4, {})])
# a tolerance never reached: all iterations, residual of the last one
case("tol_3d_blur3_not_reached", random_field((6, 6, 6)),
     {"preset": "blur3", "boundary": "periodic", "iterations": 9, "tolerance": 1e-300,
      "check_every": 4}, np_of(2))

def nan_case():
    """A NaN in the input spreads; its change counts as infinite, so a tolerance never stops
    the run: all iterations, residual not finite (null in JSON); NaN where numpy has NaN, the
    other points to the bit."""
    name = "nan_2d_jacobi_never_converges"
    data = random_field((10, 9))
    data[4, 3] = np.nan
    stencil = {"preset": "jacobi", "boundary_value": 0.5, "iterations": 6, "tolerance": 1e300,
               "check_every": 2}
    write_input(f"{name}_in.h5", data)
    job, _ = make_job(name, f"{name}_in.h5", stencil)
    got = run_job(name, job, np_of(3), f"{name}.h5", f"{name}.json")
    if got is None:
        return
    want = Reference(data, stencil).at(6)
    field, rep = got
    nan_same = field.shape == want.shape and np.array_equal(np.isnan(field), np.isnan(want))
    h.check(nan_same and 0 < np.isnan(want).sum() < want.size,
            f"{name}: NaN at the {int(np.isnan(want).sum())} points where numpy has NaN",
            None if not nan_same else np.argwhere(np.isnan(field) != np.isnan(want))[:5])
    if nan_same:
        ok = ~np.isnan(want)
        h.check(dh.same_bits(field[ok], want[ok]), f"{name}: other points == numpy, to the bit",
                dh.bits_mismatch(field[ok], want[ok]))
    res = rep.get("results") if isinstance(rep.get("results"), dict) else {}
    h.check(res.get("iterations_done") == 6, f"{name}: report iterations_done == 6 (never "
            f"converged)", res.get("iterations_done"))
    r = dh.json_number(res.get("residual", 0.0))
    h.check(not math.isfinite(r), f"{name}: report residual not finite (null or inf)",
            res.get("residual", "absent"))


nan_case()

# ---- checkpoints and --restart ---------------------------------------------------------------


def check_checkpoint(what, path, ref, k):
    """The checkpoint file holds u_k in /field, dproc_iteration k and dproc_complete 1."""
    if not h.check(os.path.exists(h.path(path)), f"{what}: checkpoint {path} exists"):
        return
    with h5py.File(h.path(path), "r") as f:
        d = f.get("/field")
        field = d[()] if isinstance(d, h5py.Dataset) else None
        it = f.attrs.get("dproc_iteration")
        complete = f.attrs.get("dproc_complete")
    h.check(it is not None and int(it) == k, f"{what}: checkpoint dproc_iteration == {k}", it)
    h.check(complete is not None and int(complete) == 1,
            f"{what}: checkpoint dproc_complete == 1", complete)
    want = ref.at(k)
    h.check(field is not None and dh.same_bits(field, want),
            f"{what}: checkpoint /field == reference u_{k} to the bit",
            "no /field" if field is None else dh.bits_mismatch(field, want))


def checkpoint_after(start, n, every):
    """The iteration of the last checkpoint a run from start to n leaves: the largest multiple
    of every below n (none at the last iteration), or start when it writes none."""
    return max(start, (n - 1) // every * every)


def other_input(name, like):
    """Replaces the job's input by other values of the same shape: --restart must not read it."""
    write_input(f"{name}_in.h5", random_field(like.shape))


def check_restarted_from(what, rep, k):
    res = rep.get("results") if isinstance(rep.get("results"), dict) else {}
    h.check(res.get("restarted_from") == k, f"{what}: report restarted_from == {k}",
            res.get("restarted_from"))


def restart_family(name, data, stencil, first_np, first_iters, restarts, first_sets=()):
    """Runs the job (with --set stencil.iterations=first_iters unless None), then, each from
    the checkpoint that run left, --restart for each (np, iterations or None, run sets) with
    the input replaced by other values. Returns the job path, its text and the reference."""
    write_input(f"{name}_in.h5", data)
    job, text = make_job(name, f"{name}_in.h5", stencil)
    ref = Reference(data, stencil)
    ck, every = stencil["checkpoint_path"], int(stencil["checkpoint_every"])
    tol, c = float(stencil.get("tolerance", 0)), int(stencil.get("check_every", 10))
    remove(ck)
    sets = [f"stencil.iterations={first_iters}"] if first_iters is not None else []
    iters = first_iters or int(stencil["iterations"])
    n = ref.stop(iters, tol, c)
    what = f"{name}: run of {iters} iterations at np {first_np}"
    got = run_job(what, job, np_of(first_np), f"{name}.h5", f"{name}.json",
                  sets + list(first_sets))
    if got is not None:
        check_against(what, got[0], got[1], ref, n)
    k = checkpoint_after(0, n, every)
    check_checkpoint(what, ck, ref, k)
    other_input(name, data)
    saved = h.path(f"{name}_ck_saved.h5")
    if os.path.exists(h.path(ck)):
        shutil.copyfile(h.path(ck), saved)
    for np_, iters, rsets in restarts:
        if os.path.exists(saved):
            shutil.copyfile(saved, h.path(ck))
        iters = iters or int(stencil["iterations"])
        n = ref.stop(iters, tol, c)
        what = (f"{name}: --restart from {k} at np {np_} to {iters} iterations "
                f"{' '.join(rsets)}").rstrip()
        s = [f"stencil.iterations={iters}"] + list(rsets)
        got = run_job(what, job, np_of(np_), f"{name}.h5", f"{name}.json", s, ["--restart"])
        if got is not None:
            check_against(what, got[0], got[1], ref, n)
            check_restarted_from(what, got[1], k)
        check_checkpoint(what, ck, ref, checkpoint_after(k, n, every))
    if os.path.exists(saved):
        shutil.copyfile(saved, h.path(ck))
    return job, text, ref


# interrupted after 7 of 12 iterations (checkpoint at 5), resumed at other rank counts
ck_job, ck_text, _ = restart_family(
    "ck_2d_heat_periodic", random_field((16, 13)),
    {"preset": "heat", "alpha": 0.2, "boundary": "periodic", "iterations": 12,
     "checkpoint_every": 5, "checkpoint_path": "ck_2d.h5"},
    3, 7, [(2, None, ["run.threads=2"]), (1, None, []), (4, 9, ["run.overlap=false"])])

# uninterrupted: checkpoints at 4 and 8, none at the last iteration 12; resumed from 8
restart_family("ck_1d_custom_dirichlet", random_field((30,)),
               {"taps": "-2:0.375 1:0.5 1:0.125 0:-0.0625", "boundary_value": 0.9,
                "iterations": 12, "checkpoint_every": 4, "checkpoint_path": "ck_1d.h5"},
               4, None, [(1, None, []), (3, 15, [])])

# deep halo, resumed at an iteration halo_depth does not divide
restart_family("ck_3d_star_neumann_halo2", random_field((9, 8, 7)),
               {"preset": "star", "boundary": "neumann", "iterations": 11, "halo_depth": 2,
                "checkpoint_every": 3, "checkpoint_path": "ck_3d.h5"},
               4, 5, [(2, None, []), (3, None, ["stencil.halo_depth=1"])])

# a tolerance reached only after the restart: the checks count from iteration 0 (multiples of
# check_every 7), the first run of 12 iterations stops at its end, the resumed one at the
# reference's stop
tol_data = random_field((11, 12))
tol_st = {"preset": "heat", "alpha": 0.2, "boundary": "dirichlet", "boundary_value": 0.2,
          "iterations": 200, "check_every": 7, "checkpoint_every": 5,
          "checkpoint_path": "ck_tol.h5"}
tol_ref = Reference(tol_data, tol_st)
tol_st["tolerance"] = repr(math.sqrt(tol_ref.residual(24) * tol_ref.residual(25)))
restart_family("ck_tol_2d_heat_dirichlet", tol_data, tol_st, 2, 12, [(3, None, [])])

# the launcher killed with SIGKILL while it writes checkpoints


def session_pids(sid):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getsid(int(d)) == sid:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def kill_session(proc):
    """SIGKILL to the launcher's process group and to every process of its session (the ranks
    may sit in process groups of their own), each by its id; waits for them to go."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        left = [p for p in session_pids(proc.pid) if p != os.getpid()]
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.poll()
        if not left and proc.returncode is not None:
            return True
        time.sleep(0.05)
    return False


def kill_case():
    name = "kill_2d_heat"
    data = random_field((256, 240))
    stencil = {"preset": "heat", "alpha": 0.2, "boundary": "dirichlet", "boundary_value": 0.1,
               "iterations": 100000000, "checkpoint_every": 10, "checkpoint_path": "kill_ck.h5"}
    write_input(f"{name}_in.h5", data)
    job, _ = make_job(name, f"{name}_in.h5", stencil)
    remove("kill_ck.h5", f"{name}.h5", f"{name}.json")
    cmd = [*h.mpiexec, "-np", str(np_of(3)), h.dproc_bin, "-q", job]
    proc = subprocess.Popen(cmd, cwd=h.dir, env=h.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    t0 = time.monotonic()
    while (not os.path.exists(h.path("kill_ck.h5")) and proc.poll() is None
           and time.monotonic() - t0 < 60):
        time.sleep(0.002)
    appeared = os.path.exists(h.path("kill_ck.h5"))
    still_running = proc.poll() is None
    gone = kill_session(proc)
    h.check(appeared, f"{name}: checkpoint file appeared within 60 s "
            f"({time.monotonic() - t0:.1f} s)")
    h.check(still_running, f"{name}: dproc still running when the checkpoint appeared",
            f"exit status {proc.returncode}")
    h.check(gone, f"{name}: launcher and ranks gone after SIGKILL",
            session_pids(proc.pid))
    if not appeared:
        return
    left = h.temp_leftovers()
    if left:
        h.note(f"{name}: temporary files left by the killed run (removed): "
               f"{[os.path.basename(f) for f in left]}")
        for f in left:
            os.unlink(f)
    try:
        with h5py.File(h.path("kill_ck.h5"), "r") as f:
            k = int(f.attrs["dproc_iteration"])
    except (OSError, KeyError) as e:
        h.check(False, f"{name}: checkpoint readable after the kill, with dproc_iteration", e)
        return
    h.note(f"{name}: killed with the checkpoint at iteration {k}")
    h.check(k >= 10 and k % 10 == 0, f"{name}: checkpoint iteration {k} a multiple of 10")
    ref = Reference(data, stencil)
    check_checkpoint(f"{name} after the kill", "kill_ck.h5", ref, k)
    m = k + 6
    other_input(name, data)
    what = f"{name}: --restart at np {np_of(2)} to {m} iterations"
    got = run_job(what, job, np_of(2), f"{name}.h5", f"{name}.json",
                  [f"stencil.iterations={m}"], ["--restart"])
    write_input(f"{name}_in.h5", data)
    restarted = got[0] if got is not None else None
    if got is not None:
        check_against(what, got[0], got[1], ref, m)
        check_restarted_from(what, got[1], k)
    what = f"{name}: uninterrupted run of {m} iterations at np {np_of(4)}"
    got = run_job(what, job, np_of(4), f"{name}.h5", f"{name}.json",
                  [f"stencil.iterations={m}", "stencil.checkpoint_path=kill_ck_full.h5"])
    if got is not None:
        check_against(what, got[0], got[1], ref, m)
        if restarted is not None:
            h.check(dh.same_bits(restarted, got[0]),
                    f"{name}: restarted result identical to the uninterrupted run",
                    dh.bits_mismatch(restarted, got[0]))


kill_case()

# ---- temporal blocking over many cache tiles -------------------------------------------------
# blocks of more than 64 Ki points are cut into several tiles

big = random_field((430, 390))
big_st = {"preset": "star", "radius": 2, "boundary": "neumann", "iterations": 9,
          "halo_depth": 4, "temporal_blocking": "true"}
case("tiles_star_np1", big, big_st, 1, run={"threads": 2})
case("tiles_star_np2", big, big_st, 2)
case("tiles_heat3d_np3", random_field((50, 44, 61)),
     {"preset": "heat", "alpha": 0.12, "boundary": "dirichlet", "boundary_value": 0.25,
      "iterations": 7, "halo_depth": 3, "temporal_blocking": "true"}, 3, run={"threads": 2})


# ---- snapshots -------------------------------------------------------------------------------

def snapshot_case(name, data, stencil, np_, first=0, opts=()):
    """The time series holds u_first, then u_n for every multiple n of snapshot_every."""
    ref = Reference(data, stencil)
    write_input(f"{name}_in.h5", data)
    job, _ = make_job(name, f"{name}_in.h5", stencil)
    remove(stencil["snapshot_path"])
    got = run_job(name, job, np_, f"{name}.h5", f"{name}.json", opts=opts)
    if got is None:
        return
    every, iters = int(stencil["snapshot_every"]), int(stencil["iterations"])
    want_its = [first] + [n for n in range(first + 1, iters + 1) if n % every == 0]
    with h5py.File(h.path(stencil["snapshot_path"]), "r") as f:
        its = f["iterations"][()].tolist()
        snaps = f["snapshots"][()]
        complete = int(f.attrs.get("dproc_complete", 0))
    h.check(its == want_its, f"{name}: /iterations == {want_its}", its)
    h.check(complete == 1, f"{name}: snapshot file complete")
    h.check(snaps.shape == (len(want_its),) + data.shape,
            f"{name}: /snapshots shape {(len(want_its),) + data.shape}", snaps.shape)
    if snaps.shape == (len(want_its),) + data.shape:
        bad = [n for t, n in enumerate(want_its) if not dh.same_bits(snaps[t], ref.at(n))]
        h.check(not bad, f"{name}: every snapshot == the reference iterate, to the bit",
                f"differ at iterations {bad}")
    res = got[1].get("results", {})
    h.check(res.get("snapshots") == len(want_its), f"{name}: report snapshots", res)


snap_st = {"preset": "blur3", "boundary": "periodic", "iterations": 8, "halo_depth": 2,
           "temporal_blocking": "true", "snapshot_every": 3, "snapshot_path": "snaps.h5"}
snapshot_case("snapshots_np3", random_field((23, 17)), snap_st, 3)
snapshot_case("snapshots_np1", random_field((9, 8, 7)),
              {**snap_st, "iterations": 5, "snapshot_every": 1, "snapshot_path": "s3d.h5"}, 1)


# ---- refusals --------------------------------------------------------------------------------


def dproc_lines(err, job):
    """dproc's messages, without its warnings (the tests oversubscribe the cores on purpose,
    and dproc warns about that)."""
    return [l for l in err.splitlines() if l.startswith((f"{job}:", f"{job} ", "dproc:")) and
            not l.startswith("dproc: warning:")]


def refusal(name, job, text, np_, keys, message_re, line_of=None, opts=(), sets=(),
            status=2, outputs=None):
    """Exit status 2 and exactly one line `JOB:LINE: [stencil] KEY: ...` with KEY in keys at the
    line of that key in the job (or line_of(key)) and the rest matching message_re; no output
    file. status 1: one `dproc: error:` line matching message_re instead."""
    outputs = outputs or (f"{name}.h5", f"{name}.json")
    remove(*outputs)
    res = h.dproc(job, sets=list(sets), opts=list(opts), np=np_)
    h.check(res.rc == status, f"{name}: exit status {status}", res.describe())
    mine = dproc_lines(res.err, job)
    if status == 2:
        pat = re.compile(rf"^{re.escape(job)}:(\d+): \[stencil\] (\w+): (.*)$")
        hits = [m for m in map(pat.match, mine) if m]
        ok = len(mine) == 1 and len(hits) == 1
        if ok:
            line, key, msg = int(hits[0].group(1)), hits[0].group(2), hits[0].group(3)
            want_line = (line_of or (lambda k: dh.line_of(text, f"{k} =")))(key)
            ok = key in keys and line == want_line and re.search(message_re, msg)
        h.check(ok, f"{name}: one message `JOB:LINE: [stencil] {'|'.join(keys)}: ` at the "
                f"key's line, matching /{message_re}/", res.err[:3000])
    else:
        hits = [l for l in mine if l.startswith("dproc: error:") and re.search(message_re, l)]
        h.check(len(mine) == 1 and len(hits) == 1,
                f"{name}: one `dproc: error:` message matching /{message_re}/", res.err[:3000])
    out, report = outputs
    h.check(not os.path.exists(h.path(out)), f"{name}: no output file {out} created")
    if os.path.exists(h.path(report)):  # a run that got as far as the data reports its failure
        rep = dh.load_json(h.path(report))
        h.check(isinstance(rep, dict) and rep.get("status") == "failed",
                f"{name}: the report written says status failed", rep)
    remove(out, report)
    h.check_no_leftovers(name)
    return res


x2d = write_input("refuse_2d_in.h5", random_field((9, 8)))


def refuse_job(name, stencil, in_name=x2d):
    return make_job(name, in_name, stencil)


j, t = refuse_job("refuse_taps_and_preset", {"preset": "jacobi", "taps": "1,0:0.5 -1,0:0.5"})
refusal("refuse_taps_and_preset", j, t, np_of(2), ("taps", "preset"), "exclude|both|one")
j, t = refuse_job("refuse_no_taps", {"iterations": 2})
refusal("refuse_no_taps", j, t, np_of(1), ("taps", "preset"), "missing|taps",
        line_of=lambda k: dh.line_of(t, "[stencil]"))
j, t = refuse_job("refuse_taps_abc", {"taps": "1,0:abc"})
refusal("refuse_taps_abc", j, t, np_of(3), ("taps",), "abc|weight")
j, t = refuse_job("refuse_taps_offset_5", {"taps": "0,0:0.5 5,0:0.5"})
refusal("refuse_taps_offset_5", j, t, np_of(2), ("taps",), "5")
j, t = refuse_job("refuse_taps_1_offset_on_2d", {"taps": "1:0.5 -1:0.5"})
refusal("refuse_taps_1_offset_on_2d", j, t, np_of(4), ("taps",), "dimension|offset")
write_input("refuse_1d6_in.h5", random_field((6,)))
j, t = refuse_job("refuse_halo_wider_than_block",
                  {"preset": "jacobi", "iterations": 3, "halo_depth": 3}, "refuse_1d6_in.h5")
refusal("refuse_halo_wider_than_block", j, t, np_of(4),
        ("halo_depth", "preset", "taps", "radius"), "halo_depth")
j, t = refuse_job("refuse_checkpoint_without_path",
                  {"preset": "jacobi", "iterations": 3, "checkpoint_every": 2})
refusal("refuse_checkpoint_without_path", j, t, np_of(2),
        ("checkpoint_every", "checkpoint_path"), "checkpoint_path",
        line_of=lambda k: dh.line_of(t, "checkpoint_every ="))

# --restart without a checkpoint file
j, t = refuse_job("refuse_restart_no_checkpoint",
                  {"preset": "jacobi", "iterations": 3, "checkpoint_every": 2,
                   "checkpoint_path": "none_such_ck.h5"})
refusal("refuse_restart_no_checkpoint", j, t, np_of(2), (), "checkpoint|none_such_ck",
        opts=["--restart"], status=1)
h.check(not os.path.exists(h.path("none_such_ck.h5")),
        "refuse_restart_no_checkpoint: no checkpoint file created")

# --restart from the checkpoint of another stencil (ck_2d.h5 holds heat alpha 0.2 periodic
# at iteration 5)
if os.path.exists(h.path("ck_2d.h5")):
    ck_sum = dh.sha256(h.path("ck_2d.h5"))
    line = dh.line_of(ck_text, "checkpoint_path =")
    for label, s in [("other taps (alpha 0.1)", "stencil.alpha=0.1"),
                     ("other boundary (neumann)", "stencil.boundary=neumann"),
                     ("other taps (custom)", "stencil.taps=0,0:0.5 1,0:0.5")]:
        name = f"refuse_restart_{label.split()[1]}_{label.split('(')[1][:-1].split()[0]}"
        sets = [s] + (["stencil.preset=custom"] if "taps=" in s else [])
        refusal(name, ck_job, ck_text, np_of(3), ("checkpoint_path",), ".",
                line_of=lambda k: line, opts=["--restart"], sets=sets,
                outputs=("ck_2d_heat_periodic.h5", "ck_2d_heat_periodic.json"))
        h.check(dh.sha256(h.path("ck_2d.h5")) == ck_sum, f"{name}: checkpoint unchanged")
    # a job asking for fewer iterations than the checkpoint already holds
    beyond = re.sub(r"^iterations = \d+$", "iterations = 3", ck_text, flags=re.M)
    beyond_job = h.write("refuse_restart_beyond.ini", beyond)
    refusal("refuse_restart_beyond", beyond_job, beyond, np_of(2), ("iterations",),
            "iteration 5.*beyond", opts=["--restart"],
            outputs=("ck_2d_heat_periodic.h5", "ck_2d_heat_periodic.json"))
    h.check(dh.sha256(h.path("ck_2d.h5")) == ck_sum, "refuse_restart_beyond: checkpoint unchanged")
else:
    h.check(False, "checkpoint ck_2d.h5 left for the refused restarts")

h.check_no_leftovers("all stencil runs")
h.finish()
