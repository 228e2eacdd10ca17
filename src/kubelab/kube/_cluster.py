"""``Cluster``: the few Kubernetes API calls kubelab makes, over lightkube, with errors translated once.

Objects go in and come out as plain dicts (what manifests are). Only kinds in ``_kinds.KINDS`` are handled;
an unknown kind is a ``ClusterError`` naming the supported ones.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from kubelab.errors import ClusterError
from kubelab.kube._config import ClusterConfig, load_config
from kubelab.kube._kinds import KINDS, Kind, kind_of, resource_class

__all__ = ["Cluster", "object_ref"]

T = TypeVar("T")
Objects = list[dict[str, Any]]  # an alias: inside Cluster, `list` is the method


def object_ref(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name`` for cluster-scoped objects), as messages show it."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _plain(obj: Any) -> dict[str, Any]:
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    return dict(data)


class Cluster:
    """A connection to one Kubernetes API server (one kubeconfig context).

    Thread-safe for concurrent calls (lightkube's client is). Use as a context manager or call ``close()``.

    Args:
        kubeconfig: Path of a kubeconfig file; default ``KUBECONFIG`` or ``~/.kube/config``.
        context: Context name; default the file's current context.
        environ: Environment to read ``KUBECONFIG``/``HOME`` from (tests inject one).
        timeout: Seconds for each API call.
    """

    def __init__(self, kubeconfig: str | None = None, context: str | None = None, *,
                 environ: Mapping[str, str] | None = None, timeout: float = 10.0) -> None:
        from kubelab._deps import require

        require("lightkube", "k8s")
        self.config: ClusterConfig = load_config(kubeconfig, context, environ=environ)
        import httpx2
        from lightkube import Client

        self._client = Client(self.config.single, timeout=httpx2.Timeout(timeout), lazy=False, trust_env=False)

    @property
    def namespace(self) -> str:
        """The context's default namespace."""
        return self.config.namespace

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls -----------------------------------------------------------------------------------------

    def kind(self, api_version: str, kind: str) -> Kind:
        """The table entry for a kind, or a ClusterError listing those kubelab handles."""
        entry = kind_of(api_version, kind)
        if entry is None:
            known = ", ".join(f"{k.api_version}/{k.kind}" for k in KINDS if k.order < 90)
            raise ClusterError(f"{api_version} {kind}: kubelab cannot apply this kind; it handles: {known}")
        return entry

    def apply(self, obj: Mapping[str, Any], *, field_manager: str = "kubelab", force: bool = False,
              dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply ``obj``; returns the object as the server has it (or would, with ``dry_run``)."""
        entry = self.kind(str(obj.get("apiVersion")), str(obj.get("kind")))
        cls = resource_class(entry)
        meta = obj.get("metadata") or {}
        body = cls(obj)
        return self._call(object_ref(obj), lambda: _plain(self._client.apply(
            body, field_manager=field_manager, force=force, dry_run=dry_run,
            **({"namespace": meta.get("namespace") or self.namespace} if entry.namespaced else {}))))

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        entry = self.kind(api_version, kind)
        kwargs = {"namespace": namespace or self.namespace} if entry.namespaced else {}
        try:
            return self._call(f"{kind} {name}",
                              lambda: _plain(self._client.get(resource_class(entry), name, **kwargs)))
        except ClusterError as exc:
            if exc.code == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, *, namespace: str | None = None, labels: str | None = None,
             fields: str | None = None) -> Objects:
        """Objects of a kind; ``namespace=None`` lists every namespace; ``labels``/``fields`` are selectors."""
        entry = self.kind(api_version, kind)
        kwargs: dict[str, Any] = {"namespace": namespace or "*"} if entry.namespaced else {}
        if labels:
            kwargs["labels"] = _selector(labels)
        if fields:
            kwargs["fields"] = _selector(fields)
        where = f" in namespace {namespace}" if namespace else ""
        return self._call(f"list {entry.plural}{where}",
                          lambda: [_plain(o) for o in self._client.list(resource_class(entry), **kwargs)])

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None, *,
               dry_run: bool = False) -> bool:
        """Delete an object (background propagation); False if it was already gone."""
        from lightkube.types import CascadeType

        entry = self.kind(api_version, kind)
        kwargs = {"namespace": namespace or self.namespace} if entry.namespaced else {}
        client: Any = self._client  # lightkube's overloads do not cover generic resources
        try:
            self._call(f"delete {kind} {name}", lambda: client.delete(
                resource_class(entry), name, dry_run=dry_run, cascade=CascadeType.BACKGROUND, **kwargs))
        except ClusterError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def events(self, namespace: str, *, kind: str | None = None, name: str | None = None) -> Objects:
        """Events in ``namespace``, optionally only those about one object, oldest first."""
        fields = {k: v for k, v in (("involvedObject.kind", kind), ("involvedObject.name", name)) if v}
        items = self.list("v1", "Event", namespace=namespace,
                          fields=",".join(f"{k}={v}" for k, v in fields.items()) or None)
        return sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def pod_metrics(self, namespace: str, labels: str | None = None) -> Objects:
        """PodMetrics (metrics.k8s.io/v1beta1) of the pods matching ``labels``; a clear error without it."""
        try:
            return self.list("metrics.k8s.io/v1beta1", "PodMetrics", namespace=namespace, labels=labels)
        except ClusterError as exc:
            if exc.code in (404, 503):
                raise ClusterError(f"the metrics API (metrics.k8s.io) is not available on {self.config.server}; "
                                   "hint: install metrics-server (kubectl top needs it too)", code=exc.code) from None
            raise

    def watch(self, api_version: str, kind: str, *, namespace: str | None = None, labels: str | None = None,
              resource_version: str | None = None, timeout: float = 60.0) -> Iterator[tuple[str, dict[str, Any]]]:
        """Changes to objects of a kind, ``(ADDED|MODIFIED|DELETED, object)``, for ``timeout`` seconds.

        Without ``resource_version`` the current objects come first (as ADDED). The watch runs on its own
        connection, which is closed when the time is up or the caller stops iterating.
        """
        import httpx2
        from lightkube import Client

        entry = self.kind(api_version, kind)
        kwargs: dict[str, Any] = {"namespace": namespace or "*"} if entry.namespaced else {}
        if labels:
            kwargs["labels"] = _selector(labels)
        # lightkube re-opens a watch the server closed, forever: a private client, closed at the deadline,
        # bounds it (the reading thread then ends with the closed connection).
        client = Client(self.config.single, timeout=httpx2.Timeout(10.0), lazy=False, trust_env=False)
        events: queue.Queue[tuple[str, dict[str, Any]] | BaseException | None] = queue.Queue()

        def read() -> None:
            try:
                for change, obj in client.watch(resource_class(entry), server_timeout=max(1, math.ceil(timeout)),
                                                resource_version=resource_version, **kwargs):
                    events.put((change, _plain(obj)))
            except BaseException as exc:  # handed to the caller's thread
                events.put(exc)

        threading.Thread(target=read, name=f"watch-{entry.plural}", daemon=True).start()
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    item = events.get(timeout=left)
                except queue.Empty:
                    return
                if isinstance(item, BaseException):
                    with self._translated(f"watch {entry.plural}"):
                        raise item
                if item is not None:
                    yield item
        finally:
            client.close()

    # --- error translation -----------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        with self._translated(what):
            return fn()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        import httpx2
        from lightkube.core.exceptions import ApiError

        where = f"{self.config.server} (context {self.config.context} from {self.config.source})"
        try:
            yield
        except ApiError as exc:
            status = exc.status
            code, reason, message = status.code, status.reason, status.message or str(exc)
            hint = {
                401: "; hint: the credentials in the kubeconfig were refused: refresh them "
                     "(your provider's CLI writes new ones)",
                403: "; hint: your account lacks the RBAC permission for this; ask a cluster admin",
            }.get(code or 0, "")
            raise ClusterError(f"{what}: {message}{hint}", code=code, reason=reason) from None
        except httpx2.TransportError as exc:
            raise ClusterError(f"cannot reach the Kubernetes API at {where}: {exc or type(exc).__name__}; "
                               "hint: is the cluster up and the kubeconfig current? "
                               "(`kubectl cluster-info` checks the same)") from None
        except httpx2.HTTPStatusError as exc:  # a watch's error, or a non-Kubernetes answer (a proxy, a wrong URL)
            answer = _status_of(exc.response)
            if answer is not None:
                raise ClusterError(f"{what}: {answer.get('message')}", code=answer.get("code"),
                                   reason=answer.get("reason")) from None
            raise ClusterError(f"{what}: {where} answered HTTP {exc.response.status_code}, not the Kubernetes "
                               "API; hint: check the server URL in the kubeconfig",
                               code=exc.response.status_code) from None
        except json.JSONDecodeError:
            raise ClusterError(f"{what}: {where} did not answer with JSON; hint: check the server URL in the "
                               "kubeconfig") from None


def _status_of(response: Any) -> dict[str, Any] | None:
    """The Kubernetes ``Status`` in an error response, if it is one."""
    try:
        response.read()
        body = json.loads(response.content)
    except Exception:  # not JSON, or the stream is gone: not a Status
        return None
    return body if isinstance(body, dict) and body.get("kind") == "Status" else None


_SET = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")


def _selector(text: str) -> dict[str, Any]:
    """A label/field selector (``a=b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x)``, joined by
    commas) as lightkube's mapping; anything else is a ClusterError."""
    from lightkube import operators as op

    result: dict[str, Any] = {}
    for part in _split(text):
        if m := _SET.match(part):
            values = [v.strip() for v in m.group(3).split(",") if v.strip()]
            result[m.group(1)] = op.in_(values) if m.group(2) == "in" else op.not_in(values)
            continue
        key, sep, value = part.partition("!=") if "!=" in part else part.partition("=")
        key, value = key.strip(), value.lstrip("=").strip()
        if not sep and _NAME.match(part.lstrip("!")):
            result[part.lstrip("!")] = op.not_exists() if part.startswith("!") else op.exists()
        elif sep and _NAME.match(key) and (value == "" or _NAME.match(value)):
            result[key] = op.not_equal(value) if sep == "!=" else value
        else:
            raise ClusterError(f"selector {text!r}: {part!r} is not a selector term; hint: use app=web, "
                               "app!=web, app, !app or app in (web,api), joined by commas")
    return result


_NAME = re.compile(r"^[\w./-]+$")


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return [p for p in parts if p]
