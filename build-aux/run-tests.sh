#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds libtcp and runs its whole test suite: every suite once, then the C
# and Vala tests again under valgrind memcheck, then the C and slow suites
# in a second tree built with AddressSanitizer and UndefinedBehaviorSanitizer,
# then the fuzz targets when they exist, then the release tarball (meson
# dist). Ends with one "N passed, N failed" line.
set -eu

cd "$(dirname "$0")/.."
builddir=${TCP_BUILDDIR:-_build}
asan_builddir=${TCP_ASAN_BUILDDIR:-_build-asan}

# setup_tree DIR [MESON OPTIONS...]: configures DIR, or reconfigures it.
setup_tree () {
  dir=$1
  shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" -Dwerror=true "$@"
  else
    meson setup "$dir" -Dwerror=true "$@"
  fi
}

setup_tree "$builddir" -Ddocumentation=true
meson compile -C "$builddir"

status=0
meson test -C "$builddir" --print-errorlogs || status=1
# Every compiled test: the C suite and the Vala programs.
meson test -C "$builddir" --setup valgrind --suite c --suite vala --print-errorlogs || status=1

# Sanitizers. Only the C suites run in this tree: Python and GJS are not
# instrumented, so the GIR, typelib and vapi would only cost build time.
# b_lundef=false: the shared library leaves the ASan runtime's symbols to the
# executable.
setup_tree "$asan_builddir" \
  -Db_sanitize=address,undefined -Db_lundef=false \
  -Dintrospection=disabled -Dvapi=false -Dexamples=false -Ddocumentation=false
meson compile -C "$asan_builddir"
(
  # GSlice's magazines would hide allocations from ASan and LSan.
  G_SLICE=always-malloc
  # intercept_tls_get_addr=0: GCC 12's sanitizer runtime takes some dynamic
  # TLS blocks (GnuTLS's, in glib-networking's handshake threads) for a
  # pre-2.25 glibc layout, and LeakSanitizer's tracer then crashes at exit
  # after every test has passed (google/sanitizers#1322).
  ASAN_OPTIONS=fast_unwind_on_malloc=0:halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:intercept_tls_get_addr=0
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0
  # Timing-bound tests (TLS handshake timeouts) allow for the slowdown.
  TCP_TEST_SLOW=1
  export G_SLICE ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TCP_TEST_SLOW
  meson test -C "$asan_builddir" --suite c --suite slow --print-errorlogs
) || status=1
logs="$builddir/meson-logs/testlog.json $builddir/meson-logs/testlog-valgrind.json"
logs="$logs $asan_builddir/meson-logs/testlog.json"

# libFuzzer targets (clang, -Dfuzzing=true), 60 s each, when the tree has them.
# The run counts as one test in the summary (a meson-style log line).
if [ -x build-aux/run-fuzz.sh ]; then
  fuzz_result=OK
  build-aux/run-fuzz.sh 60 || fuzz_result=FAIL
  [ "$fuzz_result" = OK ] || status=1
  printf '{"name": "fuzz", "result": "%s"}\n' "$fuzz_result" \
    > "$builddir/meson-logs/testlog-fuzz.json"
  logs="$logs $builddir/meson-logs/testlog-fuzz.json"
fi

# The release tarball must build and pass on its own: meson dist packs what
# git tracks, configures it afresh and runs its test suite. Only from a git
# checkout (a tarball has nothing to pack).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  dist_result=OK
  meson dist -C "$builddir" --formats xztar --allow-dirty || dist_result=FAIL
  [ "$dist_result" = OK ] || status=1
  printf '{"name": "dist", "result": "%s"}\n' "$dist_result" \
    > "$builddir/meson-logs/testlog-dist.json"
  logs="$logs $builddir/meson-logs/testlog-dist.json"
fi

# The logs behind the summary, for a summary over several runs (.ci/run).
printf '%s\n' $logs > "$builddir/meson-logs/summary-logs.txt"
# shellcheck disable=SC2086
/usr/bin/python3 build-aux/test-summary.py $logs
exit $status
