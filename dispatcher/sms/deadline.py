"""A total deadline for one HTTP call to a provider, however slowly the answer trickles in.

requests and urllib3 time out per socket operation: a server that sends one byte every
0.7 s never trips a 5 s read timeout, and held one send for 9 s, long enough to outlive its
lease and be sent twice. Here every call starts a watchdog. Each connection the call uses
registers with it; when the deadline passes, the watchdog shuts the sockets down, which wakes
the blocked read at once, and the call raises `DeadlineExceeded`. Connect and read timeouts
are clamped to the deadline too, for the moment before a socket exists.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
from typing import Any

from requests import Session
from requests.adapters import HTTPAdapter
from requests.exceptions import Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["DeadlineExceeded", "DeadlineSession"]


class DeadlineExceeded(Timeout):
    """A provider call did not complete within its total deadline."""


class _Watch:
    """The connections of one call, and whether its deadline has passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self.expired = False
        self._done = False

    def attach(self, conn: HTTPConnection) -> None:
        """Watch a connection the call uses; cut it at once if the deadline has passed."""
        with self._lock:
            if conn not in self._connections:
                self._connections.append(conn)
            if self.expired and not self._done:
                _cut(conn)

    def expire(self) -> None:
        """Mark the deadline passed and cut every connection of the call still running."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            for conn in self._connections:
                _cut(conn)

    def finish(self) -> None:
        """End the watch: a late watchdog must not cut a connection back in the pool."""
        with self._lock:
            self._done = True
            self._connections.clear()


def _cut(conn: HTTPConnection) -> None:
    """Shut a connection's socket down both ways, waking any read blocked on it."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    # The plain socket's shutdown, also for TLS: it leaves the TLS object alone while
    # another thread is inside a read, and the read sees the end of the stream. A socket
    # already closed has nothing left to wake.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_CURRENT: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar(
    "provider_call_watch", default=None
)


def _attach(conn: HTTPConnection) -> None:
    """Register a connection with the call running in this thread, if it has a deadline."""
    watch = _CURRENT.get()
    if watch is not None:
        watch.attach(conn)


class _Watched:
    """Mixin for urllib3 connections: each use registers with the running call's watch."""

    def connect(self) -> None:
        """Open the connection, then put it under the running call's watch."""
        super().connect()  # type: ignore[misc]
        _attach(self)  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> None:
        """Send a request on the connection, new or reused, under the running call's watch."""
        _attach(self)  # type: ignore[arg-type]
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """A requests adapter whose connections register with the running call's watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager on watched connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Return the proxy's pool manager, on watched connection pools too."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def _clamp(timeout: Any, deadline_s: float) -> Any:
    """Return a requests timeout (none, seconds, or a pair) no longer than the deadline."""
    if timeout is None:
        return deadline_s
    if isinstance(timeout, tuple):
        return tuple(deadline_s if t is None else min(t, deadline_s) for t in timeout)
    return min(timeout, deadline_s)


class DeadlineSession(Session):
    """A requests session whose every call, body included, ends by `deadline_s`."""

    def __init__(self, deadline_s: float, *, pool_size: int = 10):
        if deadline_s <= 0:
            raise ValueError(f"a deadline must be positive, not {deadline_s!r}")
        super().__init__()
        self.deadline_s = float(deadline_s)
        adapter = _WatchedAdapter(pool_maxsize=max(1, pool_size))
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def send(self, request: Any, **kwargs: Any) -> Any:
        """Send under the deadline; raise DeadlineExceeded when it passes first."""
        if kwargs.get("stream"):
            raise ValueError("a streamed body would be read after the deadline's watch ends")
        kwargs["timeout"] = _clamp(kwargs.get("timeout"), self.deadline_s)
        watch = _Watch()
        token = _CURRENT.set(watch)
        timer = threading.Timer(self.deadline_s, watch.expire)
        timer.daemon = True
        timer.start()
        try:
            response = super().send(request, **kwargs)  # reads the whole body, unstreamed
        except Exception as exc:
            if watch.expired:
                raise DeadlineExceeded(self._message()) from exc
            raise
        finally:
            timer.cancel()
            watch.finish()
            _CURRENT.reset(token)
        if watch.expired:
            # The answer may have ended early because its socket was cut: not to be trusted.
            response.close()
            raise DeadlineExceeded(self._message())
        return response

    def _message(self) -> str:
        """Return the text of a deadline error."""
        return f"no complete answer within the {self.deadline_s:g} s deadline"
