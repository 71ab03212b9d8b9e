#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds bench/, then runs every peer server against the load generator over
# several interleaved rounds and prints a table of medians, each also as a
# ratio to the raw epoll server. See bench/README.md.
#
#   bench/run.sh [-r ROUNDS] [-n CONNS] [-c IN_FLIGHT] [-s ECHO_SECS]
#                [-m "fortune echo refuse"] [-P "epoll floor gio qt uv libtcp"]
#                [-R "epoll epoll+fin libtcp libtcp+peer-limit"]
#                [-b BACKLOG|default] [-B BUILDDIR] [-o RAW_FILE]
#                [-X NAME=SERVER_BINARY]...   (an extra peer, e.g. another build)
# A peer NAME+OPTS runs srv-NAME with -x OPTS (libtcp+track: the model on).
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
rounds=7
conns=20000
in_flight=64
echo_secs=3
modes="fortune echo"
peers="epoll floor gio qt uv libtcp"
refuse_peers="epoll epoll+fin libtcp libtcp+peer-limit"
backlog=4096
builddir=$srcdir/_bench
raw=
extra=

usage () {
  sed -n '3,13p' "$0" >&2
  exit 2
}

while getopts r:n:c:s:m:P:R:b:B:o:X:h opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    n) conns=$OPTARG ;;
    c) in_flight=$OPTARG ;;
    s) echo_secs=$OPTARG ;;
    m) modes=$OPTARG ;;
    P) peers=$OPTARG ;;
    R) refuse_peers=$OPTARG ;;
    b) backlog=$OPTARG ;;
    B) builddir=$OPTARG ;;
    o) raw=$OPTARG ;;
    X) extra="$extra $OPTARG" ;;
    *) usage ;;
  esac
done

. "$srcdir/bench/bench-lib.sh"
bench_enter_netns "$0" "$@"
bench_require run.sh taskset meson /usr/bin/python3
bench_build "$srcdir" "$builddir"
bin=$builddir/bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$raw" ] || raw=$work/raw.txt
: > "$raw"

# Server CPU time so far, in ns, over its threads (schedstat field 1), and
# the time it spent runnable but waiting for a CPU (field 2): how much
# other programs on CPU 0 got in its way.
cpu_ns () {
  schedstat_sum "$1" 1
}

run_delay_ns () {
  schedstat_sum "$1" 2
}

listen_overflows () {
  awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; h = 1 }
                    else print $c }' /proc/net/netstat
}

# Voluntary context switches of all its threads: how often it went to sleep
# waiting for work, i.e. main-loop wakeups.
wakeups () {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches:/ { s += $2 } END { printf "%.0f\n", s }'
}

# The binary of peer NAME or NAME+OPTS.
server_binary () {
  for e in $extra; do
    if [ "${e%%=*}" = "${1%%+*}" ]; then
      echo "${e#*=}"
      return
    fi
  done
  echo "$bin/srv-${1%%+*}"
}

available () {
  [ -x "$(server_binary "$1")" ]
}

# run_one ROUND MODE PEER: one server, one load, one line in $raw.
run_one () {
  round=$1 mode=$2 peer=$3
  portfile=$work/port

  set -- -m "$mode" -f "$portfile"
  case $peer in *+*) set -- "$@" -x "${peer#*+}" ;; esac
  case $mode in refuse) load_mode=refused ;; *) load_mode=$mode ;; esac
  case $peer in libtcp*) is_libtcp=yes ;; *) is_libtcp=no ;; esac
  if [ $is_libtcp = no ] && [ "$backlog" != default ]; then
    set -- "$@" -b "$backlog"
  fi

  bench_start_server "run.sh: srv-$peer" "$portfile" "$work/server.err" \
    taskset -c 0 "$(server_binary "$peer")" "$@"

  # Warm-up: first-use costs (type registration, arenas) are not per
  # connection.
  taskset -c 1 "$bin/loadgen" -m "$load_mode" -p "$port" -n 500 -c "$in_flight" -s 0.2 -t 20 >/dev/null || true

  ov0=$(listen_overflows)
  w0=$(wakeups $pid)
  c0=$(cpu_ns $pid)
  d0=$(run_delay_ns $pid)
  t0=$(cpu_ticks $pid)
  out=$(taskset -c 1 "$bin/loadgen" -m "$load_mode" -p "$port" -n "$conns" -c "$in_flight" \
          -s "$echo_secs" -t 60 || true)
  c1=$(cpu_ns $pid)
  d1=$(run_delay_ns $pid)
  t1=$(cpu_ticks $pid)
  w1=$(wakeups $pid)
  ov1=$(listen_overflows)
  rss=$(peak_rss_kb $pid)
  kill $pid
  wait $pid 2>/dev/null || true

  echo "round=$round peer=$peer ${out#mode=* } mode=$mode cpu_ns=$((c1 - c0)) waited_ns=$((d1 - d0)) cpu_ticks=$((t1 - t0)) wakeups=$((w1 - w0)) overflows=$((ov1 - ov0)) rss_kb=$rss" >> "$raw"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "commit: $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "network namespace: $([ -n "${BENCH_NETNS:-}" ] && echo "private (ListenOverflows are ours alone)" || echo "shared (ListenOverflows are machine-wide)")"
echo "load: $conns fortune connections / ${echo_secs}s echo, $in_flight in flight, backlog $backlog (libtcp: default), $rounds rounds"

for e in $extra; do
  peers="$peers ${e%%=*}"
done

# Rotate the order every round so that no peer always runs first or last.
r=1
while [ $r -le "$rounds" ]; do
  for mode in $modes; do
    if [ "$mode" = refuse ]; then list=$refuse_peers; else list=$peers; fi
    order=$(echo $list | awk -v r=$r '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
    for peer in $order; do
      available "$peer" || continue
      # The floor measures the accept path only: it has no echo mode.
      [ "$mode:$peer" != echo:floor ] || continue
      run_one $r "$mode" "$peer"
    done
  done
  echo "round $r of $rounds done" >&2
  r=$((r + 1))
done

/usr/bin/python3 "$srcdir/bench/summarize.py" "$raw"
