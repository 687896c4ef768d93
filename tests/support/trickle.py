"""A provider that answers one byte at a time, on a real socket on 127.0.0.1.

Each byte comes well within any read timeout, so only a deadline on the whole call ends it.
The server notes how much of its answer it got out, and whether the client hung up first.
"""

from __future__ import annotations

import json
import socket
import threading
import time


def answer(status: str = "201 Created", payload: dict | None = None, pad: int = 400) -> bytes:
    """Return a whole HTTP answer with a JSON body, padded so that trickling it takes long."""
    body = json.dumps({**(payload or {}), "padding": "x" * pad}).encode()
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return head + body


class TrickleServer:
    """Answer every request with `payload`, one byte every `interval_s` after `at_once` bytes."""

    def __init__(self, payload: bytes, *, interval_s: float = 0.05, at_once: int = 0):
        self.payload = payload
        self.interval_s = interval_s
        self.at_once = at_once
        self.sent = 0  # bytes of the answer written before the client hung up, or all
        self.cut = threading.Event()  # the client closed the connection mid-answer
        self.done = threading.Event()  # the answer was written to the end
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="trickle", daemon=True)

    @property
    def url(self) -> str:
        """The base URL of the server."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._listener.close()

    def _serve(self) -> None:
        """Take one connection at a time until stopped."""
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                self._read_request(conn)
                self._trickle(conn)

    def _read_request(self, conn: socket.socket) -> None:
        """Read the request's head and body, so that the client waits for the answer."""
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                return
            body += chunk

    def _trickle(self, conn: socket.socket) -> None:
        """Write the answer, the first bytes at once and then one byte per interval."""
        try:
            conn.sendall(self.payload[:self.at_once])
            self.sent = self.at_once
            for i in range(self.at_once, len(self.payload)):
                if self._stop.wait(self.interval_s):
                    return
                conn.sendall(self.payload[i:i + 1])
                self.sent = i + 1
            self.done.set()
        except OSError:
            # A write after the client closed its end: the peer answers with a reset.
            self.cut.set()


def wait_for(event: threading.Event, timeout_s: float = 5.0) -> bool:
    """Wait for an event, a little at a time; return whether it is set."""
    deadline = time.monotonic() + timeout_s
    while not event.is_set() and time.monotonic() < deadline:
        event.wait(0.05)
    return event.is_set()
