#!/usr/bin/env bash
# bench/pin-cost.sh: what pinning a path argument costs a call, in one run.
#
#   OLD_ROOTWRAP=... OLD_COMPILE=... bench/pin-cost.sh      (as root)
#
# Measures, with hyperfine (-N, ROUNDS rotated rounds of RUNS runs, median of
# the per-round medians), `rootwrap R.rwc true PATH` where the rule is
# `true <path DIR/**>` (PATH a file four directories below DIR):
#   - env:       /usr/bin/env /bin/true PATH (the floor of any exec wrapper)
#   - any:       this tree's rootwrap, the rule `true <any>`: the same call
#                with nothing resolved (pinning's cost is pinned - any)
#   - pinned:    this tree's rootwrap, `<path>` (opened beneath DIR, passed
#                as /proc/self/fd/N)
#   - entry:     this tree's rootwrap, `<path-entry>`
#   - unpinned:  this tree's rootwrap, `<path-unpinned>` (the directories
#                from / down are checked instead)
#   - text:      OLD_ROOTWRAP with a ruleset OLD_COMPILE compiled (a build
#                from before paths were pinned: the resolved text is passed),
#                when both are given.
# Environment: ROUNDS (3), RUNS (300), WARMUP (50), NO_BUILD (measure the
# release binaries already in target/release).
set -euo pipefail
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
[ "$(id -u)" -eq 0 ] || { echo "pin-cost.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null && command -v jq >/dev/null ||
    { echo "pin-cost.sh: needs hyperfine and jq" >&2; exit 1; }

if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release -p rootwrap-compile
    cargo build --release -p rootwrap
fi

work=$(mktemp -d /var/lib/rootwrap-pin-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
mkdir -p "$work/data/a/b/c"
echo x >"$work/data/a/b/c/file"
path="$work/data/a/b/c/file"
install -m 0755 target/release/rootwrap "$work/rootwrap"

ruleset() { # NAME TYPE COMPILER
    if [ "$2" = any ]; then
        printf 'ruleset %s\nexec-dirs /usr/bin /bin\nallow t: true <any>\n' "$1" >"$work/$1.rwf"
    else
        printf 'ruleset %s\nexec-dirs /usr/bin /bin\nallow t: true <%s %s/data/**>\n' \
            "$1" "$2" "$work" >"$work/$1.rwf"
    fi
    "$3" -o "$work/$1.rwc" "$work/$1.rwf" >/dev/null
    chmod 0644 "$work/$1.rwc"
}
ruleset any any target/release/rootwrap-compile
ruleset pinned path target/release/rootwrap-compile
ruleset entry path-entry target/release/rootwrap-compile
ruleset unpinned path-unpinned target/release/rootwrap-compile
names=(env any pinned entry unpinned)
cmds=("/usr/bin/env /bin/true $path"
      "$work/rootwrap $work/any.rwc true $path"
      "$work/rootwrap $work/pinned.rwc true $path"
      "$work/rootwrap $work/entry.rwc true $path"
      "$work/rootwrap $work/unpinned.rwc true $path")
if [ -n "${OLD_ROOTWRAP:-}" ] && [ -n "${OLD_COMPILE:-}" ]; then
    install -m 0755 "$OLD_ROOTWRAP" "$work/rootwrap-old"
    ruleset text path "$OLD_COMPILE"
    names+=(text)
    cmds+=("$work/rootwrap-old $work/text.rwc true $path")
fi
for i in "${!cmds[@]}"; do
    ${cmds[$i]} >/dev/null || { echo "pin-cost.sh: ${names[$i]} fails: ${cmds[$i]}" >&2; exit 1; }
done

declare -A medians
for round in $(seq 1 "$ROUNDS"); do
    args=()
    n=${#cmds[@]}
    for k in $(seq 0 $((n - 1))); do
        i=$(((k + round) % n))
        args+=(-n "${names[$i]}" "${cmds[$i]}")
    done
    hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$work/round$round.json" \
        "${args[@]}" >/dev/null 2>&1
    for name in "${names[@]}"; do
        m=$(jq -r --arg n "$name" '.results[] | select(.command == $n) | .median' \
            "$work/round$round.json")
        medians[$name]+="$m "
    done
done
median_of() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
floor=$(median_of "${medians[env]}")
printf '%-10s %10s %8s\n' row median/ms x-env
for name in "${names[@]}"; do
    m=$(median_of "${medians[$name]}")
    awk -v n="$name" -v m="$m" -v f="$floor" 'BEGIN { printf "%-10s %10.3f %8.3f\n", n, m * 1000, m / f }'
done
