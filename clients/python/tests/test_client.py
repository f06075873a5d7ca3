"""rootwrap_client against a real rootwrap-daemon.

Run as the service user, with the command that starts the daemon in
ROOTWRAP_DAEMON_CMD (a JSON list, e.g. ["sudo", "-n", DAEMON, RULESET]); the
ruleset allows echo, cat and `sh -c ...` (tests/tests/e2e_daemon.rs).
"""

import json
import os
import socket
import threading
import time
import unittest

import rootwrap_client
from rootwrap_client import protocol


def running(marker):
    """A process whose command line holds `marker`: its pid and command
    line, or "" when none runs."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                line = f.read()
                if marker.encode() in line:
                    return "%s %r" % (pid, line)
        except OSError:
            pass
    return ""


def new_client():
    return rootwrap_client.Client(json.loads(os.environ["ROOTWRAP_DAEMON_CMD"]))


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = new_client()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_allowed(self):
        self.assertEqual(self.client.execute(["echo", "teststr"]), (0, "teststr\n", ""))

    def test_stdin(self):
        self.assertEqual(self.client.execute(["cat"], "teststr"), (0, "teststr", ""))
        self.assertEqual(self.client.execute(["cat"], b"\xff\x00"),
                         (0, os.fsdecode(b"\xff\x00"), ""))

    def test_denied_returns_99(self):
        self.assertEqual(self.client.execute(["ls", "/"]), (99, "", ""))

    def test_signal_death_is_negative_as_in_oslo(self):
        self.assertEqual(self.client.execute(["sh", "-c", "kill -9 $$"]), (-9, "", ""))
        exit, _, _ = self.client.run(["sh", "-c", "kill -9 $$"])
        self.assertEqual((exit.status, exit.raw), (137, -9))

    def test_large_output(self):
        data = bytes(range(256)) * 4096
        exit, out, err = self.client.run(["cat"], data)
        self.assertEqual((exit.status, out, err), (0, data, b""))

    def test_timeout_kills_the_command(self):
        exit, _, _ = self.client.run(["sh", "-c", "sleep 600"], timeout_ms=200)
        self.assertEqual((exit.status, exit.raw, exit.timed_out), (137, -9, True))

    def test_timeout_holds_a_command_that_closed_its_output(self):
        # Found attacking the daemon: the deadline was watched only while
        # the command's output was open.
        exit, _, _ = self.client.run(["sh", "-c", "exec >&- 2>&-; sleep 30"], timeout_ms=200)
        self.assertEqual((exit.status, exit.raw, exit.timed_out), (137, -9, True))

    def test_timeout_holds_while_the_client_does_not_read(self):
        # Found attacking the daemon: a write to a client that did not read
        # waited a minute, the deadline with it.
        marker = "unread-%d" % os.getpid()
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(self.client._daemon()[0])
        sock.sendall(protocol.encode_request(
            [b"sh", b"-c", b"yes " + marker.encode()], b"", 500))
        try:
            deadline = time.monotonic() + 20
            while not running(marker) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertNotEqual(running(marker), "", "the command did not start")
            while running(marker) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = running(marker)
            self.assertEqual(left, "", "the command outlived its timeout")
        finally:
            sock.close()

    def test_threads(self):
        failures = []

        def worker(i):
            for j in range(20):
                word = "t%d-%d" % (i, j)
                got = self.client.execute(["echo", word])
                if got != (0, word + "\n", ""):
                    failures.append((word, got))
                if self.client.execute(["ls", word]) != (99, "", ""):
                    failures.append((word, "not denied"))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(failures, [])

    def test_patch_oslo(self):
        rootwrap_client.patch_oslo()
        from oslo_rootwrap import client as oslo_client

        self.assertIs(oslo_client.Client, rootwrap_client.Client)
        patched = oslo_client.Client(json.loads(os.environ["ROOTWRAP_DAEMON_CMD"]))
        try:
            self.assertEqual(patched.execute(["echo", "via oslo"]), (0, "via oslo\n", ""))
        finally:
            patched.close()


if __name__ == "__main__":
    unittest.main()
