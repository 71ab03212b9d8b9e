#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the whole test suite (build-aux/run-tests.sh: every meson suite,
# valgrind, ASan/UBSan, fuzzing, meson dist) on Debian 13 (GLib 2.84, GJS
# 1.82, Python 3.13), inside the Debian 13 root that build-aux/debian-root.sh
# makes and keeps. Runs on a Debian 12 host as root, or on anything with
# debootstrap and util-linux's unshare.
#
# Usage: build-aux/run-tests-debian13.sh [SRCDIR]
#   SRCDIR  the source tree to test (default: the checkout holding this
#           script); its uncommitted changes count. The build trees go to
#           SRCDIR/_build-debian13, _build-debian13-asan and
#           _build-debian13-fuzz, beside the host's own.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd -P)
srcdir=$(cd "${1:-$here}" && pwd -P)

# The trees are named for the release: the host's _build stays the host's.
TCP_BUILDDIR=_build-debian13
TCP_ASAN_BUILDDIR=_build-debian13-asan
TCP_FUZZ_BUILDDIR=_build-debian13-fuzz
# The account for dante's username method only ever exists inside the root.
TCP_SOCKS5_TEST_USER=1
export TCP_BUILDDIR TCP_ASAN_BUILDDIR TCP_FUZZ_BUILDDIR TCP_SOCKS5_TEST_USER

exec "$here/build-aux/debian-root.sh" -s "$srcdir" trixie \
  sh -c 'build-aux/install-deps.sh && build-aux/run-tests.sh'
