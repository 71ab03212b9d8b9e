#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Counts, per fortune connection, each server's system calls (by name with
# strace -c -f; in total under unslowed load with perf stat, pinned like
# run.sh) and allocation calls (bench/libmalloc-count.so,
# G_SLICE=always-malloc).
# With -g, also the instructions each server executes per connection
# (valgrind --tool=callgrind, counters zeroed after a warm-up): slow, but
# exact and immune to a busy machine. Run bench/run.sh once first (it builds
# bench/).
#
#   bench/count.sh [-n CONNS] [-g] [-P "epoll floor gio qt uv libtcp"] [-B BUILDDIR]
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
conns=5000
peers="epoll floor gio qt uv libtcp"
builddir=$srcdir/_bench
callgrind=no
perf=no
if command -v perf >/dev/null && command -v taskset >/dev/null &&
   perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
  perf=yes
fi

while getopts n:gP:B: opt; do
  case $opt in
    n) conns=$OPTARG ;;
    g) callgrind=yes ;;
    P) peers=$OPTARG ;;
    B) builddir=$OPTARG ;;
    *) sed -n '3,11p' "$0" >&2; exit 2 ;;
  esac
done
bin=$builddir/bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start_server () {
  rm -f "$work/port"
  "$@" -m fortune -f "$work/port" -b 4096 >/dev/null 2>>"$work/server.err" &
  pid=$!
  while [ ! -s "$work/port" ]; do sleep 0.1; done
  port=$(cat "$work/port")
  "$bin/loadgen" -p "$port" -n 500 >/dev/null
}

stop_server () {
  kill $pid
  wait $pid 2>/dev/null || true
}

for peer in $peers; do
  [ -x "$bin/srv-$peer" ] || continue

  start_server "$bin/srv-$peer"
  strace -c -f -p $pid -o "$work/strace" 2>/dev/null &
  spid=$!
  sleep 0.5
  "$bin/loadgen" -p "$port" -n "$conns" >/dev/null
  sleep 0.2
  kill -INT $spid
  wait $spid 2>/dev/null || true
  stop_server
  echo "== $peer: system calls per connection ($conns connections)"
  awk -v n="$conns" '
    /^-/ || /^%/ || NF < 4 { next }
    { printf "  %-16s %.2f\n", $NF, $4 / n }' "$work/strace"

  # strace stops the server at every system call, so it handles many
  # connections per wakeup and per-wakeup system calls all but vanish from
  # the count above. perf's tracepoint counter does not slow it down.
  if [ $perf = yes ]; then
    start_server taskset -c 0 "$bin/srv-$peer"
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p $pid -o "$work/perf" &
    ppid=$!
    sleep 0.5
    taskset -c 1 "$bin/loadgen" -p "$port" -n "$conns" >/dev/null
    kill -INT $ppid
    wait $ppid 2>/dev/null || true
    stop_server
    echo "== $peer: under load, unslowed (perf stat, server on CPU 0, load on CPU 1)"
    awk -F, -v n="$conns" '$3 == "raw_syscalls:sys_enter" { printf "  system calls     %.2f\n", $1 / n }
      $3 == "context-switches" { printf "  context switches %.2f\n", $1 / n }' "$work/perf"
  fi

  LD_PRELOAD=$bin/libmalloc-count.so G_SLICE=always-malloc start_server "$bin/srv-$peer"
  : > "$work/server.err"
  kill -USR2 $pid; sleep 0.2
  "$bin/loadgen" -p "$port" -n "$conns" >/dev/null
  kill -USR2 $pid; sleep 0.2
  stop_server
  echo "== $peer: allocation calls per connection"
  grep '^malloc-count:' "$work/server.err" | tail -2 | awk -v n="$conns" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2]; k[i] = kv[1] } }
    END { for (i = 2; i in k; i++) printf "  %-9s %.2f\n", k[i], (v[2, k[i]] - v[1, k[i]]) / n }'
done

[ $callgrind = yes ] || exit 0

for peer in $peers; do
  [ -x "$bin/srv-$peer" ] || continue

  start_server valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$bin/srv-$peer"
  callgrind_control -z $pid >/dev/null 2>&1
  "$bin/loadgen" -p "$port" -n "$conns" -c 16 -t 300 >/dev/null
  rm -f "$work"/cg.*
  callgrind_control -d $pid >/dev/null 2>&1
  sleep 0.5
  stop_server
  echo "== $peer: instructions per connection (callgrind, $conns connections)"
  cat "$work"/cg.*.1 | awk -v n="$conns" '/^(summary|totals):/ { s = $2 } END { printf "  %.0f\n", s / n }'
done
