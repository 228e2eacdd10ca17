"""The ASGI application: a lean router over the batcher, with metrics, health, auth and error handling.

Raw ASGI rather than a framework: a single-row request is on the order of 100 µs of work, and a framework's
request object, middleware stack and routing cost a large share of that (see docs/benchmarks.md, serve).
Every client error is a 4xx with ``{"error": message}``; only an unexpected failure is a 500.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kubelab.serve._batcher import Batcher, Overloaded
from kubelab.serve._input import ClientError, Schema, parse_predict, parse_v2
from kubelab.serve._metadata import Metadata
from kubelab.serve._metrics import CONTENT_TYPE, Metrics
from kubelab.serve._model import Model

__all__ = ["ServeApp", "ServeOptions"]

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Reply = tuple[int, bytes, bytes]  # status, body, content type
_JSON = b"application/json"
_PUBLIC = frozenset({"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"})


@dataclass(frozen=True)
class ServeOptions:
    """How the app batches, limits and guards requests."""

    name: str
    max_batch: int = 64
    max_wait_s: float = 0.0
    max_queue: int = 256
    max_body_bytes: int = 1 << 20
    token: str | None = None
    warmup: int = 20


def _freeze_heap() -> None:
    """Move everything alive after start-up (modules, the model, the libraries' objects: ~130,000 of them) out
    of the garbage collector's reach. A full collection otherwise walks them all, a pause of tens of ms that
    lands in the p99 of whatever requests are queued behind it; with them frozen it takes microseconds."""
    import gc

    gc.collect()
    gc.freeze()


def _dumps(data: Any) -> bytes:
    import orjson

    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


def _values(out: Any) -> Any:
    """Predictions as orjson serializes them: numeric arrays as they are, labels (text, objects) as lists."""
    kind = getattr(getattr(out, "dtype", None), "kind", "O")
    return out if kind in "fiub" else out.tolist() if hasattr(out, "tolist") else list(out)


def _on_stop_signal(callback: Callable[[], None]) -> None:
    """Call ``callback`` in the event loop as soon as SIGTERM or SIGINT arrives, then the server's handler.

    uvicorn first waits for in-flight requests and only then runs the lifespan shutdown; a request waiting
    for batch company must not wait out ``max_wait`` meanwhile. uvicorn installs its handlers before the
    lifespan starts, so they are chained here (main thread only: a server in a test thread has none).
    """
    import asyncio
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


class ServeApp:
    """The model server as an ASGI callable, built from a loaded model (``kubelab.serve.build_app`` does it)."""

    def __init__(self, model: Model, meta: Metadata | None, options: ServeOptions,
                 metrics: Metrics | None = None) -> None:
        import numpy as np

        from kubelab.errors import ModelError

        self.model, self.meta, self.options = model, meta or Metadata(), options
        names = self.meta.feature_names or model.feature_names
        n = model.n_features if model.n_features is not None else (len(names) if names else None)
        if names is not None and n is not None and len(names) != n:
            raise ModelError(f"{model.path}: {len(names)} feature names for a model that takes {n} features; "
                             "fix feature_names in the .meta.json file")
        self.schema = Schema(n, names, model.dtype)
        sample = self.meta.sample if self.meta.sample is not None else ((0.0,) * n if n is not None else None)
        if sample is not None and n is not None and len(sample) != n:
            raise ModelError(f"{model.path}: the sample row has {len(sample)} values, the model takes {n}")
        self.sample = None if sample is None else np.asarray([sample], dtype=model.dtype)
        self.metrics = metrics or Metrics()
        self.batcher: Batcher | None = None
        self.ready = False
        self._token = options.token.encode() if options.token else None
        self._routes: dict[tuple[str, str], Callable[[Scope, Receive], Awaitable[Reply]]] = {
            ("GET", "/"): self._page, ("GET", "/healthz"): self._live, ("GET", "/readyz"): self._ready,
            ("GET", "/metrics"): self._metrics, ("GET", "/test"): self._test, ("POST", "/predict"): self._predict,
            ("GET", "/v2"): self._v2_server, ("GET", "/v2/health/live"): self._live,
            ("GET", "/v2/health/ready"): self._ready}
        self._paths = {path for _, path in self._routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # lifespan: warm up before ready; drain on shutdown
    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits 1
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Start the batcher and predict the sample row a few times, then report ready."""
        o = self.options
        self.batcher = Batcher(self.model, self.metrics, max_batch=o.max_batch, max_wait_s=o.max_wait_s,
                               max_queue=o.max_queue)
        self.batcher.start()
        _on_stop_signal(self.batcher.hurry)
        if self.sample is not None:
            import numpy as np

            for _ in range(o.warmup):
                self.model.predict(self.sample)
            self.model.predict(np.repeat(self.sample, o.max_batch, axis=0))
        _freeze_heap()
        self.ready = True

    async def shutdown(self) -> None:
        """Stop reporting ready, answer what is queued, release the metrics of this process."""
        self.ready = False
        if self.batcher is not None:
            await self.batcher.close()
        self.metrics.close()
        import gc

        gc.unfreeze()

    # HTTP
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        self.metrics.in_flight.inc()
        method, path = scope["method"], scope["path"]
        endpoint = path if path in self._paths else "other"
        headers: list[tuple[bytes, bytes]] = []
        try:
            handler = self._routes.get((method, path))
            if handler is None:
                handler, endpoint = self._route_v2(method, path)
            if self._token is not None and path not in _PUBLIC:
                self._authorize(scope)
            status, body, ctype = await handler(scope, receive)
        except ClientError as exc:
            status, body, ctype = exc.status, _dumps({"error": exc.message}), _JSON
            headers.extend(exc.headers)
        except Overloaded:
            status, ctype = 503, _JSON
            body = _dumps({"error": f"overloaded: {self.options.max_queue} requests are queued; retry shortly"})
            headers.append((b"retry-after", b"1"))
        except Exception as exc:  # noqa: BLE001 - a bug or a model failure: 500, logged with its traceback
            log.exception("%s %s failed", method, path)
            status, body, ctype = 500, _dumps({"error": f"internal error: {type(exc).__name__}: {exc}"}), _JSON
        headers += [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(endpoint, status, time.perf_counter() - start)

    def _route_v2(self, method: str, path: str) -> tuple[Callable[[Scope, Receive], Awaitable[Reply]], str]:
        parts = path.split("/")
        if len(parts) >= 4 and parts[1] == "v2" and parts[2] == "models" and parts[3]:
            tail = "/".join(parts[4:])
            want = {"": "GET", "ready": "GET", "infer": "POST"}.get(tail)
            if want is not None:
                endpoint = "/v2/models/{name}" + (f"/{tail}" if tail else "")
                if parts[3] != self.options.name:
                    raise ClientError(404, f"no model named '{parts[3]}'; this server serves "
                                           f"'{self.options.name}'")
                if method != want:
                    raise ClientError(405, f"{path} takes {want}, not {method}", ((b"allow", want.encode()),))
                return {"": self._v2_model, "ready": self._v2_model_ready, "infer": self._v2_infer}[tail], endpoint
        allowed = sorted(m for m, p in self._routes if p == path)
        if allowed:
            raise ClientError(405, f"{path} does not take {method}", ((b"allow", ", ".join(allowed).encode()),))
        raise ClientError(404, f"no endpoint {path}; see GET / or the docs: /predict, /test, /healthz, /readyz, "
                               "/metrics, /v2/models/{name}/infer")

    def _authorize(self, scope: Scope) -> None:
        assert self._token is not None
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, given = value.partition(b" ")
                if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token):
                    return
                break
        raise ClientError(401, "missing or wrong token; send the header 'Authorization: Bearer <token>'",
                          ((b"www-authenticate", b"Bearer"),))

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.options.max_body_bytes
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                raise ClientError(413, f"payload of {int(value)} bytes is over the limit of {limit} bytes; "
                                       "send fewer rows per request")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientError(400, "the client disconnected before the body arrived")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ClientError(413, f"payload over the limit of {limit} bytes; send fewer rows per request")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _infer(self, rows: Any) -> Any:
        if self.batcher is None:
            raise ClientError(503, "the model is still loading; retry when GET /readyz answers 200")
        return await self.batcher.predict(rows)

    # endpoints
    async def _predict(self, scope: Scope, receive: Receive) -> Reply:
        rows = parse_predict(await self._body(scope, receive), self.schema)
        return 200, _dumps({"predictions": _values(await self._infer(rows))}), _JSON

    async def _test(self, scope: Scope, receive: Receive) -> Reply:
        if self.sample is None:
            raise ClientError(404, "no sample row for this model: add \"sample\": [...] to its .meta.json file")
        return 200, _dumps({"predictions": _values(await self._infer(self.sample)), "instances": self.sample}), _JSON

    async def _live(self, scope: Scope, receive: Receive) -> Reply:
        return 200, b'{"live":true}', _JSON

    async def _ready(self, scope: Scope, receive: Receive) -> Reply:
        if self.ready:
            return 200, b'{"ready":true}', _JSON
        return 503, b'{"ready":false}', _JSON

    async def _metrics(self, scope: Scope, receive: Receive) -> Reply:
        return 200, self.metrics.render(), CONTENT_TYPE.encode()

    async def _page(self, scope: Scope, receive: Receive) -> Reply:
        from kubelab.serve._page import render_page

        return 200, render_page(self), b"text/html; charset=utf-8"

    # Open Inference Protocol v2
    async def _v2_server(self, scope: Scope, receive: Receive) -> Reply:
        from kubelab import __version__

        return 200, _dumps({"name": "kubelab", "version": __version__, "extensions": []}), _JSON

    def _v2_datatype(self) -> str:
        return "FP32" if self.model.dtype == "float32" else "FP64"

    async def _v2_model(self, scope: Scope, receive: Receive) -> Reply:
        n = -1 if self.schema.n_features is None else self.schema.n_features
        return 200, _dumps({
            "name": self.options.name, "versions": [], "platform": self.model.format,
            "inputs": [{"name": "input-0", "datatype": self._v2_datatype(), "shape": [-1, n]}],
            "outputs": [{"name": "predict", "datatype": self._v2_datatype(), "shape": [-1]}],
            "parameters": {"feature_names": list(self.schema.feature_names or []),
                           **{k: v for k, v in (("study", self.meta.study), ("metric", self.meta.metric),
                                                ("dataset", self.meta.dataset), ("predictor", self.model.predictor))
                              if v is not None}}}), _JSON

    async def _v2_model_ready(self, scope: Scope, receive: Receive) -> Reply:
        return await self._ready(scope, receive)

    async def _v2_infer(self, scope: Scope, receive: Receive) -> Reply:
        import numpy as np

        rows, request_id = parse_v2(await self._body(scope, receive), self.schema)
        out = np.asarray(await self._infer(rows))
        datatype = {"f": "FP64" if out.dtype.itemsize == 8 else "FP32", "i": "INT64", "u": "UINT64",
                    "b": "BOOL"}.get(out.dtype.kind, "BYTES")
        reply: dict[str, Any] = {"model_name": self.options.name,
                                 "outputs": [{"name": "predict", "datatype": datatype, "shape": list(out.shape),
                                              "data": _values(out.ravel())}]}
        if request_id is not None:
            reply["id"] = request_id
        return 200, _dumps(reply), _JSON
