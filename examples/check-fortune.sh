#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a fortune server example end to end against a fortune client example
# and checks that each client receives one of the fortunes.
#   check-fortune.sh SERVER [ARG...] -- CLIENT [ARG...]
# The server is started with --count 2 --port-file FILE and must exit by
# itself after serving two clients.
set -eu

server_cmd=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  server_cmd="$server_cmd \"$1\""
  shift
done
[ $# -gt 0 ] || { echo "usage: $0 SERVER [ARG...] -- CLIENT [ARG...]" >&2; exit 2; }
shift

tmpdir=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
  fi
  rm -rf "$tmpdir"
}
trap cleanup EXIT

port_file="$tmpdir/port"
eval "$server_cmd --count 2 --port-file \"$port_file\"" &
server=$!

tries=0
while [ ! -s "$port_file" ]; do
  tries=$((tries + 1))
  if [ $tries -gt 200 ] || ! kill -0 "$server" 2>/dev/null; then
    echo "FAIL: the fortune server did not start" >&2
    exit 1
  fi
  sleep 0.05
done
port=$(cat "$port_file")

for i in 1 2; do
  timeout 20 "$@" 127.0.0.1 "$port" > "$tmpdir/fortune"
  echo "Client $i received: $(cat "$tmpdir/fortune")"
  if [ "$(wc -l < "$tmpdir/fortune")" -ne 1 ] ||
     ! grep -Fxq -f "$tmpdir/fortune" <<'FORTUNES'
You've been leading a dog's life. Stay off the furniture.
You've got to think about tomorrow.
You will be surprised by a loud noise.
You will feel hungry again in another hour.
You might have mail.
You cannot kill time without injuring eternity.
Computers are not intelligent. They only think they are.
FORTUNES
  then
    echo "FAIL: not one of the fortunes" >&2
    exit 1
  fi
done

# The server exits by itself after --count 2; give it a bounded time.
tries=0
while kill -0 "$server" 2>/dev/null; do
  tries=$((tries + 1))
  if [ $tries -gt 200 ]; then
    echo "FAIL: the server did not exit after two fortunes" >&2
    exit 1
  fi
  sleep 0.05
done
wait "$server"
server=""
echo "PASS"
