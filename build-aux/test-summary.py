#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints one 'N passed, N failed, N skipped' line for meson test logs."""

import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        failed += 1
        print(f"missing test log: {path}", file=sys.stderr)

print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
