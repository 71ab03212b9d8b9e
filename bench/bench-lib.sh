# SPDX-License-Identifier: LGPL-2.1-or-later
# What run.sh, run-tls.sh and run-flood.sh share; sourced, not run.
#
# Sums are printed with "%.0f": awk is mawk on Debian, whose printf "%d"
# stops at 2^31 - 1 (2.147 s in ns), and whose print turns large numbers
# into "3e+09".

# bench_enter_netns SCRIPT ARGS...: as root, re-runs SCRIPT in a network
# namespace of its own, so that other programs' loopback traffic (test
# suites hammering their own listeners) stays out of the counts, the
# ListenOverflows count included. Returns when that is not possible, or
# once inside.
bench_enter_netns () {
  if [ -z "${BENCH_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
     command -v ip >/dev/null; then
    exec unshare --net env BENCH_NETNS=1 sh "$@"
  fi
  if [ -n "${BENCH_NETNS:-}" ]; then
    ip link set lo up
  fi
}

# bench_require NAME TOOL...: fails when a tool is missing.
bench_require () {
  name=$1
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: $tool is missing (bench/install-deps.sh)" >&2; exit 1; }
  done
}

# bench_build SRCDIR BUILDDIR: configures (once) and builds bench/.
bench_build () {
  if [ -d "$2" ]; then
    meson setup --reconfigure "$2" -Dbenchmarks=true >/dev/null
  else
    meson setup "$2" "$1" -Dbenchmarks=true -Dintrospection=disabled \
      -Dtests=false -Dexamples=false >/dev/null
  fi
  meson compile -C "$2" -j2 >/dev/null
}

# bench_start_server NAME PORT_FILE ERR_FILE COMMAND...: starts COMMAND in
# the background and waits until it has written its port; sets $pid and
# $port.
bench_start_server () {
  name=$1 portfile=$2 errfile=$3
  shift 3
  rm -f "$portfile"
  "$@" >/dev/null 2>"$errfile" &
  pid=$!
  i=0
  while [ ! -s "$portfile" ]; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
      echo "$name did not start:" >&2
      cat "$errfile" >&2
      exit 1
    fi
    sleep 0.05
  done
  port=$(cat "$portfile")
}

# schedstat_sum PID FIELD: over the live threads of PID, field 1 (ns on
# CPU) or field 2 (ns runnable but waiting for a CPU) of schedstat.
schedstat_sum () {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk -v f="$2" '{ s += $f } END { printf "%.0f\n", s }'
}

# utime + stime of the whole process in clock ticks (/proc/PID/stat fields
# 14 and 15): a coarse cross-check that also counts exited threads.
cpu_ticks () {
  sed 's/^.*) //' /proc/"$1"/stat | awk '{ printf "%.0f\n", $12 + $13 }'
}

peak_rss_kb () {
  awk '/^VmHWM:/ { print $2 }' /proc/"$1"/status
}
