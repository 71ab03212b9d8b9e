#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A good peer's fortune latency while a refused peer floods the server
# (issue #14): srv-libtcp denies 127.0.0.2; in each round a good client
# from 127.0.0.1 first runs alone, then again while a second load generator
# makes FLOOD connections from 127.0.0.2, each refused with a reset. The
# good client stops when the flood ends. See bench/README.md.
#
#   bench/run-flood.sh [-r ROUNDS] [-n FLOOD] [-c FLOOD_IN_FLIGHT]
#                      [-g GOOD_IN_FLIGHT] [-G GOOD_CONNS_ALONE]
#                      [-B BUILDDIR] [-o RAW_FILE] [-X NAME=SRV_LIBTCP_BINARY]
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
rounds=7
flood=10000
flood_in_flight=64
good_in_flight=1
good_alone=3000
builddir=$srcdir/_bench
raw=
servers="libtcp"
extra=

usage () {
  sed -n '3,11p' "$0" >&2
  exit 2
}

while getopts r:n:c:g:G:B:o:X:h opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    n) flood=$OPTARG ;;
    c) flood_in_flight=$OPTARG ;;
    g) good_in_flight=$OPTARG ;;
    G) good_alone=$OPTARG ;;
    B) builddir=$OPTARG ;;
    o) raw=$OPTARG ;;
    X) extra="$extra $OPTARG"; servers="$servers ${OPTARG%%=*}" ;;
    *) usage ;;
  esac
done

. "$srcdir/bench/bench-lib.sh"
bench_enter_netns "$0" "$@"
bench_require run-flood.sh taskset meson /usr/bin/python3
bench_build "$srcdir" "$builddir"
bin=$builddir/bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$raw" ] || raw=$work/raw.txt
: > "$raw"

# The good client runs at real-time priority when it can: it shares CPU 1
# with the flood's load generator, and its latency should show the
# server's delays, not how the scheduler splits CPU 1 between the two
# clients.
good_prio=
if [ "$(id -u)" -eq 0 ] && command -v chrt >/dev/null; then
  good_prio="chrt -f 10"
fi

server_binary () {
  for e in $extra; do
    if [ "${e%%=*}" = "$1" ]; then
      echo "${e#*=}"
      return
    fi
  done
  echo "$bin/srv-$1"
}

# run_round ROUND SERVER: one server; the good client alone, then under the
# flood; three lines in $raw.
run_round () {
  round=$1 server=$2
  portfile=$work/port

  bench_start_server "run-flood.sh: $server" "$portfile" "$work/server.err" \
    taskset -c 0 "$(server_binary "$server")" -m fortune -f "$portfile" -x deny=127.0.0.2/32

  taskset -c 1 "$bin/loadgen" -m fortune -p "$port" -n 500 -c 8 -t 20 >/dev/null || true
  taskset -c 1 "$bin/loadgen" -m refused -B 127.0.0.2 -p "$port" -n 500 -c 8 -t 20 >/dev/null || true

  out=$(taskset -c 1 $good_prio "$bin/loadgen" -m fortune -p "$port" -n "$good_alone" \
          -c "$good_in_flight" -t 60 || true)
  echo "round=$round server=$server load=alone $out" >> "$raw"

  c0=$(schedstat_sum $pid 1)
  taskset -c 1 "$bin/loadgen" -m refused -B 127.0.0.2 -p "$port" -n "$flood" \
    -c "$flood_in_flight" -t 60 > "$work/flood.out" 2>&1 &
  flood_pid=$!
  out=$(taskset -c 1 $good_prio "$bin/loadgen" -m fortune -p "$port" -n 100000000 \
          -c "$good_in_flight" -W $flood_pid -t 60 || true)
  wait $flood_pid || true
  c1=$(schedstat_sum $pid 1)
  echo "round=$round server=$server load=good-in-flood $out" >> "$raw"
  echo "round=$round server=$server load=flood $(cat "$work/flood.out") server_cpu_ns=$((c1 - c0))" >> "$raw"

  kill $pid
  wait $pid 2>/dev/null || true
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "commit: $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "flood: $flood refused connections from 127.0.0.2, $flood_in_flight in flight; good peer: 127.0.0.1, $good_in_flight in flight${good_prio:+, at real-time priority}; $rounds rounds"

r=1
while [ $r -le "$rounds" ]; do
  for server in $servers; do
    run_round $r "$server"
  done
  echo "round $r of $rounds done" >&2
  r=$((r + 1))
done

/usr/bin/python3 "$srcdir/bench/summarize-flood.py" "$raw"
