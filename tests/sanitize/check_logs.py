#!/usr/bin/python3
"""Reads the sanitizer logs of tests/sanitize/run.sh (LOG_DIR SOURCE_DIR): fails on any
AddressSanitizer error, any UndefinedBehaviorSanitizer report, and any leak whose allocation
stack passes through dproc's own sources (src/, kernels/); other leaks (inside libraries whose
frames the unwinder cannot follow) are counted and the first few shown. Prints one line per
finding and a summary."""
import os
import re
import sys

logs, src = sys.argv[1], os.path.realpath(sys.argv[2])
own = re.compile(r"(%s/)?(src|kernels|tests/unit)/[\w.]+\.c:\d+" % re.escape(src))
errors, own_leaks, lib_leaks = [], [], []
for name in sorted(os.listdir(logs)):
    text = open(os.path.join(logs, name), errors="replace").read()
    if name.startswith("ubsan") or "runtime error:" in text:
        errors.append((name, text[:2000]))
        continue
    if re.search(r"ERROR: AddressSanitizer", text):
        errors.append((name, text[:3000]))
        continue
    for block in re.split(r"\n(?=(?:Direct|Indirect) leak of)", text)[1:]:
        (own_leaks if own.search(block) else lib_leaks).append((name, block.strip()))
for name, text in errors:
    print(f"FAIL: sanitizer error in {name}:\n{text}\n")
for name, block in own_leaks:
    print(f"FAIL: leak from dproc's code in {name}:\n{block}\n")
for name, block in lib_leaks[:3]:
    print(f"note: a leak inside a library ({name}), not dproc's:\n{block}\n")
print(f"sanitizers: {len(errors)} errors, {len(own_leaks)} leaks from dproc's code, "
      f"{len(lib_leaks)} leaks inside libraries (not failed), {len(os.listdir(logs))} logs")
sys.exit(1 if errors or own_leaks else 0)
