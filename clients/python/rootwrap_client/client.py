"""``Client``: a drop-in for ``oslo_rootwrap.client.Client``."""

import collections
import logging
import os
import socket
import subprocess
import threading
import weakref

from rootwrap_client import protocol

LOG = logging.getLogger(__name__)
# The service configures logging; without it, nothing is printed.
LOG.addHandler(logging.NullHandler())

Exit = collections.namedtuple("Exit", "status raw timed_out message")


class DaemonRefused(Exception):
    """The daemon refused the connection or the request (``NotAllowed``,
    ``Busy``, ``BadFrame``, ``ShuttingDown``)."""

    def __init__(self, refused, message):
        super().__init__("rootwrap-daemon refused (%s): %s"
                         % (refused, os.fsdecode(message)))
        self.refused = refused
        self.message = message


def _run(sock, argv, stdin, timeout_ms):
    sock.sendall(protocol.encode_request(argv, stdin, timeout_ms))
    out, err = [], []
    frames = protocol.FrameReader(sock)
    while True:
        kind, payload = frames.read_frame()
        if kind == protocol.STDOUT:
            out.append(payload)
        elif kind == protocol.STDERR:
            err.append(payload)
        elif kind == protocol.EXIT:
            return Exit(*protocol.decode_exit(payload)), b"".join(out), b"".join(err)
        else:
            raise DaemonRefused(*protocol.decode_error(payload))


def _connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def connect_and_run(socket_path, argv, stdin=b"", timeout_ms=None):
    """One request on a new connection: ``(Exit, stdout, stderr)`` as bytes."""
    with _connect(socket_path) as sock:
        return _run(sock, [os.fsencode(a) for a in argv], stdin, timeout_ms)


def _stop(process):
    # The daemon exits when its stdin closes (and finishes what runs).
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass


class Client:
    """``Client(daemon_cmd).execute(cmd, stdin=None)`` ->
    ``(returncode, stdout, stderr)``, as oslo.rootwrap's.

    The daemon is started through ``daemon_cmd`` (e.g. ``["sudo",
    "rootwrap-daemon", "/etc/svc/rootwrap.rwc"]``) on the first call,
    reaped by a thread when it exits, and restarted once if a call finds it
    gone. Calls from several threads run in parallel, each on its own
    connection. A denied command returns 99 (not raised), a missing
    executable 96, a command killed by signal N ``-N``, as oslo's daemon.
    """

    def __init__(self, daemon_cmd):
        self._daemon_cmd = list(daemon_cmd)
        self._lock = threading.Lock()
        self._process = None
        self._socket_path = None
        self._generation = 0
        self._idle = []
        self._finalizer = None

    def _daemon(self):
        """(socket path, generation), starting the daemon if needed."""
        with self._lock:
            if self._process is None:
                self._spawn()
            return self._socket_path, self._generation

    def _spawn(self):
        process = subprocess.Popen(self._daemon_cmd, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, close_fds=True)
        line = process.stdout.readline()
        if not line.endswith(b"\n"):
            process.stdin.close()
            stderr = process.stderr.read()
            process.wait()
            raise Exception("Failed to spawn rootwrap process.\nstderr:\n%s"
                            % os.fsdecode(stderr))
        process.stdout.close()
        process.stderr.close()
        # Reaped as soon as it exits (never a zombie under the service).
        threading.Thread(target=process.wait, daemon=True).start()
        self._process = process
        self._socket_path = os.fsdecode(line[:-1])
        self._generation += 1
        self._idle = []
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _stop, process)
        LOG.debug("rootwrap-daemon started (pid %d), socket %s",
                  process.pid, self._socket_path)

    def _restart(self, generation):
        with self._lock:
            if generation != self._generation or self._process is None:
                return
            LOG.info("rootwrap-daemon (pid %d) is gone; starting a new one",
                     self._process.pid)
            for _, sock in self._idle:
                sock.close()
            self._idle = []
            _stop(self._process)
            self._process = None

    def _take(self, path, generation):
        with self._lock:
            while self._idle:
                gen, sock = self._idle.pop()
                if gen == generation:
                    return sock
                sock.close()
        return _connect(path)

    def _give(self, sock, generation):
        with self._lock:
            if generation == self._generation:
                self._idle.append((generation, sock))
                return
        sock.close()

    def run(self, cmd, stdin=None, timeout_ms=None):
        """``(Exit, stdout, stderr)`` with the output as bytes."""
        argv = [os.fsencode(a) for a in cmd]
        if stdin is None:
            data = b""
        elif isinstance(stdin, bytes):
            data = stdin
        else:
            data = os.fsencode(stdin)
        for attempt in (1, 2):
            path, generation = self._daemon()
            try:
                sock = self._take(path, generation)
            except OSError:
                # Its socket is gone or nobody listens: it died.
                if attempt == 2:
                    raise
                self._restart(generation)
                continue
            try:
                result = _run(sock, argv, data, timeout_ms)
            except DaemonRefused as e:
                sock.close()
                if e.refused != "ShuttingDown" or attempt == 2:
                    raise
                self._restart(generation)
                continue
            except (EOFError, OSError):
                sock.close()
                if attempt == 2:
                    raise
                self._restart(generation)
                continue
            except BaseException:
                sock.close()
                raise
            self._give(sock, generation)
            return result
        raise AssertionError("unreachable")

    def execute(self, cmd, stdin=None):
        """As oslo's: ``(returncode, stdout, stderr)``, the output as str."""
        exit, out, err = self.run(cmd, stdin)
        if exit.message:
            LOG.warning("%s", os.fsdecode(exit.message))
        return exit.raw, os.fsdecode(out), os.fsdecode(err)

    def close(self):
        """Stops the daemon (it finishes what runs); the next call starts
        a new one."""
        with self._lock:
            for _, sock in self._idle:
                sock.close()
            self._idle = []
            if self._process is not None:
                _stop(self._process)
                self._process = None
