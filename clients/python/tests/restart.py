"""A call, then (once the test has killed the daemon and says `go`) another:
the client must start a new daemon and answer. Prints the pid of the first
daemon's starter, then the second call's result."""

import json
import os
import sys

import rootwrap_client

client = rootwrap_client.Client(json.loads(os.environ["ROOTWRAP_DAEMON_CMD"]))
print(client.execute(["echo", "first"]), client._process.pid, flush=True)
sys.stdin.readline()
print(client.execute(["echo", "second"]), client._process.pid, flush=True)
client.close()
