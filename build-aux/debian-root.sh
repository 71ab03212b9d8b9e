#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a command as root inside a Debian root of another (or the same)
# release: a `debootstrap --variant=minbase` system from Debian's archive,
# kept between runs and made again when missing.
#
# Usage: build-aux/debian-root.sh [-t] [-s SRCDIR] [-r DIR]... RELEASE [COMMAND [ARG...]]
#
#   RELEASE    trixie (Debian 13) or bookworm (Debian 12); 13 and 12 work too
#   COMMAND    what to run, in SRCDIR when given (else in /root); by default
#              an interactive shell
#   -s SRCDIR  binds SRCDIR read-write at the same path inside, and the git
#              repository it belongs to, read-only, when that lies outside
#              SRCDIR (a `git worktree` checkout), so build trees made inside
#              name the same paths and `meson dist` still sees git
#   -r DIR     binds DIR read-only at the same path inside (repeatable)
#   -t         a throw-away root: the pristine base system; everything the
#              command changes is dropped when it ends
#
# Without -t, the command runs in the release's development root: the base
# system plus what earlier commands installed there (an overlay kept in the
# cache), so build-aux/install-deps.sh costs little after the first run. One
# command at a time uses it; another waits for it.
#
# The command runs in private mount and PID namespaces: when it ends, fails
# or is killed, the kernel takes down every mount made for it and ends every
# process it left behind. Nothing stays mounted on the host.
#
# Environment:
#   TCP_ROOT_CACHE     where the roots live (default /var/cache/libtcp-roots;
#                      remove RELEASE/ there to start from a new debootstrap)
#   TCP_DEBIAN_MIRROR  the archive (default http://deb.debian.org/debian)
# Passed into the root (everything else is cleared): CI, DEB_BUILD_OPTIONS,
# TCP_SOCKS5_TEST_USER, TCP_BUILDDIR, TCP_ASAN_BUILDDIR, TCP_FUZZ_BUILDDIR.
set -eu

passed_vars="CI DEB_BUILD_OPTIONS TCP_SOCKS5_TEST_USER TCP_BUILDDIR TCP_ASAN_BUILDDIR TCP_FUZZ_BUILDDIR"
root_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage () {
  sed -n '7,18p' "$0" >&2
  exit 2
}

# Second stage, in the new namespaces (see the end of this file): assemble
# the root and run the command in it.
if [ "${TCP_ROOT_STAGE:-}" = inside ]; then
  root=$TCP_ROOT_DIR/root
  mkdir -p "$root" "$TCP_ROOT_DIR/fs" "$TCP_ROOT_DIR/work"
  mount -t overlay overlay \
    -o "lowerdir=$TCP_ROOT_BASE,upperdir=$TCP_ROOT_DIR/fs,workdir=$TCP_ROOT_DIR/work" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  mount -t tmpfs -o mode=755 tmpfs "$root/run"
  mkdir -p "$root/run/lock" "$root/var/cache/apt/archives"
  # Downloaded packages are kept per release, outside the overlay, and shared
  # by the development root and the throw-away ones.
  mount --bind "$TCP_ROOT_ARCHIVES" "$root/var/cache/apt/archives"
  cp /etc/resolv.conf "$root/etc/resolv.conf"

  # bind_dir DIR ro|rw
  bind_dir () {
    mkdir -p "$root$1"
    mount --bind "$1" "$root$1"
    if [ "$2" = ro ]; then
      mount -o remount,bind,ro "$root$1"
    fi
  }
  workdir=/root
  if [ -n "$TCP_ROOT_SRCDIR" ]; then
    bind_dir "$TCP_ROOT_SRCDIR" rw
    workdir=$TCP_ROOT_SRCDIR
    if [ -n "$TCP_ROOT_GITDIR" ]; then
      bind_dir "$TCP_ROOT_GITDIR" ro
    fi
  fi
  for dir in $TCP_ROOT_RO_DIRS; do
    bind_dir "$dir" ro
  done

  [ $# -gt 0 ] || set -- bash -l
  # shellcheck disable=SC2086
  set -- env -i HOME=/root LANG=C.UTF-8 PATH="$root_path" TERM="${TERM:-dumb}" \
    $TCP_ROOT_ENV "$@"
  # PID 1 of the namespace stays this shell: when it returns, the kernel
  # ends whatever the command left running.
  status=0
  chroot "$root" /bin/sh -c 'cd "$1" && shift && "$@"' sh "$workdir" "$@" || status=$?
  exit $status
fi

throwaway=false
srcdir=
ro_dirs=
while getopts ts:r:h opt; do
  case $opt in
    t) throwaway=true ;;
    s) srcdir=$(cd "$OPTARG" && pwd -P) ;;
    r) ro_dirs="$ro_dirs $(cd "$OPTARG" && pwd -P)" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
