#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the fortune server for one client and the fortune client against it.
#   fortune-demo.sh DIR   (DIR holds the built fortune-server and fortune-client)
set -eu

dir=${1:-$(dirname "$0")}
port_file=$(mktemp)
trap 'rm -f "$port_file"' EXIT

"$dir"/fortune-server --count 1 --port-file "$port_file" &
server=$!

tries=0
while [ ! -s "$port_file" ]; do
  tries=$((tries + 1))
  if [ $tries -gt 100 ] || ! kill -0 $server 2>/dev/null; then
    echo "The fortune server did not start" >&2
    exit 1
  fi
  sleep 0.05
done

port=$(cat "$port_file")
echo "Asking 127.0.0.1 port $port for a fortune:"
"$dir"/fortune-client 127.0.0.1 "$port"
wait $server
