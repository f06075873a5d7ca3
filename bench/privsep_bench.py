"""privsep_bench.py FILE N: per-call latency (median, p99, mean in ms) of
an oslo.privsep chown of FILE (to root:root, as bench/privsep.sh's action
does) and of a no-op, through privsep's daemon started with Method.FORK.
Run as root with a venv that has oslo.privsep. Prints table rows."""
import statistics
import sys
import time

from oslo_config import cfg
from oslo_privsep import priv_context

import privsep_entry


def p99(samples):
    t = sorted(samples)
    k = (len(t) - 1) * 0.99
    lo = int(k)
    hi = min(lo + 1, len(t) - 1)
    return t[lo] + (t[hi] - t[lo]) * (k - lo)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    cfg.CONF([], project="privsep-bench")
    privsep_entry.ctx.start(method=priv_context.Method.FORK)
    for label, call in (
        ("oslo.privsep chown (Method.FORK)", lambda: privsep_entry.chown(path, 0, 0)),
        ("oslo.privsep no-op (Method.FORK)", privsep_entry.noop),
    ):
        for _ in range(50):
            call()
        samples = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - t0) / 1e6)
        print("| %s | %d | %.3f | %.3f | %.3f |" % (
            label, n, statistics.median(samples), p99(samples),
            statistics.mean(samples)))
    privsep_entry.ctx.stop()


if __name__ == "__main__":
    main()
