#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds libtcp's Debian packages from debian/ (dpkg-buildpackage -us -uc -b)
# in a root of each Debian release, checks them with that release's lintian
# (no error and no warning allowed), then installs them into a clean root of
# the same release, one with no build tree and nothing but the packages and
# what debian/tests/control asks for, and runs debian/tests/fortune there:
# the fortune server and client in C, Python, GJS and Vala against /usr.
# The roots come from build-aux/debian-root.sh.
#
# Usage: build-aux/check-debian-packages.sh [RELEASE...]   (default: bookworm trixie)
#   The packages are left in _build-debs/RELEASE/debs/; each check's outcome
#   in _build-debs/testlog.json, as meson writes its test logs.
set -eu

cd "$(dirname "$0")/.."
srcdir=$(pwd -P)
releases=${*:-bookworm trixie}
version=$(sed -n "s/^  version: '\([^']*\)',$/\1/p" meson.build)
out=$srcdir/_build-debs

# export_tree DEST: the files of the tree as git sees them (committed or
# not, without what .gitignore leaves out: no build trees); everything but
# build trees where this is no git checkout.
export_tree () {
  mkdir -p "$1"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
      tar --null -T - --ignore-failed-read -cf - | tar -C "$1" -xf -
  else
    tar --exclude='./_build*' --exclude=./_bench -cf - . | tar -C "$1" -xf -
  fi
}

status=0
mkdir -p "$out"
log=$out/testlog.json
: > "$log"
# result NAME OK|FAIL: one line of the log, in meson's testlog.json form.
result () {
  printf '{"name": "%s", "result": "%s"}\n' "$1" "$2" >> "$log"
  [ "$2" = OK ] || status=1
}

for release in $releases; do
  dir=$out/$release
  echo "== $release: building libtcp $version's packages"
  rm -rf "$dir"
  export_tree "$dir/libtcp-$version"
  # What the clean root gets: the examples and the test, not the build tree.
  mkdir -p "$dir/debs" "$dir/test/debian"
  cp -R "$dir/libtcp-$version/examples" "$dir/test/"
  cp -R "$dir/libtcp-$version/debian/tests" "$dir/test/debian/"

  if ! build-aux/debian-root.sh -s "$dir" "$release" sh -euc '
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      apt-get build-dep -y -q "./libtcp-$1"
      apt-get install -y -q lintian
      (cd "libtcp-$1" && dpkg-buildpackage -us -uc -b -j2)
      echo "== lintian $(lintian --version | cut -d" " -f2)"
      lintian --fail-on error,warning ./*.changes
      mv ./*.deb debs/' sh "$version"; then
    echo "== $release: FAILED to build the packages or lintian complained" >&2
    result "debs-$release-build-lintian" FAIL
    continue
  fi
  result "debs-$release-build-lintian" OK

  echo "== $release: installing them into a clean root and running debian/tests/fortune"
  if ! build-aux/debian-root.sh -t -r "$dir/debs" -r "$dir/test" "$release" sh -euc '
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      # The test dependencies, as debian/tests/control lists them (the
      # first of each alternative), and the packages themselves.
      deps=$(sed -n "/^Depends:/,/^[A-Z]/{s/^ \([^ ,|]*\).*/\1/p}" "$2/debian/tests/control")
      apt-get install -y -q $deps $(ls "$1"/*.deb | grep -v -- -dbgsym_)
      dpkg -l "libtcp*" "gir1.2-tcp*" | grep "^ii"
      cd "$2"
      # Nothing set but the default PATH (the compilers need one).
      env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh debian/tests/fortune' \
      sh "$dir/debs" "$dir/test"; then
    echo "== $release: FAILED in the clean root" >&2
    result "debs-$release-clean-root" FAIL
    continue
  fi
  result "debs-$release-clean-root" OK
  echo "== $release: OK"
done
exit $status
