#!/usr/bin/env bash
# bench/compile-time.sh: how `rootwrap-compile` scales with the number of
# rules. A packager compiles at build time, so compile time must grow
# linearly (issue 10).
#
#   bench/compile-time.sh
#
# Environment: RUNS per size (5), WARMUP (1), OUT (target/rootwrap-bench-compile:
# the generated filters and hyperfine JSON), COMPILER (a rootwrap-compile
# binary to measure instead of target/release/rootwrap-compile, e.g. an older
# build, on the same generated files).
#
# Method: release build; filters of 1,000, 10,000 and 30,000 rules generated
# by `gen-rwf N` (the generator of every other bench); `rootwrap-compile check`
# timed by hyperfine without a shell (-N). Prints each size's median and the
# 30k/10k ratio (linear is 3.0). Targets: 30,000 rules under 2 s, ratio
# under 3.5.
set -euo pipefail

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
OUT=${OUT:-$repo/target/rootwrap-bench-compile}

die() { echo "compile-time.sh: $*" >&2; exit 1; }
for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || die "needs $tool (apt-get install hyperfine jq)"
done

cargo build --release -p rootwrap-compile -p rootwrap-bench --bin rootwrap-compile --bin gen-rwf >&2
compiler=${COMPILER:-target/release/rootwrap-compile}
mkdir -p "$OUT"

declare -A median
for n in 1000 10000 30000; do
    target/release/gen-rwf "$n" >"$OUT/R$n.rwf"
    hyperfine -N --style none --runs "$RUNS" --warmup "$WARMUP" \
        --export-json "$OUT/R$n.json" "$compiler check $OUT/R$n.rwf" >/dev/null
    median[$n]=$(jq '.results[0].median' "$OUT/R$n.json")
    printf '%6d rules: %8.3f s (median of %d)\n' "$n" "${median[$n]}" "$RUNS"
done
printf '30k/10k ratio: %.2f (linear: 3.00; target < 3.5)\n' \
    "$(jq -n "${median[30000]} / ${median[10000]}")"
