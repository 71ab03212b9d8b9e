#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what bench/ needs beyond build-aux/install-deps.sh: the Qt 5 and
# libuv peers, taskset (util-linux), ip (iproute2, for run.sh's network
# namespace, missing from a minimal root), strace and perf (linux-perf, for
# count.sh's unslowed system-call count and for profiling); for the TLS
# benchmarks (run-tls.sh) GnuTLS's development files (tls-loadgen and the
# bare GnuTLS floor), Qt 6's QSslServer with its OpenSSL backend, and
# openssl for the throw-away certificate. CI does not run the benchmarks,
# so these stay out of build-aux/install-deps.sh.
set -eu

packages="qtbase5-dev libuv1-dev util-linux strace procps linux-perf iproute2
  libgnutls28-dev qt6-base-dev openssl glib-networking"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
fi

$sudo apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $packages
