#!/usr/bin/env bash
# bench/privsep.sh: a native file action through rootwrap-daemon against
# the same chown done by oslo.privsep, in one run. Rows: oslo.privsep's
# chown and no-op (its daemon started with Method.FORK as root,
# bench/privsep_bench.py and bench/privsep_entry.py), our `@chown-action
# FILE` (one `chown` step) and `true` through our daemon with the Rust
# client (bench/src/bin/daemon-latency.rs). Median, p99 and mean in ms.
#
#   bench/privsep.sh            (as root)
#
# Environment: N calls per measurement (2000), ROUNDS (1: with more, the
# rows are measured ROUNDS times, privsep's and ours alternating, and the
# median of the rounds' chown ratios is printed: a shared VM drifts more
# between runs than a median of N calls does), PRIVSEP_VENV (the venv
# oslo.privsep is installed into from PyPI, default
# ${TMPDIR:-/tmp}/privsep-venv), PRIVSEP_VERSION (default 3.12.0;
# "latest" = unpinned), CPUS (a CPU list for `taskset -c`: both sides,
# clients and daemons, run on those CPUs only; unset: wherever the
# scheduler puts them).
#
# With CPUS=0, every wake-up is on the CPU that is already running: on a
# VM that takes the other vCPU's halt and wake-up (tens of µs per round
# trip here) out of both privsep's numbers and ours, leaving each side's
# own work and two context switches.
#
# Our call also matches the ruleset and writes its JSON audit record (one
# line with the step); privsep's does neither. Both chown a root-owned file
# to root:root (privsep by number, our step by name: a user lookup).
set -euo pipefail
N=${N:-2000}
ROUNDS=${ROUNDS:-1}
PRIVSEP_VENV=${PRIVSEP_VENV:-${TMPDIR:-/tmp}/privsep-venv}
PRIVSEP_VERSION=${PRIVSEP_VERSION:-3.12.0}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
die() { echo "privsep.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"

echo "== oslo.privsep into $PRIVSEP_VENV"
[ -x "$PRIVSEP_VENV/bin/python" ] || python3 -m venv "$PRIVSEP_VENV"
if [ "$PRIVSEP_VERSION" = latest ]; then spec=oslo.privsep; else spec="oslo.privsep==$PRIVSEP_VERSION"; fi
"$PRIVSEP_VENV/bin/python" - "$PRIVSEP_VERSION" <<'PY' 2>/dev/null ||
import sys, importlib.metadata as m
sys.exit(0 if sys.argv[1] in ("latest", m.version("oslo.privsep")) else 1)
PY
  "$PRIVSEP_VENV/bin/pip" install -q --disable-pip-version-check "$spec"
installed=$("$PRIVSEP_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("oslo.privsep"))')

. bench/daemon-common.sh
build_release
bench_workdir privsep
install -m 0755 target/release/rootwrap-daemon "$work/rootwrap-daemon"

on_cpus=()
[ -z "${CPUS:-}" ] || on_cpus=(taskset -c "$CPUS")
echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); oslo.privsep $installed; CPUs used: ${CPUS:-any}"
echo
echo "| measure | n | median ms | p99 ms | mean ms |"
echo "|---|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
  [ "$ROUNDS" -eq 1 ] || echo "| round $round | | | | |"
  (cd bench && "${on_cpus[@]}" "$PRIVSEP_VENV/bin/python" privsep_bench.py "$work/files/target" "$N")
  DAEMON_LATENCY_ACTION="$work/files/target" \
    "${on_cpus[@]}" target/release/daemon-latency "$work/rootwrap-daemon" "$work/bench.rwc" "$N" 0 |
    grep -E '`true`|chown-action'
done | tee "$work/rows"
records=$(grep -c '"@chown-action"' "$work/audit.jsonl")
echo
echo "(audit records of @chown-action written: $records)"
if [ "$ROUNDS" -gt 1 ]; then
  # Each round's privsep chown median over our action's: their median.
  awk -F'|' '/oslo.privsep chown/ { p = $4 } /chown-action/ { print p / $4, $4 }' "$work/rows" |
    sort -n | awk 'NR == 1 { lo = $2; hi = $2 } { r[NR] = $1; if ($2 < lo) lo = $2; if ($2 > hi) hi = $2 }
      END { printf "(median of %d rounds: privsep chown / our action = %.2fx; our action medians %.3f to %.3f ms)\n",
        NR, r[int((NR + 1) / 2)], lo, hi }'
fi
