#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs, from Debian's packages, everything libtcp needs to build, run
# its demo, and run its whole test suite (bindings, TLS, SOCKS5, docs,
# valgrind and sanitizers included). Debian 12 (bookworm) and Debian 13
# (trixie) take the same names, except for dante-server (see below).
set -eu

packages="
  build-essential pkg-config meson ninja-build git
  libglib2.0-dev libglib2.0-bin gobject-introspection libgirepository1.0-dev gir1.2-glib-2.0
  valac gjs python3 python3-gi python3-pytest
  gir1.2-gtk-4.0 xvfb xauth
  glib-networking gnutls-bin openssl
  gi-docgen
  valgrind clang libclang-rt-dev strace procps
"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
fi

# The SOCKS5 tests need a real proxy with BIND: dante. Debian 13 dropped
# dante-server; Debian 12's package installs and runs there (it needs only
# libc, libcrypt, libpam and libwrap). So where the release has none, this
# adds bookworm's archive at pin priority 1, which apt uses for nothing but
# what is asked for from it by name: dante-server/bookworm.
bookworm_sources=/etc/apt/sources.list.d/libtcp-bookworm-dante.sources
bookworm_pin=/etc/apt/preferences.d/libtcp-bookworm-dante

$sudo apt-get update -q
dante=dante-server
if ! apt-cache show dante-server 2>/dev/null | grep -q '^Version:'; then
  if [ ! -f "$bookworm_sources" ]; then
    echo "install-deps.sh: no dante-server in this release; taking Debian 12's (bookworm)" >&2
    printf '%s\n' \
      '# Added by libtcp'"'"'s build-aux/install-deps.sh for dante-server alone.' \
      'Types: deb' \
      'URIs: http://deb.debian.org/debian' \
      'Suites: bookworm' \
      'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
      $sudo tee "$bookworm_sources" >/dev/null
    printf '%s\n' \
      '# Added by libtcp'"'"'s build-aux/install-deps.sh: nothing from bookworm' \
      '# unless asked for by name (dante-server/bookworm).' \
      'Package: *' \
      'Pin: release n=bookworm' \
      'Pin-Priority: 1' |
      $sudo tee "$bookworm_pin" >/dev/null
    $sudo apt-get update -q
  fi
  dante=dante-server/bookworm
fi
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $packages "$dante"

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
