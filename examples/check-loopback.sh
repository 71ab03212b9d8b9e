#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a loopback example and checks that every byte arrived.
#   check-loopback.sh BYTES PROGRAM [ARG...]   (PROGRAM gets --bytes BYTES)
set -eu

bytes=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT

timeout 60 "$@" --bytes "$bytes" | tee "$out"

fail() {
  echo "FAIL: $1" >&2
  exit 1
}
grep -Fxq "Client sent $bytes bytes" "$out" || fail "the client did not send $bytes bytes"
grep -Fxq "Server received $bytes bytes" "$out" || fail "the server did not receive $bytes bytes"
grep -Eq "^Server received [0-9]+ of $bytes bytes$" "$out" || fail "no progress was printed"
echo "PASS"
