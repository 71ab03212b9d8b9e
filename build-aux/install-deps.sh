#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs, from Debian 12's packages, everything libtcp needs to build, run
# its demo, and run its whole test suite (bindings, TLS, SOCKS5, docs,
# valgrind and sanitizers included).
set -eu

packages="
  build-essential pkg-config meson ninja-build git
  libglib2.0-dev libglib2.0-bin gobject-introspection libgirepository1.0-dev gir1.2-glib-2.0
  valac gjs python3 python3-gi python3-pytest
  gir1.2-gtk-4.0 xvfb xauth
  glib-networking gnutls-bin openssl
  dante-server
  gi-docgen
  valgrind clang libclang-rt-14-dev strace procps
"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
fi

$sudo apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $packages

# The SOCKS5 tests check username/password authentication against dante,
# whose "username" method looks users up in the system password database.
# This unprivileged account (no home, no login shell, a password known to the
# tests) exists for that alone. It is created in CI (CI=true) or when asked
# with TCP_SOCKS5_TEST_USER=1; elsewhere that one test is skipped.
socks5_user=tcp-socks5-test
if [ "${CI:-}" = true ] || [ "${TCP_SOCKS5_TEST_USER:-}" = 1 ]; then
  if ! getent passwd "$socks5_user" >/dev/null; then
    $sudo useradd --system --no-create-home --shell /usr/sbin/nologin "$socks5_user"
    echo "$socks5_user:socks5-test-pw" | $sudo chpasswd
  fi
fi
