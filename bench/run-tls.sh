#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds bench/, then runs every TLS peer server against tls-loadgen over
# several interleaved rounds and prints a table of medians, each also as a
# ratio to the bare GnuTLS floor. See bench/README.md, "TLS handshakes".
#
#   bench/run-tls.sh [-r ROUNDS] [-n HANDSHAKES] [-s SECONDS] [-c IN_FLIGHT]
#                    [-l LATENCY_SECONDS] [-P "floor qt gio libtcp"]
#                    [-T "gio libtcp"] [-b BACKLOG] [-B BUILDDIR] [-o RAW_FILE]
#                    [-V]   (also the analysis variants gio-nulldb and gio-lean)
#                    [-X NAME=SERVER_BINARY]...   (an extra peer, e.g. another build)
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
rounds=14
handshakes=20000
seconds=3
in_flight=16
latency_secs=2
peers="floor qt gio libtcp"
one_ca_peers="gio libtcp"
backlog=4096
builddir=$srcdir/_bench
raw=
extra=
variants=no

usage () {
  sed -n '3,11p' "$0" >&2
  exit 2
}

while getopts r:n:s:c:l:P:T:b:B:o:VX:h opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    n) handshakes=$OPTARG ;;
    s) seconds=$OPTARG ;;
    c) in_flight=$OPTARG ;;
    l) latency_secs=$OPTARG ;;
    P) peers=$OPTARG ;;
    T) one_ca_peers=$OPTARG ;;
    b) backlog=$OPTARG ;;
    B) builddir=$OPTARG ;;
    o) raw=$OPTARG ;;
    V) variants=yes ;;
    X) extra="$extra $OPTARG" ;;
    *) usage ;;
  esac
done

. "$srcdir/bench/bench-lib.sh"
bench_enter_netns "$0" "$@"
bench_require run-tls.sh taskset meson openssl /usr/bin/python3
bench_build "$srcdir" "$builddir"
bin=$builddir/bench
[ -x "$bin/tls-loadgen" ] || { echo "run-tls.sh: tls-loadgen was not built: GnuTLS's development files are missing (bench/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$raw" ] || raw=$work/raw.txt
: > "$raw"

