#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds libtcp and runs the demo: the fortune server, and a client that
# connects to it and prints the fortune it receives.
set -eu

cd "$(dirname "$0")/.."
builddir=${TCP_BUILDDIR:-_build}

[ -d "$builddir" ] || meson setup "$builddir"
meson compile -C "$builddir"
exec examples/fortune-demo.sh "$builddir"/examples
