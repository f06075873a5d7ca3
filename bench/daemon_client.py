#!/usr/bin/env python3
"""Per-call latency of `true` through rootwrap-daemon with the Python
client (clients/python), as ../shared/bench/oslo-baseline/daemon_bench.py
measures oslo's: `python3 bench/daemon_client.py DAEMON RULESET N`, as root
(the daemon is started directly, root is its invoking user)."""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clients", "python"))
import rootwrap_client  # noqa: E402


def pct(ms, p):
    k = (len(ms) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ms) - 1)
    return ms[lo] + (ms[hi] - ms[lo]) * (k - lo)


def main():
    daemon, ruleset, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = rootwrap_client.Client([daemon, ruleset])
    for _ in range(50):
        assert client.execute(["true"]) == (0, "", "")
    for label, argv, want in (("`true` (allowed)", ["true"], 0),
                              ("`ls denied` (denied)", ["ls", "denied"], 99)):
        lat = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            rc, _, _ = client.execute(argv)
            lat.append(time.perf_counter_ns() - t0)
            assert rc == want, rc
        ms = sorted(x / 1e6 for x in lat)
        print("| %s, Python client | %d | %.3f | %.3f | %.3f |"
              % (label, n, pct(ms, 50), pct(ms, 99), statistics.mean(ms)))
    client.close()


if __name__ == "__main__":
    main()