# The certificate: ECDSA P-256, self-signed, made for this run only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# The system trust store that GnuTLS (and so glib-networking's default
# database) loads on Debian, and a stand-in holding only its first
# certificate, for the "+1ca" rows. Those servers run in a mount namespace
# of their own where the stand-in is bind-mounted over the real file:
# nothing changes for the rest of the machine.
system_ca=/etc/ssl/certs/ca-certificates.crt
one_ca_ok=no
if [ -s "$system_ca" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  sed -n '1,/-----END CERTIFICATE-----/p' "$system_ca" > "$work/one-ca.crt"
  if unshare --mount --propagation private sh -c \
       'mount --bind "$1" "$2" && [ "$(wc -c < "$2")" -lt 10000 ]' sh "$work/one-ca.crt" "$system_ca"; then
    one_ca_ok=yes
  fi
fi
if [ $one_ca_ok = no ]; then
  echo "run-tls.sh: cannot run the +1ca rows (needs root, unshare and $system_ca)" >&2
fi

clk_tck=$(getconf CLK_TCK)

# -V: srv-tls-gio with a NULL database (gio-nulldb), and with TCP_NODELAY
# too (gio-lean), through its analysis variables; exec keeps the PID.
if [ $variants = yes ]; then
  printf '#!/bin/sh\nBENCH_TLS_DATABASE=none exec "%s" "$@"\n' "$bin/srv-tls-gio" > "$work/gio-nulldb"
  printf '#!/bin/sh\nBENCH_TLS_DATABASE=none BENCH_TLS_NODELAY=1 exec "%s" "$@"\n' "$bin/srv-tls-gio" > "$work/gio-lean"
  chmod +x "$work/gio-nulldb" "$work/gio-lean"
  extra="gio-nulldb=$work/gio-nulldb gio-lean=$work/gio-lean $extra"
fi

# The server's CPU time so far, in ns, over all its threads, the exited
# ones too (glib-networking's handshakes run in GLib worker threads that
# come and go): the process CPU-time clock, read by proc-cpu.
cpu_ns () {
  "$bin/proc-cpu" "$1"
}

# Only the threads alive now (/proc/PID/task/*/schedstat field 1), to show
# what a per-thread sum would have missed.
live_threads_ns () {
  schedstat_sum "$1" 1
}

# Time the server's threads spent runnable but waiting for CPU 0, in ns
# (schedstat field 2): other programs in its way. Live threads only, which
# is close enough here: GLib's worker threads outlive a pass.
run_delay_ns () {
  schedstat_sum "$1" 2
}

threads () {
  sed 's/^.*) //' /proc/"$1"/stat | awk '{ print $18 }'
}

# CPU 0's busy and stolen time so far, in clock ticks (/proc/stat): busy
# minus the server's own CPU is what other programs took on the server's
# CPU during the run.
cpu0_busy_ticks () {
  awk '$1 == "cpu0" { printf "%.0f\n", $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

steal_ticks () {
  awk '$1 == "cpu" { printf "%.0f\n", $9 }' /proc/stat
}

server_binary () {
  for e in $extra; do
    if [ "${e%%=*}" = "${1%+1ca}" ]; then
      echo "${e#*=}"
      return
    fi
  done
  echo "$bin/srv-tls-${1%+1ca}"
}

available () {
  [ -x "$(server_binary "$1")" ]
}

# measure PEER PID PASS LOADGEN_ARGS...: one load, one line in $raw.
measure () {
  peer=$1 pid=$2 pass=$3
  shift 3

  c0=$(cpu_ns $pid)
  d0=$(run_delay_ns $pid)
  t0=$(cpu_ticks $pid)
  b0=$(cpu0_busy_ticks)
  s0=$(steal_ticks)
  out=$(taskset -c 1 "$bin/tls-loadgen" -p "$port" -t 120 "$@" 2>>"$work/loadgen.err" || true)
  c1=$(cpu_ns $pid)
  d1=$(run_delay_ns $pid)
  t1=$(cpu_ticks $pid)
  b1=$(cpu0_busy_ticks)
  s1=$(steal_ticks)
  live=$(live_threads_ns $pid)

  echo "round=$round peer=$peer pass=$pass $out cpu_ns=$((c1 - c0)) waited_ns=$((d1 - d0)) cpu_ticks=$((t1 - t0)) clk_tck=$clk_tck cpu0_busy_ticks=$((b1 - b0)) steal_ticks=$((s1 - s0)) live_threads_ns=$live cpu_total_ns=$c1 threads=$(threads $pid) rss_kb=$(peak_rss_kb $pid)" >> "$raw"
}

# run_one ROUND PEER: one server, a warm-up, the load at IN_FLIGHT, then
# the latency pass at one in flight.
run_one () {
  round=$1 peer=$2
  portfile=$work/port

  set -- -f "$portfile" -c "$work/cert.pem" -k "$work/key.pem"
  case $peer in libtcp*) ;; *) [ "$backlog" = default ] || set -- "$@" -b "$backlog" ;; esac

  rm -f "$portfile"
  case $peer in
    *+1ca)
      # exec all the way down, so that $! is the server itself.
      unshare --mount --propagation private sh -c \
        'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$work/one-ca.crt" "$system_ca" \
        taskset -c 0 "$(server_binary "$peer")" "$@" >/dev/null 2>"$work/server.err" &
      ;;
    *)
      taskset -c 0 "$(server_binary "$peer")" "$@" >/dev/null 2>"$work/server.err" &
      ;;
  esac
  pid=$!
  i=0
  while [ ! -s "$portfile" ]; do
    i=$((i + 1))
    if [ $i -gt 400 ] || ! kill -0 $pid 2>/dev/null; then
      echo "run-tls.sh: srv-tls-$peer did not start:" >&2
      cat "$work/server.err" >&2
      exit 1
    fi
    sleep 0.05
  done
  port=$(cat "$portfile")

  # Warm-up: first-use costs (the backend module, type registration, the
  # worker threads) are not per handshake.
  taskset -c 1 "$bin/tls-loadgen" -p "$port" -n 200 -c "$in_flight" -s 1 -t 60 >/dev/null 2>&1 || true

  measure "$peer" $pid load -n "$handshakes" -s "$seconds" -c "$in_flight"
  measure "$peer" $pid latency -n "$handshakes" -s "$latency_secs" -c 1

  kill $pid
  wait $pid 2>/dev/null || true
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "commit: $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "network namespace: $([ -n "${BENCH_NETNS:-}" ] && echo private || echo shared)"
echo "load: TLS 1.3, X25519, ECDSA P-256, no resumption; $in_flight in flight for ${seconds}s (at most $handshakes handshakes), then 1 in flight for ${latency_secs}s; backlog $backlog (libtcp: default); $rounds rounds"
echo "system trust store: $system_ca, $(wc -c < "$system_ca" 2>/dev/null || echo 0) bytes; +1ca rows: $([ $one_ca_ok = yes ] && echo "its first certificate alone, $(wc -c < "$work/one-ca.crt") bytes" || echo "not run")"

for e in $extra; do
  peers="$peers ${e%%=*}"
done
if [ $one_ca_ok = yes ]; then
  for p in $one_ca_peers; do
    peers="$peers $p+1ca"
  done
fi

# Rotate the order every round so that no peer always runs first or last.
r=1
while [ $r -le "$rounds" ]; do
  order=$(echo $peers | awk -v r=$r '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
  for peer in $order; do
    available "$peer" || continue
    run_one $r "$peer"
  done
  echo "round $r of $rounds done" >&2
  r=$((r + 1))
done

if [ -s "$work/loadgen.err" ]; then
  echo "tls-loadgen reported (first lines):" >&2
  head -5 "$work/loadgen.err" >&2
fi

/usr/bin/python3 "$srcdir/bench/summarize-tls.py" "$raw"
