"""A small, fast HTTP/1.1 test server on 127.0.0.1 (uvloop + httptools), run as its own process.

    python tests/load/http_server.py [--delay-ms D] [--stall-at S --stall-for L] [--status CODE] [--dump FILE]

It prints its port on the first line of stdout once it listens. Every response is ``ok`` (2 bytes) with the
given status, after ``--delay-ms``. With ``--stall-at S --stall-for L`` the server stalls: every request that
arrives between S and S + L seconds after the first request is answered at S + L, all at once (a GC pause,
a stuck worker). ``--dump FILE`` writes each request's raw bytes (head and body) to FILE, the last one wins.
``--trivial`` answers each request head at once without parsing (GET only): the benchmarks' server.
``--workers N`` forks N worker processes that share the listening socket (a pre-forking server, like uvicorn
``--workers``); SIGTERM to the parent stops them all.
Used by the tests and by bench/loadtest_*.py as the "trivial loopback server".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time


class _Server(asyncio.Protocol):
    def __init__(self, opts: argparse.Namespace, state: dict[str, float]) -> None:
        import httptools

        self.opts, self.state = opts, state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.raw = bytearray()
        self.response = (f"HTTP/1.1 {opts.status} X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
                         .encode())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        if self.opts.trivial:  # GET only: one canned response per request head, no parsing
            if self.transport is not None:
                self.transport.write(self.response * data.count(b"\r\n\r\n"))
            return
        if self.opts.dump:
            self.raw += data
        try:
            self.parser.feed_data(data)
        except Exception:  # noqa: BLE001 - a broken client: drop it
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        now = time.monotonic()
        if self.opts.dump:
            with open(self.opts.dump, "wb") as f:
                f.write(bytes(self.raw))
            self.raw.clear()
        first = self.state.setdefault("first", now)
        loop = asyncio.get_running_loop()
        stall_start = first + self.opts.stall_at
        stall_end = stall_start + self.opts.stall_for
        if self.opts.stall_for and stall_start <= now < stall_end:
            loop.call_later(stall_end - now, self._respond)
        elif self.opts.delay_ms:
            loop.call_later(self.opts.delay_ms / 1000, self._respond)
        else:
            self._respond()

    def _respond(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def _serve(opts: argparse.Namespace, sock: socket.socket | None = None) -> None:
    loop = asyncio.get_running_loop()
    state: dict[str, float] = {}
    if sock is None:
        server = await loop.create_server(lambda: _Server(opts, state), "127.0.0.1", opts.port, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
    else:
        server = await loop.create_server(lambda: _Server(opts, state), sock=sock)
    await server.serve_forever()


def _prefork(opts: argparse.Namespace) -> None:
    import uvloop

    sock = socket.create_server(("127.0.0.1", opts.port), backlog=4096)
    children = []
    for _ in range(opts.workers):
        pid = os.fork()
        if pid == 0:
            uvloop.run(_serve(opts, sock))
            os._exit(0)
        children.append(pid)

    def stop(*_: object) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)
        for child in children:
            os.waitpid(child, 0)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(sock.getsockname()[1], flush=True)
    while True:
        signal.pause()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--stall-at", type=float, default=0.0)
    parser.add_argument("--stall-for", type=float, default=0.0)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--dump", default=None)
    parser.add_argument("--trivial", action="store_true", help="GET only, no parsing: the fastest server for bench/")
    parser.add_argument("--workers", type=int, default=0, help="fork this many workers sharing the socket")
    opts = parser.parse_args(argv)
    if opts.workers:
        return _prefork(opts)
    import uvloop

    uvloop.run(_serve(opts))


if __name__ == "__main__":
    sys.exit(main())
