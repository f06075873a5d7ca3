"""Load: THREADS threads share one Client and send REQUESTS requests in
total, a mix of allowed (echo), denied (ls), large stdin (cat, 256 KiB in)
and large stdout (cat, 256 KiB out). Every reply is checked against its
request; the markers of every request are printed, one per line, with its
kind, for the test to match against the audit log."""

import json
import os
import sys
import threading

import rootwrap_client

THREADS = int(sys.argv[1])
REQUESTS = int(sys.argv[2])
BIG = bytes(range(256)) * 1024

client = rootwrap_client.Client(json.loads(os.environ["ROOTWRAP_DAEMON_CMD"]))
lock = threading.Lock()
failures = []
done = []


def one(n):
    marker = "load-%d-%d" % (os.getpid(), n)
    kind = n % 4
    if kind == 0:
        got = client.execute(["echo", marker])
        want = (0, marker + "\n", "")
    elif kind == 1:
        got = client.execute(["ls", marker])
        want = (99, "", "")
    elif kind == 2:
        data = marker.encode() + BIG
        exit, out, err = client.run(["cat"], data)
        got = (exit.status, out == data, err)
        want = (0, True, b"")
    else:
        exit, out, err = client.run(["sh", "-c", "head -c 262144 /dev/zero; echo " + marker])
        got = (exit.status, out == b"\0" * 262144 + marker.encode() + b"\n", err)
        want = (0, True, b"")
    with lock:
        done.append((marker, "allowed" if kind != 1 else "denied"))
        if got != want:
            failures.append((marker, got))


def worker(i):
    for n in range(i, REQUESTS, THREADS):
        try:
            one(n)
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                failures.append((n, repr(e)))


threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
for marker, decision in done:
    print(marker, decision)
client.close()
if failures:
    print("FAILURES", len(failures), failures[:5], file=sys.stderr)
    sys.exit(1)
