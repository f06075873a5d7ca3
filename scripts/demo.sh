#!/usr/bin/env bash
# The shipped example, end to end: build rootwrap, compile filters/ into a
# ruleset owned by root, run one allowed and one denied command through the
# runtime, and show the compiler's explanation of both decisions.
#
# Run as root: the runtime trusts only rulesets owned by root, and runs the
# allowed command as root (as it would under `sudo rootwrap ...`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:/usr/sbin:/sbin"

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run this as root (e.g. sudo ./scripts/demo.sh)" >&2
  exit 1
fi

cargo build --quiet -p rootwrap -p rootwrap-compile
bin=${CARGO_TARGET_DIR:-target}/debug

work=$(mktemp -d -p /var/lib rootwrap-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
ruleset=$work/compute-agent.rwc

# Runs a command, showing it and its exit status; the status is left in $rc.
show() {
  printf '\n$ %s\n' "$*"
  rc=0
  "$@" || rc=$?
  echo "(exit status $rc)"
}

# blockdev is in filters/compute-agent.rwf and harmless: pick a block device
# it can read on this host (a disk, else a loop device), else /dev/null
# (still allowed by the rule; blockdev then fails, and its status passes
# through).
pick_device() {
  local pass entry dev
  for pass in disk any; do
    for entry in /sys/block/*; do
      dev=/dev/${entry##*/}
      [ -b "$dev" ] || continue
      case "$pass:${dev#/dev/}" in disk:loop* | disk:ram* | disk:zram*) continue ;; esac
      if blockdev --getsize64 "$dev" >/dev/null 2>&1; then
        echo "$dev"
        return
      fi
    done
  done
  echo /dev/null
}
device=$(pick_device)

echo "== compile filters/ into a ruleset, owned by root, mode 0644"
show "$bin/rootwrap-compile" -o "$ruleset" filters/
[ "$rc" -eq 0 ] || exit 1
chown root:root "$ruleset"
chmod 0644 "$ruleset"
show ls -l "$ruleset"

fail=0
expect() { # expect WHAT CODE...: $rc must be one of CODE...
  local what=$1 code
  shift
  for code in "$@"; do [ "$rc" = "$code" ] && return; done
  echo "demo.sh: $what: unexpected exit status $rc" >&2
  fail=1
}

echo
echo "== an allowed command: the runtime runs it (as root)"
show "$bin/rootwrap" "$ruleset" blockdev --getsize64 "$device"
# blockdev's own status passes through; 96-99 would be rootwrap refusing.
case "$rc" in 96 | 97 | 98 | 99) expect "allowed command" 0 ;; esac
show "$bin/rootwrap-compile" explain "$ruleset" -- blockdev --getsize64 "$device"
expect "explain allowed command" 0

echo
echo "== a denied command: refused with exit status 99, nothing runs"
show "$bin/rootwrap" "$ruleset" cat /etc/shadow
expect "denied command" 99
show "$bin/rootwrap-compile" explain "$ruleset" -- cat /etc/shadow
expect "explain denied command" 99
show "$bin/rootwrap-compile" explain "$ruleset" -- blockdev --getsize64 /etc/shadow
expect "explain denied argument" 99

echo
if [ "$fail" -eq 0 ]; then
  echo "demo: ok"
else
  echo "demo: FAILED" >&2
fi
exit "$fail"
