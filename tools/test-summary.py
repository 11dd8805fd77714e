#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints one line, "N passed, N failed, N skipped", for a meson test run.

Counts the TAP results of every test program (top-level "ok"/"not ok"
lines; "# SKIP" counts as skipped). A program that failed, crashed or timed
out without reporting a failing case counts as one failure, so a crash can
never pass unnoticed.
"""
import json
import re
import sys

passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8"):
    test = json.loads(line)
    ok = not_ok = skip = 0
    for tap in (test.get("stdout") or "").splitlines():
        if re.match(r"^not ok\b", tap):
            not_ok += 1
        elif re.match(r"^ok\b", tap):
            if re.search(r"#\s*SKIP", tap, re.I):
                skip += 1
            else:
                ok += 1
    result = test.get("result", "")
    if result == "SKIP" and ok + not_ok + skip == 0:
        skip = 1
    elif result not in ("OK", "EXPECTEDFAIL", "SKIP") and not_ok == 0:
        not_ok = 1
    passed += ok
    failed += not_ok
    skipped += skip

print(f"{passed} passed, {failed} failed, {skipped} skipped")
