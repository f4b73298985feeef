#!/usr/bin/python3
"""Integration test: `dproc selftest` at the given rank count. It must pass every case (8 lines
"selftest: ok ..." and a final "selftest: passed"), exit 0 and remove its scratch directory;
and it must notice a wrong run: with one rank made to fail a read (DPROC_FAULT) the case that
reads the copy back fails, the others still pass, and the exit status is 1."""

import os
import re

import dp_harness as dh

h = dh.Harness("selftest", __doc__)
CASES = 8


def scratch_dirs():
    return [d for d in os.listdir(h.dir) if d.startswith(".dproc-selftest-")]


for threads in ("1", "2"):
    env = dict(h.env, OMP_NUM_THREADS=threads)
    res = h.run(["selftest", h.dir], env=env)
    what = f"selftest, {h.np} ranks x {threads} threads"
    h.expect_ok(res, what)
    ok = re.findall(r"^selftest: ok ", res.out, re.M)
    h.check(len(ok) == CASES, f"{what}: {CASES} cases ok", res.out)
    h.check(f"selftest: passed ({CASES} of {CASES} checks passed)" in res.out,
            f"{what}: the summary says passed", res.out)
    h.check(f"{h.np} rank" in res.out and f"x {threads} thread" in res.out,
            f"{what}: the first line names the layout", res.out.splitlines()[:1])
    h.check(not scratch_dirs(), f"{what}: scratch directory removed", scratch_dirs())

env = dict(h.env, DPROC_FAULT="read:0", OMP_NUM_THREADS="1")
res = h.run(["selftest", h.dir], env=env)  # the launcher passes the environment on
what = "selftest with a read fault on rank 0"
h.check(res.rc == 1 and not res.timed_out, f"{what}: exit status 1", res.describe())
failed = re.findall(r"^selftest: FAILED (.*)$", res.out, re.M)
h.check(any("read back" in f and "injected fault" in f for f in failed),
        f"{what}: the case reading the copy back fails with the reason", failed)
h.check(len(re.findall(r"^selftest: ok ", res.out, re.M)) == CASES - 1,
        f"{what}: the other cases pass", res.out)
h.check(not scratch_dirs(), f"{what}: scratch directory removed", scratch_dirs())
h.finish()
