"""Each host's syslog (/dev/log inside its sandbox) read by the harness and turned into HOST events.

sshd logs logins and internal-sftp logs every file it opens and closes with byte counts, a useful second
witness of a transfer. The agent can write to the same socket (`logger`), so these lines are evidence, not truth.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness_eval.models import Event, EventSource


class HostLogs:
    """Datagram sockets, one per host, and the one thread that reads them all."""

    def __init__(self, on_event: Callable[[Event], None] | None) -> None:
        self._on_event = on_event
        self._sockets: dict[socket.socket, str] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None

    def add(self, host: str, path: Path) -> None:
        """Bind a socket at `path` for `host` (bind it at /dev/log in the host's sandbox)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        # Through the directory's fd: world paths easily exceed the 108-byte limit of a socket address.
        directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
        try:
            sock.bind(f"/proc/self/fd/{directory}/{path.name}")
            os.chmod(path, 0o666)  # as a real /dev/log: sessions run as an ordinary account (internal-sftp logs)
        finally:
            os.close(directory)
        self._sockets[sock] = host

    def start(self) -> None:
        self._thread = threading.Thread(target=self._read, name="host-logs", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in self._sockets:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = [key.fileobj for key, _ in selector.select()]
                for sock in self._sockets:
                    if sock in ready or self._wake_r in ready:  # on wake-up, drain what the hosts left behind
                        self._drain(sock)
                if self._wake_r in ready:
                    return

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            line = data.rstrip(b"\0\n").decode(errors="replace")
            if self._on_event is not None:
                self._on_event(
                    Event(
                        t=time.time(),
                        source=EventSource.HOST,
                        kind="log",
                        node=self._sockets[sock],
                        detail={"line": line},
                    )
                )

    def close(self) -> None:
        """Deliver every line already sent, then stop; safe to call more than once."""
        if self._thread is not None:
            self._wake_w.send(b"x")
            self._thread.join()
            self._thread = None
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        self._wake_r.close()
        self._wake_w.close()
