#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints one line, "N passed, N failed, N skipped", for a whole test run.

    test-summary.py [TESTLOG.json ...] [--fuzz RESULTS.jsonl ...]

Each TESTLOG.json is a meson testlog (the normal suite, the sanitizer
suite): it counts the TAP results of every test program (top-level "ok" /
"not ok" lines; "# SKIP" counts as skipped). A program that failed, crashed
or timed out without reporting a failing case counts as one failure, so a
crash can never pass unnoticed. Each RESULTS.jsonl holds one line per fuzz
target that tools/dev ran ({"target", "result": "OK"|"FAIL", ...}): one
pass or one failure each.
"""
import json
import re
import sys


def count_meson(path):
    passed = failed = skipped = 0
    for line in open(path, encoding="utf-8"):
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
    return passed, failed, skipped


def count_fuzz(path):
    passed = failed = 0
    for line in open(path, encoding="utf-8"):
        if line.strip():
            if json.loads(line).get("result") == "OK":
                passed += 1
            else:
                failed += 1
    return passed, failed, 0


def main(argv):
    totals = [0, 0, 0]
    fuzz = False
    for arg in argv:
        if arg == "--fuzz":
            fuzz = True
            continue
        counts = count_fuzz(arg) if fuzz else count_meson(arg)
        totals = [a + b for a, b in zip(totals, counts)]
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")


main(sys.argv[1:])
