#!/bin/sh
# scripts/install.sh install|uninstall: what `make install` and `make
# uninstall` do, after the Makefile built the binaries and the generated
# pages (see the Makefile; PREFIX, DESTDIR, BUILD and SHARE come from it).
#
# install records every file it writes, and every directory it had to
# create, in PREFIX/share/doc/rootwrap/install-manifest; uninstall removes
# exactly those (directories only when empty) and the manifest.
set -eu

action=${1:-}
: "${PREFIX:?PREFIX is not set}" "${BUILD:?}" "${SHARE:?}"
DESTDIR=${DESTDIR:-}
case $PREFIX in
  /*) ;;
  *) echo "install.sh: PREFIX must be absolute: $PREFIX" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
docdir=$PREFIX/share/doc/rootwrap
manifest=$docdir/install-manifest

# Root-owned when run as root (`sudo make install`); a packager building as
# a user gets the ownership from the package tool (dpkg-deb --root-owner-group).
owner=
[ "$(id -u)" = 0 ] && owner="-o 0 -g 0"

new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"' EXIT

# Creates DIR (a path under PREFIX) and its missing parents, recording each.
make_dir() {
  missing=
  dir=$1
  while [ ! -d "$DESTDIR$dir" ]; do
    missing="$dir $missing"
    dir=$(dirname "$dir")
  done
  for dir in $missing; do
    # shellcheck disable=SC2086
    install -d -m 0755 $owner "$DESTDIR$dir"
    echo "d $dir" >>"$new_manifest"
  done
}

# put MODE SOURCE DEST: installs one file, DEST a path under PREFIX.
put() {
  make_dir "$(dirname "$3")"
  # shellcheck disable=SC2086
  install -m "$1" $owner "$2" "$DESTDIR$3"
  echo "f $3" >>"$new_manifest"
}

# put_edited MODE SOURCE DEST: the same, with the binaries' directory
# substituted (the sudoers example and the systemd unit name it).
put_edited() {
  edited=$(mktemp)
  sed -e "s|@BINDIR@|$PREFIX/bin|g" -e "s|/usr/bin/rootwrap|$PREFIX/bin/rootwrap|g" "$2" >"$edited"
  put "$1" "$edited" "$3"
  rm -f "$edited"
}

install_all() {
  for binary in rootwrap rootwrap-compile rootwrap-daemon rootwrap-client; do
    put 0755 "$BUILD/$binary" "$PREFIX/bin/$binary"
  done
  (cd "$SHARE" && find . -type f | LC_ALL=C sort) | while read -r file; do
    put 0644 "$SHARE/$file" "$PREFIX/share/${file#./}"
  done
  put_edited 0644 "$root/dist/sudoers/rootwrap.example" "$docdir/examples/sudoers"
  put 0644 "$root/dist/logrotate/rootwrap" "$docdir/examples/logrotate"
  put 0644 "$root/dist/rsyslog/30-rootwrap.conf" "$docdir/examples/rsyslog.conf"
  for unit in "$root"/dist/systemd/*.service "$root"/dist/systemd/*.socket; do
    put_edited 0644 "$unit" "$PREFIX/lib/systemd/system/$(basename "$unit")"
  done
  put 0644 "$root/LICENSE" "$docdir/LICENSE"
  # An earlier install's directories stay recorded: this one found them.
  if [ -f "$DESTDIR$manifest" ]; then
    grep '^d ' "$DESTDIR$manifest" >>"$new_manifest" || true
  fi
  sorted=$(mktemp)
  LC_ALL=C sort -u "$new_manifest" >"$sorted"
  # shellcheck disable=SC2086
  install -m 0644 $owner "$sorted" "$DESTDIR$manifest"
  rm -f "$sorted"
  echo "installed $(grep -c '^f ' "$DESTDIR$manifest") files under $DESTDIR$PREFIX (list: $DESTDIR$manifest)"
}

uninstall_all() {
  if [ ! -f "$DESTDIR$manifest" ]; then
    echo "install.sh: $DESTDIR$manifest is missing: nothing recorded to uninstall" >&2
    exit 1
  fi
  dirs=$(sed -n 's/^d //p' "$DESTDIR$manifest" | LC_ALL=C sort -r)
  sed -n 's/^f //p' "$DESTDIR$manifest" | while read -r file; do
    rm -f "$DESTDIR$file"
  done
  rm -f "$DESTDIR$manifest"
  # Deepest first; a directory that holds something else stays.
  for dir in $dirs; do
    rmdir "$DESTDIR$dir" 2>/dev/null || echo "kept $DESTDIR$dir: not empty"
  done
  echo "uninstalled what $DESTDIR$manifest listed"
}

case $action in
  install) install_all ;;
  uninstall) uninstall_all ;;
  *) echo "usage: scripts/install.sh install|uninstall" >&2; exit 2 ;;
esac
