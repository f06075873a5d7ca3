#!/bin/sh
# dist/debian/build-deb.sh OUT_DIR: builds rootwrap_VERSION_ARCH.deb from
# `make install PREFIX=/usr` (the same release build and files as a source
# install; `make deb` calls this). dpkg-deb alone, no cargo-deb: nothing
# more to compile, and the package holds exactly what `make install` does.
#
# No maintainer scripts and no file under /etc: installing the package
# gives nobody any right; a sudoers line is the operator's to add (the
# example is in /usr/share/doc/rootwrap/examples/sudoers).
set -eu

out=${1:?usage: dist/debian/build-deb.sh OUT_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${TARGET_DIR:-$root/target}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"   # the package's ./, as dpkg-deb records it

make -C "$root" --no-print-directory install PREFIX=/usr DESTDIR="$stage" TARGET_DIR="$target" >&2
# dpkg keeps the list of files itself.
rm "$stage/usr/share/doc/rootwrap/install-manifest"
install -m 0644 "$root/dist/debian/copyright" "$stage/usr/share/doc/rootwrap/copyright"
# Debian policy: man pages compressed, without a timestamp (-n).
find "$stage/usr/share/man" -type f -exec gzip -9n {} +

version=$("$stage/usr/bin/rootwrap" --version | cut -d' ' -f2)
arch=$(dpkg --print-architecture)
# The newest glibc symbol version any binary needs.
glibc=$(objdump -T "$stage"/usr/bin/* | grep -o 'GLIBC_[0-9.]*' | cut -d_ -f2 | sort -uV | tail -n 1)
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)

mkdir -m 0755 "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: rootwrap
Version: $version
Architecture: $arch
Maintainer: The rootwrap developers <rootwrap@example.invalid>
Installed-Size: $size
Depends: libc6 (>= $glibc)
Recommends: sudo
Section: admin
Priority: optional
Description: compiled command filter for running selected commands as root
 A service runs "sudo rootwrap RULESET CMD ARGS..."; rootwrap runs the command
 as root only if the compiled ruleset allows that exact command line, and
 records every decision. rootwrap-compile checks, tests and compiles filter
 files (.rwf) into rulesets; rootwrap-daemon serves many calls from one
 process, with systemd units for socket activation.
CONTROL
(cd "$stage" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/rootwrap_${version}_$arch.deb"
# The files' dates: the last commit's, or SOURCE_DATE_EPOCH (reproducible).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
