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

# ListenOverflows is counted per network namespace: as root, run in a
# namespace of our own so that other programs on the machine (test suites
# hammering their own listeners) do not show up in our count.
if [ -z "${BENCH_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
   command -v ip >/dev/null; then
  exec unshare --net env BENCH_NETNS=1 sh "$0" "$@"
fi
if [ -n "${BENCH_NETNS:-}" ]; then
  ip link set lo up
fi

for tool in taskset meson /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (bench/install-deps.sh)" >&2; exit 1; }
done

if [ -d "$builddir" ]; then
  meson setup --reconfigure "$builddir" -Dbenchmarks=true >/dev/null
else
  meson setup "$builddir" "$srcdir" -Dbenchmarks=true -Dintrospection=disabled \
    -Dtests=false -Dexamples=false >/dev/null
fi
meson compile -C "$builddir" -j2 >/dev/null
bin=$builddir/bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$raw" ] || raw=$work/raw.txt
: > "$raw"

# Server CPU time so far, in ns: the sum over its threads of the time on CPU
# (/proc/PID/task/*/schedstat, field 1). Sums are printed with "%.0f": awk
# is mawk on Debian, whose printf "%d" stops at 2^31 - 1 (2.147 s in ns),
# and whose print turns large numbers into "3e+09".
cpu_ns () {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# Time it spent runnable but waiting for a CPU, in ns (schedstat field 2):
# how much other programs on CPU 0 got in its way.
run_delay_ns () {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f\n", s }'
}

# utime + stime in clock ticks (/proc/PID/stat fields 14 and 15), a coarse
# cross-check of cpu_ns that also counts threads that have exited.
cpu_ticks () {
  sed 's/^.*) //' /proc/"$1"/stat | awk '{ printf "%.0f\n", $12 + $13 }'
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

peak_rss_kb () {
  awk '/^VmHWM:/ { print $2 }' /proc/"$1"/status
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

  rm -f "$portfile"
  taskset -c 0 "$(server_binary "$peer")" "$@" >/dev/null 2>"$work/server.err" &
  pid=$!
  i=0
  while [ ! -s "$portfile" ]; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
      echo "run.sh: srv-$peer did not start:" >&2
      cat "$work/server.err" >&2
      exit 1
    fi
    sleep 0.05
  done
  port=$(cat "$portfile")

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
  case ${e%%=*} in libtcp*) refuse_peers="$refuse_peers ${e%%=*}" ;; esac
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
