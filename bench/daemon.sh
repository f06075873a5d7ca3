#!/usr/bin/env bash
# bench/daemon.sh: per-call latency of `true` through rootwrap-daemon (Rust
# client, Python client), through `sudo rootwrap`, and through oslo's
# daemon, in one run; the daemon's start-up time and peak RSS.
#
#   bench/daemon.sh            (as root)
#
# Environment: N calls per measurement (2000), STARTS daemon start-ups
# (10), OSLO_BASELINE (the oslo.rootwrap baseline scripts, default
# ../shared/bench/oslo-baseline next to the repository: its setup.sh
# installs oslo.rootwrap from PyPI into a venv; skipped when absent).
#
# Method: release binaries; one ruleset (`allow true: true`, the action
# `@chown-action FILE` with one chown step, a JSON audit log), root-owned
# under a fresh /var/lib directory. The daemon is started
# directly by root (root is then its invoking user); the Rust client is
# bench/src/bin/daemon-latency.rs, the Python client clients/python through
# bench/daemon_client.py with the system python3; `sudo rootwrap` runs under
# hyperfine without a shell; oslo's daemon through its own client,
# daemon_bench.py, on the baseline's small config.
set -euo pipefail
N=${N:-2000}
STARTS=${STARTS:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
OSLO_BASELINE=${OSLO_BASELINE:-$repo/../shared/bench/oslo-baseline}
die() { echo "daemon.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
command -v hyperfine >/dev/null || die "needs hyperfine"

. bench/daemon-common.sh
build_release
bench_workdir daemon
for bin in rootwrap rootwrap-daemon rootwrap-client; do
  install -m 0755 "target/release/$bin" "$work/$bin"
done

echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| measure | n | median ms | p99 ms | mean ms |"
echo "|---|---:|---:|---:|---:|"
DAEMON_LATENCY_ACTION="$work/files/target" \
  target/release/daemon-latency "$work/rootwrap-daemon" "$work/bench.rwc" "$N" "$STARTS" | tail -n +3
python3 bench/daemon_client.py "$work/rootwrap-daemon" "$work/bench.rwc" "$N"
hyperfine -N --warmup 50 --runs "$N" --export-json "$work/sudo.json" \
  "sudo -n $work/rootwrap $work/bench.rwc true" >/dev/null 2>&1
python3 - "$work/sudo.json" <<'PY'
import json, statistics, sys
t = sorted(x * 1000 for x in json.load(open(sys.argv[1]))["results"][0]["times"])
k = (len(t) - 1) * 0.99
p99 = t[int(k)] + (t[min(int(k) + 1, len(t) - 1)] - t[int(k)]) * (k - int(k))
print("| `sudo rootwrap R true` (whole process) | %d | %.3f | %.3f | %.3f |"
      % (len(t), statistics.median(t), p99, statistics.mean(t)))
PY

if [ -x "$OSLO_BASELINE/setup.sh" ]; then
  echo
  echo "== oslo.rootwrap's daemon (daemon_bench.py, small config)"
  # Only its venv and configs: its system part adds a user and a sudoers
  # line (for its own sudo rows), which this script must not leave behind.
  SKIP_SYSTEM=1 "$OSLO_BASELINE/setup.sh" >/dev/null
  OSLO_VENV=${OSLO_VENV:-${TMPDIR:-/tmp}/oslo-venv}
  RUN_DIR=${RUN_DIR:-${TMPDIR:-/tmp}/oslo-baseline-run}
  "$OSLO_VENV/bin/python" "$OSLO_BASELINE/daemon_bench.py" \
    --conf "$RUN_DIR/rootwrap-small.conf" -n "$N" --starts "$STARTS"
else
  echo "(no oslo baseline at $OSLO_BASELINE: oslo's daemon not measured)"
fi
