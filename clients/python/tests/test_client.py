"""rootwrap_client against a real rootwrap-daemon.

Run as the service user, with the command that starts the daemon in
ROOTWRAP_DAEMON_CMD (a JSON list, e.g. ["sudo", "-n", DAEMON, RULESET]); the
ruleset allows echo, cat and `sh -c ...` (tests/tests/e2e_daemon.rs).
"""

import json
import os
import threading
import unittest

import rootwrap_client


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
