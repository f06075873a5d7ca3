"""The wire protocol of rootwrap-daemon (the book's "Daemon mode" chapter).

Every frame: magic ``RW``, version 1, kind, payload length (u32 LE), then
the payload, encoded with bincode 2 (little-endian, variable-length
integers). A reader refuses an oversized or malformed frame.
"""

import struct

MAGIC = b"RW"
VERSION = 1
HEADER = struct.Struct("<2sBBI")

REQUEST, STDOUT, STDERR, EXIT, ERROR = 1, 2, 3, 4, 5
MAX_REQUEST = 4 << 20
MAX_CHUNK = 64 << 10
MAX_MESSAGE = 16 << 10
MAX_LEN = {REQUEST: MAX_REQUEST, STDOUT: MAX_CHUNK, STDERR: MAX_CHUNK,
           EXIT: MAX_MESSAGE, ERROR: MAX_MESSAGE}
REFUSED = ["NotAllowed", "Busy", "BadFrame", "ShuttingDown"]


class ProtocolError(Exception):
    """The daemon's reply is malformed, or the connection ended early."""


def _varint(value):
    if value < 251:
        return bytes([value])
    if value < 1 << 16:
        return b"\xfb" + struct.pack("<H", value)
    if value < 1 << 32:
        return b"\xfc" + struct.pack("<I", value)
    return b"\xfd" + struct.pack("<Q", value)


def _bytes(value):
    return _varint(len(value)) + value


def encode_request(argv, stdin=b"", timeout_ms=None):
    """A complete Request frame."""
    payload = _varint(len(argv)) + b"".join(_bytes(arg) for arg in argv)
    payload += _bytes(stdin)
    payload += b"\x00" if timeout_ms is None else b"\x01" + _varint(timeout_ms)
    if len(payload) > MAX_REQUEST:
        raise ValueError("request of %d bytes, more than the %d-byte limit"
                         % (len(payload), MAX_REQUEST))
    return HEADER.pack(MAGIC, VERSION, REQUEST, len(payload)) + payload


class _Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, n):
        if self.at + n > len(self.data):
            raise ProtocolError("truncated payload")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def varint(self):
        first = self.take(1)[0]
        if first < 251:
            return first
        size = {251: "<H", 252: "<I", 253: "<Q"}.get(first)
        if size is None:
            raise ProtocolError("bad integer tag %d" % first)
        return struct.unpack(size, self.take(struct.calcsize(size)))[0]

    def signed(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def bytes(self):
        return self.take(self.varint())

    def end(self):
        if self.at != len(self.data):
            raise ProtocolError("%d trailing bytes" % (len(self.data) - self.at))


def decode_exit(payload):
    """(status, raw, timed_out, message) of an Exit payload."""
    r = _Reader(payload)
    status, raw = r.varint(), r.signed()
    timed_out = r.take(1)[0]
    if timed_out > 1:
        raise ProtocolError("bad boolean")
    message = r.bytes()
    r.end()
    return status, raw, bool(timed_out), message


def decode_error(payload):
    """(refused, message) of an Error payload."""
    r = _Reader(payload)
    index = r.varint()
    if index >= len(REFUSED):
        raise ProtocolError("unknown refusal %d" % index)
    message = r.bytes()
    r.end()
    return REFUSED[index], message


class FrameReader:
    """The reply frames of one request, read ahead: a small frame arrives
    with its header in one ``recv``. The daemon sends nothing after a
    request's last frame until the next request, so nothing read ahead
    belongs to another request."""

    def __init__(self, sock):
        self._sock = sock
        self._buf = bytearray()

    def _take(self, n):
        while len(self._buf) < n:
            chunk = self._sock.recv(max(n - len(self._buf), 1 << 16))
            if not chunk:
                raise EOFError("the daemon closed the connection")
            self._buf += chunk
        taken = bytes(self._buf[:n])
        del self._buf[:n]
        return taken

    def read_frame(self):
        """(kind, payload) of the next reply frame."""
        magic, version, kind, length = HEADER.unpack(self._take(HEADER.size))
        if magic != MAGIC:
            raise ProtocolError("bad frame magic %r" % magic)
        if version != VERSION:
            raise ProtocolError("protocol version %d; this client speaks %d" % (version, VERSION))
        if kind not in MAX_LEN or kind == REQUEST:
            raise ProtocolError("unexpected frame kind %d" % kind)
        if length > MAX_LEN[kind]:
            raise ProtocolError("frame of %d bytes, more than its limit" % length)
        return kind, self._take(length)
