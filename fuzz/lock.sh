#!/usr/bin/env bash
# The fuzz crate is its own workspace with its own Cargo.lock: it must build
# what ships, so every package it shares with the main workspace must be
# locked at one of the main Cargo.lock's versions of it.
#
#   fuzz/lock.sh check   fails, listing them, when a shared package differs
#   fuzz/lock.sh sync    rewrites fuzz/Cargo.lock from the main one: cargo
#                        keeps every locked version it can and adds only the
#                        fuzz-only packages (libfuzzer-sys and its own)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# "name version[,version...]" per package name, sorted by name.
versions() {
  awk -F'"' '/^name = /{name=$2} /^version = /{print name, $2}' "$1" | sort -u |
    awk '{if ($1 in v) v[$1] = v[$1] "," $2; else v[$1] = $2} END {for (n in v) print n, v[n]}' | sort
}

case "${1:-check}" in
  sync)
    cp ../Cargo.lock Cargo.lock
    cargo metadata --format-version 1 >/dev/null
    ;&
  check)
    joined=$(join <(versions ../Cargo.lock) <(versions Cargo.lock))
    # A version the fuzz lock has and the main one has not (the main one may
    # have more: the benchmarks' and tests' dependencies).
    differ=$(awk '{
        split($2, main, ","); split($3, fuzz, ",")
        for (i in fuzz) { found = 0; for (j in main) if (fuzz[i] == main[j]) found = 1
                          if (!found) { print "  " $1 ": " $3 " in fuzz/Cargo.lock, " $2 " in Cargo.lock"; break } }
      }' <<<"$joined")
    if [ -n "$differ" ]; then
      echo "fuzz/Cargo.lock locks shared packages at other versions (fix: fuzz/lock.sh sync):" >&2
      echo "$differ" >&2
      exit 1
    fi
    echo "fuzz/Cargo.lock: its $(wc -l <<<"$joined") packages shared with Cargo.lock at the same versions"
    ;;
  *)
    echo "usage: fuzz/lock.sh [check|sync]" >&2
    exit 2
    ;;
esac