case $1 in
  13|trixie) release=trixie ;;
  12|bookworm) release=bookworm ;;
  *) echo "debian-root.sh: unknown release '$1' (trixie or bookworm)" >&2; exit 2 ;;
esac
shift

for dir in "$srcdir" $ro_dirs; do
  case $dir in
    *[[:space:]]*) echo "debian-root.sh: paths with spaces are not supported: $dir" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "debian-root.sh: needs root (debootstrap, mount, chroot); try sudo" >&2
  exit 1
fi

cache=${TCP_ROOT_CACHE:-/var/cache/libtcp-roots}
mirror=${TCP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
top=$cache/$release
mkdir -p "$top/archives/partial"

# The base system, made once. debootstrap writes into a scratch directory
# that becomes the base only when complete, so an interrupted run leaves
# nothing half made behind.
exec 8>"$top/base.lock"
flock 8
if [ ! -f "$top/base/etc/libtcp-base-id" ]; then
  if ! command -v debootstrap >/dev/null; then
    # CI ran apt-get update in install-deps.sh already; update only when the
    # package lists are missing.
    if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
      apt-get update -q
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
  fi
  echo "debian-root.sh: making the $release base system in $top/base ($mirror)" >&2
  rm -rf "$top/base.new" "$top/base"
  debootstrap --variant=minbase --cache-dir="$top/archives" \
    "$release" "$top/base.new" "$mirror" >"$top/debootstrap.log" 2>&1 || {
    tail -20 "$top/debootstrap.log" >&2
    echo "debian-root.sh: debootstrap failed; the whole log is $top/debootstrap.log" >&2
    exit 1
  }
  # Packages never start services in the root (danted, for one).
  printf '#!/bin/sh\nexit 101\n' > "$top/base.new/usr/sbin/policy-rc.d"
  chmod 755 "$top/base.new/usr/sbin/policy-rc.d"
  date -u +%Y%m%dT%H%M%SZ > "$top/base.new/etc/libtcp-base-id"
  mv "$top/base.new" "$top/base"
fi
flock -u 8

# The overlay's upper layer: kept for the development root (and thrown away
# with a base it no longer matches), new for a throw-away root.
if [ "$throwaway" = true ]; then
  layer=$(mktemp -d "$top/throwaway.XXXXXX")
  trap 'rm -rf "$layer"' EXIT
  trap 'exit 130' INT TERM
else
  layer=$top/dev
  exec 9>"$top/dev.lock"
  if ! flock -n 9; then
    echo "debian-root.sh: waiting for another command in the $release root" >&2
    flock 9
  fi
  if ! cmp -s "$top/base/etc/libtcp-base-id" "$layer/base-id"; then
    rm -rf "$layer"
    mkdir -p "$layer"
    cp "$top/base/etc/libtcp-base-id" "$layer/base-id"
  fi
fi

# A worktree's repository lies outside it; bind it too, so git works inside.
gitdir=
if [ -n "$srcdir" ] && common=$(git -C "$srcdir" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
  case $common in
    "$srcdir"/*) ;;
    *) gitdir=$common ;;
  esac
fi

root_env=
for name in $passed_vars; do
  eval "value=\${$name-}"
  eval "isset=\${$name+set}"
  if [ "$isset" = set ]; then
    case $value in
      *[[:space:]]*) echo "debian-root.sh: $name has spaces; not passed" >&2 ;;
      *) root_env="$root_env $name=$value" ;;
    esac
  fi
done

TCP_ROOT_STAGE=inside TCP_ROOT_DIR=$layer TCP_ROOT_BASE=$top/base \
TCP_ROOT_ARCHIVES=$top/archives TCP_ROOT_SRCDIR=$srcdir TCP_ROOT_GITDIR=$gitdir \
TCP_ROOT_RO_DIRS=$ro_dirs TCP_ROOT_ENV=$root_env \
  unshare --mount --propagation private --pid --fork --kill-child sh "$0" "$@" 8>&- 9>&-
