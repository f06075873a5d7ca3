"""The reply frame reader, against a socket pair (no daemon)."""

import socket
import unittest

from rootwrap_client import protocol


def frame(kind, payload):
    return protocol.HEADER.pack(protocol.MAGIC, protocol.VERSION, kind, len(payload)) + payload


class FrameReaderTest(unittest.TestCase):
    def setUp(self):
        self.ours, self.daemon = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.daemon.close)

    def test_frames_in_one_send_and_split_across_sends(self):
        out = bytes(range(256)) * 200
        exit_frame = frame(protocol.EXIT, b"\x00\x00\x00\x00")
        whole = frame(protocol.STDOUT, b"one") + frame(protocol.STDERR, out) + exit_frame
        reader = protocol.FrameReader(self.ours)
        # Sent in pieces that cut headers and payloads anywhere.
        for at in range(0, len(whole), 7001):
            self.daemon.sendall(whole[at:at + 7001])
        self.assertEqual(reader.read_frame(), (protocol.STDOUT, b"one"))
        self.assertEqual(reader.read_frame(), (protocol.STDERR, out))
        self.assertEqual(reader.read_frame(), (protocol.EXIT, b"\x00\x00\x00\x00"))

    def test_a_bad_header_or_an_early_end_is_an_error(self):
        reader = protocol.FrameReader(self.ours)
        self.daemon.sendall(b"XX" + frame(protocol.EXIT, b"")[2:])
        with self.assertRaises(protocol.ProtocolError):
            reader.read_frame()
        reader = protocol.FrameReader(self.ours)
        self.daemon.sendall(frame(protocol.STDOUT, b"cut")[:9])
        self.daemon.close()
        with self.assertRaises(EOFError):
            reader.read_frame()


if __name__ == "__main__":
    unittest.main()
