"""Models trained at test time on small generated data, and real servers on 127.0.0.1.

``live`` runs the app in uvicorn in a thread of the test process (fast, for the endpoint tests);
``ServerProcess`` runs ``kubelab serve`` as a user does, for exit codes, signals and workers.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

N_FEATURES = 5
NAMES = [f"f{i}" for i in range(N_FEATURES)]


def make_data(rows: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, N_FEATURES))
    return x, x @ np.arange(1, N_FEATURES + 1) + rng.normal(scale=0.1, size=rows)


def train_xgboost(path: Path, trees: int = 10) -> Any:
    import xgboost as xgb

    x, y = make_data()
    model = xgb.XGBRegressor(n_estimators=trees, max_depth=3, n_jobs=1).fit(x, y)
    model.save_model(str(path))
    return model


@pytest.fixture(scope="session")
def xgb_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An XGBoost model (.ubj) with a metadata file naming its features and a sample row."""
    from kubelab.serve import Metadata, write_metadata

    path = tmp_path_factory.mktemp("models") / "reg.ubj"
    train_xgboost(path)
    x, _ = make_data()
    write_metadata(path, Metadata(feature_names=tuple(NAMES), sample=tuple(float(v) for v in x[0]),
                                  dataset="generated", metric="neg_root_mean_squared_error", study="unit"))
    return path


@dataclass
class Client:
    """A tiny HTTP client over http.client: one connection per request, like an independent user."""

    host: str
    port: int

    def request(self, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"content-type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body, **kw)
        return status, json.loads(data)


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in Prometheus exposition ``text`` (0 when absent)."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else r"(?:\{\})?") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.M)
    return float(found.group(1)) if found else 0.0


class LiveServer:
    """The app under uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, model: Path, **options: Any) -> None:
        import uvicorn

        from kubelab.serve import ServeOptions, ServerConfig, bind, build_app

        config = ServerConfig(model=str(model), options=ServeOptions(name=options.pop("name", "reg"), **options))
        self.app = build_app(config)
        self.sock = bind("127.0.0.1", 0)
        self.client = Client("127.0.0.1", self.sock.getsockname()[1])
        self.server = uvicorn.Server(uvicorn.Config(self.app, loop="asyncio", http="httptools", lifespan="on",
                                                    log_config=None, access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@pytest.fixture(scope="module")
def live(xgb_model: Path) -> Iterator[LiveServer]:
    """One server for a module's endpoint tests (tests must not change its state)."""
    with LiveServer(xgb_model, max_body_bytes=64 * 1024) as server:
        yield server


class ServerProcess:
    """``kubelab serve MODEL --port 0 ARGS`` in a subprocess; stderr goes to a file we read."""

    def __init__(self, model: Path | str, *args: str, cwd: Path) -> None:
        self.log = cwd / f"serve-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if k != "KUBELAB_DEBUG"}
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "kubelab", "serve", str(model), "--port", "0", *args],
                                         cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        self.client: Client | None = None

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, seconds: float = 60) -> Client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(r"on http://([\d.]+):(\d+)", self.stderr)
            if found and self.client is None:
                self.client = Client(found.group(1), int(found.group(2)))
            if self.client is not None:
                try:
                    if self.client.request("GET", "/readyz", timeout=2)[0] == 200:
                        return self.client
                except OSError:
                    pass
            assert self.proc.poll() is None, f"server exited with {self.proc.returncode}:\n{self.stderr}"
            time.sleep(0.05)
        raise AssertionError(f"server not ready within {seconds} s:\n{self.stderr}")

    def terminate(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
