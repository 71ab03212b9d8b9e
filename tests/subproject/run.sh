#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds and tests the consumer project in this directory with the libtcp
# tree SRCDIR as its subproject, the way an application vendors it: a copy
# of the project in a scratch directory, subprojects/libtcp pointing at
# SRCDIR, `meson setup --force-fallback-for=tcp-1` (so that an installed
# libtcp cannot stand in), then `meson test`.
#
#   tests/subproject/run.sh SRCDIR
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$1" && pwd)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tcp-subproject.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

mkdir -p "$scratch/consumer/subprojects"
cp "$here"/meson.build "$here"/*.c "$here"/*.h "$here"/*.vala "$here"/*.py "$scratch/consumer/"
ln -s "$srcdir" "$scratch/consumer/subprojects/libtcp"

meson setup "$scratch/build" "$scratch/consumer" --force-fallback-for=tcp-1 \
  -Dwerror=true -Dlibtcp:werror=true
meson compile -C "$scratch/build"
meson test -C "$scratch/build" --print-errorlogs
