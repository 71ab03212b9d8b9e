#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the TLS fortune server with fresh certificates, sends it a plaintext
# client (which it must drop) and then a TLS client (Python's ssl module,
# verifying the server against the test CA) that must get a fortune.
#   tls-fortune-demo.sh BUILDDIR MAKE-TEST-CERTS
set -eu

dir=$1
make_certs=$2
work=$(mktemp -d)
server=""
cleanup () {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$make_certs" "$work"

"$dir"/tls-fortune-server --cert "$work/server.crt" --key "$work/server.key" \
  --count 1 --port-file "$work/port" 2>"$work/server.err" &
server=$!

tries=0
while [ ! -s "$work/port" ]; do
  tries=$((tries + 1))
  if [ $tries -gt 100 ] || ! kill -0 $server 2>/dev/null; then
    echo "The TLS fortune server did not start" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  sleep 0.05
done
port=$(cat "$work/port")

/usr/bin/python3 - "$port" "$work/ca.crt" <<'PY'
import socket
import ssl
import sys

port, ca = int(sys.argv[1]), sys.argv[2]

# A plaintext client is dropped: the server closes without a fortune.
with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
    plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
    try:
        data = plain.recv(100)
    except ConnectionResetError:
        data = b""
    assert b"\n" not in data, data

context = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        line = tls.makefile("rb").readline().decode()
assert line.endswith("\n") and len(line) > 1, repr(line)
print("Fortune over TLS:", line.strip())
PY

wait $server
server=""
grep -q "Dropped a client" "$work/server.err" || {
  echo "The server did not report the plaintext client" >&2
  exit 1
}
