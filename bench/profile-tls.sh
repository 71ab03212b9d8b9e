#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where does one TLS peer spend its time? Runs it under tls-loadgen as
# run-tls.sh does (server on CPU 0, load on CPU 1, 16 in flight) and prints,
# per handshake: context switches, migrations and system calls under load
# (perf stat), system calls by name at one in flight (strace -c), the
# writes of one handshake with their sizes (strace), and the functions that
# take the most of the server's CPU, inclusive, over all its threads (perf
# record --call-graph dwarf). Run bench/run-tls.sh once first (it builds
# bench/). PEER+1ca runs the peer with the one-certificate trust file.
#
#   bench/profile-tls.sh [-s SECONDS] [-B BUILDDIR] [-X BINARY] PEER[+1ca]
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
seconds=4
builddir=$srcdir/_bench
binary=

while getopts s:B:X: opt; do
  case $opt in
    s) seconds=$OPTARG ;;
    B) builddir=$OPTARG ;;
    X) binary=$OPTARG ;;
    *) sed -n '3,12p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { sed -n '3,12p' "$0" >&2; exit 2; }
peer=$1
bin=$builddir/bench
[ -n "$binary" ] || binary=$bin/srv-tls-${peer%+1ca}

for tool in perf strace taskset openssl; do
  command -v "$tool" >/dev/null || { echo "profile-tls.sh: $tool is missing (bench/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
system_ca=/etc/ssl/certs/ca-certificates.crt
sed -n '1,/-----END CERTIFICATE-----/p' "$system_ca" > "$work/one-ca.crt"

set -- -f "$work/port" -c "$work/cert.pem" -k "$work/key.pem"
case $peer in libtcp*) ;; *) set -- "$@" -b 4096 ;; esac
case $peer in
  *+1ca)
    unshare --mount --propagation private sh -c \
      'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$work/one-ca.crt" "$system_ca" \
      taskset -c 0 "$binary" "$@" >/dev/null 2>"$work/server.err" &
    ;;
  *)
    taskset -c 0 "$binary" "$@" >/dev/null 2>"$work/server.err" &
    ;;
esac
pid=$!
while [ ! -s "$work/port" ]; do
  kill -0 $pid 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.05
done
port=$(cat "$work/port")

load () {
  taskset -c 1 "$bin/tls-loadgen" -p "$port" -t 120 -n 100000 "$@" 2>/dev/null || true
}

ok_of () {
  sed -n 's/.* ok=\([0-9]*\) .*/\1/p'
}

load -n 200 -c 16 -s 1 >/dev/null

echo "== $peer: per handshake under load (perf stat, 16 in flight, ${seconds}s)"
perf stat -x, -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter \
  -p $pid -o "$work/stat" &
spid=$!
sleep 0.2
n=$(load -c 16 -s "$seconds" | ok_of)
kill -INT $spid
wait $spid 2>/dev/null || true
awk -F, -v n="$n" '$3 ~ /^(task-clock|context-switches|cpu-migrations|raw_syscalls:sys_enter)$/ {
    printf "  %-24s %10.2f%s\n", $3, $1 / n, ($3 == "task-clock" ? " ms" : "") }
  END { printf "  (%d handshakes)\n", n }' "$work/stat"

echo "== $peer: system calls per handshake by name (strace -c -f, 1 in flight)"
strace -c -f -p $pid -o "$work/strace" 2>/dev/null &
tpid=$!
sleep 0.5
n=$(load -c 1 -n 100 | ok_of)
sleep 0.2
kill -INT $tpid
wait $tpid 2>/dev/null || true
awk -v n="$n" '/^-/ || /^%/ || NF < 4 { next }
  $NF != "total" { printf "  %-18s %.2f\n", $NF, $4 / n }' "$work/strace"

echo "== $peer: one handshake's socket writes and options (strace -f)"
strace -f -p $pid -e trace=sendto,sendmsg,write,writev,setsockopt,accept,accept4 \
  -e signal=none -o "$work/one" 2>/dev/null &
tpid=$!
sleep 0.5
load -c 1 -n 1 >/dev/null
sleep 0.2
kill -INT $tpid
wait $tpid 2>/dev/null || true
# Only socket traffic: the main loop's wakeup-fd writes are 8-byte
# write()s to an eventfd.
sed -e 's/^[0-9]* *//' -e 's/\(sendto([0-9]*, \)"[^"]*"\.*/\1.../' \
    -e 's/\(write[v]*([0-9]*, \)"[^"]*"\.*/\1.../' "$work/one" | grep -v '= -1 EAGAIN' | sed 's/^/  /'

echo "== $peer: where the server's CPU goes, inclusive, all threads (perf record, ${seconds}s)"
perf record -q --call-graph dwarf,16384 -F 1999 -p $pid -o "$work/perf.data" 2>/dev/null &
rpid=$!
sleep 0.5
load -c 16 -s "$seconds" >/dev/null
kill -INT $rpid
wait $rpid 2>/dev/null || true
kill $pid
wait $pid 2>/dev/null || true
echo "  -- self time by library"
perf report -i "$work/perf.data" --stdio --no-children --sort dso -g none \
  --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
echo "  -- inclusive, by function (static functions of stripped libraries show as addresses)"
perf report -i "$work/perf.data" --stdio --children --sort dso,symbol -g none \
  --percent-limit 2 2>/dev/null | grep -v '^#' | grep -v '^$' | grep -v ' 0x0000' | head -70
