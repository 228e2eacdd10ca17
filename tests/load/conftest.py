from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("http_server.py")

#: ``serve(*flags) -> port``: start tests/load/http_server.py with FLAGS on 127.0.0.1 (stopped after the test).
Serve = Callable[..., int]


@pytest.fixture
def serve() -> Iterator[Serve]:
    procs: list[subprocess.Popen[str]] = []

    def _start(*flags: str) -> int:
        proc = subprocess.Popen([sys.executable, str(SERVER), *flags], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        return int(proc.stdout.readline())

    yield _start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
