#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds libtcp and runs its whole test suite: every suite once, then the C
# tests again under valgrind memcheck. Ends with one "N passed, N failed" line.
set -eu

cd "$(dirname "$0")/.."
builddir=${TCP_BUILDDIR:-_build}

if [ -d "$builddir" ]; then
  meson setup --reconfigure "$builddir" -Dwerror=true -Ddocumentation=true
else
  meson setup "$builddir" -Dwerror=true -Ddocumentation=true
fi
meson compile -C "$builddir"

status=0
meson test -C "$builddir" --print-errorlogs || status=1
meson test -C "$builddir" --setup valgrind --suite c --print-errorlogs || status=1

/usr/bin/python3 build-aux/test-summary.py "$builddir"/meson-logs/testlog.json \
  "$builddir"/meson-logs/testlog-valgrind.json
exit $status
