"""A minimal keep-alive HTTP/1.1 client connection: asyncio protocol callbacks plus httptools' C parser.

No futures, tasks or coroutines per request: the generator hands a connection the request bytes and gets a
callback with (status, body size) or an error kind when the response's last byte arrives. This is what lets
one core drive tens of thousands of requests per second (bench/loadtest_clients.py compares stacks).
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from typing import Any, cast

__all__ = ["Connection", "OnDone", "error_kind"]

#: ``on_done(connection, status, body_bytes, error)``: status 0 and an error kind when no response came.
OnDone = Callable[["Connection", int, int, "str | None"], None]


class Connection(asyncio.Protocol):
    """One TCP connection carrying one request at a time (HTTP/1.1 keep-alive, no pipelining).

    Attributes:
        started: The latency origin of the request in flight (``time.perf_counter`` seconds): its intended
            send time in an open loop, its actual send time in a closed loop.
        busy: A request is in flight.
        reusable: The connection is open and the server did not ask to close it.
        owner: Free for the generator (the closed-loop user driving this connection).
    """

    __slots__ = ("_on_done", "_parser", "_size", "busy", "owner", "reusable", "started", "transport")

    def __init__(self, on_done: OnDone, owner: Any = None) -> None:
        import httptools

        self._on_done = on_done
        self._parser = httptools.HttpResponseParser(self)
        self._size = 0
        self.transport: asyncio.Transport | None = None
        self.started = 0.0
        self.busy = False
        self.reusable = True
        self.owner = owner

    def send(self, payload: bytes, started: float) -> None:
        """Write one request; ``on_done`` is called once when its response (or an error) arrives."""
        assert self.transport is not None and not self.busy
        self.busy = True
        self._size = 0
        self.started = started
        self.transport.write(payload)

    def abort(self, kind: str) -> None:
        """Drop the connection, failing the request in flight (if any) with error ``kind``."""
        self.reusable = False
        if self.busy:
            self.busy = False
            self._on_done(self, 0, 0, kind)
        if self.transport is not None:
            self.transport.abort()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        import httptools

        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.abort("bad response")

    def eof_received(self) -> bool | None:
        self.reusable = False
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        if self.busy:
            self.busy = False
            self._on_done(self, 0, 0, error_kind(exc) if exc else "connection closed")

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._size += len(body)

    def on_message_complete(self) -> None:
        if not self.busy:
            return  # a response nobody asked for: ignore it
        self.busy = False
        if not self._parser.should_keep_alive():
            self.reusable = False
        self._on_done(self, self._parser.get_status_code(), self._size, None)


_ERRNO_KINDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EPIPE: "connection reset",
    errno.ETIMEDOUT: "timeout",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRNOTAVAIL: "no free local port",
    errno.EMFILE: "too many open files",
}


def error_kind(exc: BaseException) -> str:
    """A short, stable name for a connection error, used as the key of ``errors``."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno in _ERRNO_KINDS:
        return _ERRNO_KINDS[exc.errno]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__
