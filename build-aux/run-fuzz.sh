#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, then runs each target for SECONDS seconds
# (default 60) on its corpus in fuzz/corpus/. Exits non-zero on the first
# crash, sanitizer report or leak; the reproducer is left in the scratch
# directory printed below.
#
# Usage: build-aux/run-fuzz.sh [SECONDS]
#   TCP_FUZZ_BUILDDIR  build directory (default _build-fuzz)
set -eu

cd "$(dirname "$0")/.."
seconds=${1:-60}
builddir=${TCP_FUZZ_BUILDDIR:-_build-fuzz}

case $seconds in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

# b_lundef=false: with sanitizers clang leaves their symbols to the runtime.
options="-Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
         -Dintrospection=disabled -Dvapi=false -Dtests=false -Dexamples=false
         -Dbuildtype=debugoptimized"
if [ -d "$builddir" ]; then
  # shellcheck disable=SC2086
  meson setup --reconfigure "$builddir" $options
else
  # shellcheck disable=SC2086
  CC=clang meson setup "$builddir" $options
fi
meson compile -C "$builddir"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
for target in "$builddir"/fuzz/fuzz-*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=fuzz/corpus/${name#fuzz-}
  # New inputs go to a scratch directory; the corpus in the tree is read.
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
  echo "== $name: ${seconds}s on $corpus (scratch: $scratch)"
  if "$target" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$scratch/" "$scratch" "$corpus"; then
    rm -rf "$scratch"
  else
    echo "== $name FAILED; reproducer in $scratch" >&2
    status=1
  fi
done

exit $status
