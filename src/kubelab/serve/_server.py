"""Run the app: uvicorn with uvloop and httptools, one process or W worker processes on one socket.

The model is loaded in the calling process first, so a bad model file fails before anything listens. The
socket is bound here too (a clear error for a port in use; ``port=0`` picks a free one). On SIGTERM uvicorn
stops accepting, lets in-flight requests finish, then the app answers what is queued and the call returns.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kubelab._deps import require
from kubelab.errors import KubelabError
from kubelab.serve._app import ServeApp, ServeOptions
from kubelab.serve._metadata import Metadata, read_metadata
from kubelab.serve._model import Model, load_model

__all__ = ["ServerConfig", "app_from_env", "bind", "build_app", "describe", "is_loopback", "load", "model_name",
           "run_server", "warn_exposed"]

log = logging.getLogger(__name__)
_ENV = "KUBELAB_SERVE_CONFIG"


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``kubelab serve`` needs; ``options`` shapes the app, the rest the process."""

    model: str
    options: ServeOptions
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    allow_pickle: bool = False
    trusted: tuple[str, ...] = ()
    threads: int = 1
    graceful_s: float = 30.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        data = json.loads(text)
        data["options"] = ServeOptions(**data["options"])
        data["trusted"] = tuple(data["trusted"])
        return cls(**data)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load(config: ServerConfig) -> tuple[Model, Metadata | None]:
    """The model and its metadata, or a ModelError."""
    model = load_model(config.model, allow_pickle=config.allow_pickle, trusted=config.trusted,
                       threads=config.threads)
    return model, read_metadata(config.model)


def build_app(config: ServerConfig, loaded: tuple[Model, Metadata | None] | None = None) -> ServeApp:
    """The ASGI app for ``config`` (loads the model unless ``loaded`` is given)."""
    model, meta = loaded if loaded is not None else load(config)
    return ServeApp(model, meta, config.options)


def app_from_env() -> ServeApp:
    """uvicorn's factory in each worker process: the config travels in ``KUBELAB_SERVE_CONFIG``."""
    return build_app(ServerConfig.from_json(os.environ[_ENV]))


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a KubelabError that says what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = "pick another with --port, or --port 0 for any free one" if exc.errno == 98 else \
            "check --host: it must be an address of this machine"
        raise KubelabError(f"cannot listen on {host}:{port}: {exc.strerror}; {hint}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(config: ServerConfig, app: Any) -> Any:
    uvicorn = require("uvicorn", "serve")
    loop = "uvloop" if _has("uvloop") else "asyncio"
    http = "httptools" if _has("httptools") else "h11"
    return uvicorn.Config(app, factory=isinstance(app, str), workers=config.workers, loop=loop, http=http,
                          lifespan="on", access_log=False, log_config=None, server_header=False,
                          timeout_graceful_shutdown=config.graceful_s, backlog=2048)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run_server(config: ServerConfig, sock: socket.socket, app: ServeApp | None = None,
               on_start: Callable[[], None] | None = None) -> None:
    """Serve on ``sock`` until SIGTERM or SIGINT; return once in-flight requests are answered.

    With one worker, ``app`` (built from ``config`` when None) serves in this process; with several, each
    worker process loads the model itself.

    Raises:
        KubelabError: the app failed to start (its message says why).
    """
    uvicorn = require("uvicorn", "serve")
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # uvicorn re-raises SIGTERM after a clean stop
    try:
        if config.workers == 1:
            server = uvicorn.Server(_uvicorn_config(config, app or build_app(config)))
            if on_start:
                on_start()
            server.run(sockets=[sock])
            if not server.started:
                raise KubelabError("the server did not start; see the messages above")
            return
        _run_workers(config, sock, on_start)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_workers(config: ServerConfig, sock: socket.socket, on_start: Callable[[], None] | None) -> None:
    require("uvicorn", "serve")
    from uvicorn.supervisors import Multiprocess

    metrics_dir = tempfile.mkdtemp(prefix="kubelab-serve-metrics-")
    saved = {k: os.environ.get(k) for k in (_ENV, "PROMETHEUS_MULTIPROC_DIR")}
    os.environ[_ENV] = config.to_json()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uv_config = _uvicorn_config(config, "kubelab.serve._server:app_from_env")
        if on_start:
            on_start()
        Multiprocess(uv_config, sockets=[sock]).run()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(metrics_dir, ignore_errors=True)


def describe(config: ServerConfig, loaded: tuple[Model, Metadata | None], sock: socket.socket) -> str:
    """One line that says what is served where."""
    model, _ = loaded
    host, port = sock.getsockname()[:2]
    url_host = f"[{host}]" if ":" in host else host
    n = f", {model.n_features} features" if model.n_features is not None else ""
    n += f"; predicted by {model.predictor}" if model.predictor else ""
    return (f"serving {config.options.name} ({model.format}{n}) on http://{url_host}:{port} "
            f"with {config.workers} worker{'s' if config.workers != 1 else ''}")


def model_name(path: str | Path, given: str | None) -> str:
    """The name the v2 protocol uses: ``given``, or the model file's stem."""
    return given or Path(path).stem


def warn_exposed(host: str, token: str | None) -> Sequence[str]:
    """Warnings for a server others can reach."""
    if is_loopback(host):
        return ()
    if token:
        return (f"listening on {host}: every endpoint but the health checks needs the token; traffic is "
                "plain HTTP, so put TLS (an ingress, a proxy) in front of it",)
    return (f"listening on {host} WITHOUT AUTHENTICATION: anyone who can reach this address can use the model "
            "and read its metrics; set --token (or KUBELAB_SERVE_TOKEN), or bind 127.0.0.1",)
