"""``FakeKubeAPI``: a fake Kubernetes API server on 127.0.0.1, for tests of kubelab's Kubernetes layer.

It speaks enough of the real REST API for lightkube (and so for ``kubelab.kube.Cluster``):

Implemented:
- ``GET /version``, ``/api``, ``/apis`` (minimal discovery);
- for the kinds in ``RESOURCES``: ``GET`` one object, ``GET`` a list (one namespace or all) with
  ``labelSelector`` (``k=v``, ``k!=v``, ``k``, ``!k``) and ``fieldSelector`` (``a.b=v``, ``a.b!=v``);
  server-side apply ``PATCH`` (``application/apply-patch+yaml``; ``fieldManager`` required, ``force``,
  ``dryRun=All``; ownership and conflicts as ``fake_ssa`` documents; ``resourceVersion`` changes only when
  content changes); ``DELETE`` (``dryRun=All``; deleting a namespace deletes what is in it, deleting a
  Deployment deletes its ReplicaSets and pods);
- objects in a namespace that does not exist are refused (404), as the real API does;
- bearer-token authentication when ``token`` is set (401 otherwise);
- a workload "controller" (``fake_workloads``): Deployments get a ReplicaSet and pods, StatefulSets get
  pods and PVCs, whose status follows a scripted ``Behaviour`` (ready by default; unschedulable, image pull
  errors, crash loops, quota refusals, unbound volumes, never ready), with the Events a real cluster emits;
- ``metrics.k8s.io/v1beta1`` PodMetrics, from usage set by ``set_pod_metrics``.

- watches (``?watch=true`` on a list; ``fake_watch`` says what of them);

Not implemented (a request for it gets 405 or 415): ``POST``/``PUT``, JSON/merge/strategic patches,
subresources (``/status``, ``/scale``, ``/log``), schema validation and defaulting, admission, RBAC, list
pagination, label-selector set syntax (``in``, ``notin``), finalizers and graceful deletion.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.kube import fake_ssa, fake_workloads
from tests.kube.fake_select import SelectorError
from tests.kube.fake_select import matches as _matches
from tests.kube.fake_select import matches_fields as _matches_fields
from tests.kube.fake_select import parse_selector as _parse_selector
from tests.kube.fake_watch import ChangeLog
from tests.kube.fake_workloads import Behaviour, Ready

__all__ = ["FakeKubeAPI", "RESOURCES"]

# (group/version, plural) → (kind, namespaced)
RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "namespaces"): ("Namespace", False),
    ("v1", "serviceaccounts"): ("ServiceAccount", True),
    ("v1", "secrets"): ("Secret", True),
    ("v1", "configmaps"): ("ConfigMap", True),
    ("v1", "persistentvolumeclaims"): ("PersistentVolumeClaim", True),
    ("v1", "services"): ("Service", True),
    ("v1", "pods"): ("Pod", True),
    ("v1", "events"): ("Event", True),
    ("apps/v1", "deployments"): ("Deployment", True),
    ("apps/v1", "statefulsets"): ("StatefulSet", True),
    ("apps/v1", "replicasets"): ("ReplicaSet", True),
    ("batch/v1", "jobs"): ("Job", True),
    ("networking.k8s.io/v1", "networkpolicies"): ("NetworkPolicy", True),
    ("policy/v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True),
    ("autoscaling/v2", "horizontalpodautoscalers"): ("HorizontalPodAutoscaler", True),
    ("keda.sh/v1alpha1", "scaledobjects"): ("ScaledObject", True),
    ("keda.sh/v1alpha1", "triggerauthentications"): ("TriggerAuthentication", True),
    ("metrics.k8s.io/v1beta1", "pods"): ("PodMetrics", True),
}
_PLURAL = {(gv, kind): plural for (gv, plural), (kind, _) in RESOURCES.items()}

Key = tuple[str, str, str, str]  # (group/version, plural, namespace or "", name)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiStatus(Exception):
    """An error answer: a ``Status`` object with an HTTP code."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": message, "reason": reason, "code": code, **({"details": details} if details else {})}
        self.code = code


@dataclass
class Record:
    """One stored object: its full body plus the SSA field ownership behind it."""

    obj: dict[str, Any]
    fields: dict[fake_ssa.Path, Any] = field(default_factory=dict)
    owners: dict[fake_ssa.Path, set[str]] = field(default_factory=dict)


class FakeKubeAPI:
    """A fake Kubernetes API server in a thread on 127.0.0.1 (a free port). See the module docstring.

    Use as a context manager, or ``start()``/``stop()``. ``kubeconfig(path)`` writes a kubeconfig for it.
    """

    def __init__(self, token: str | None = "fake-token", *, missing: tuple[str, ...] = ()) -> None:
        self.token = token
        # API groups/versions this cluster does not serve: "metrics.k8s.io/v1beta1" (no metrics-server),
        # "keda.sh/v1alpha1" (no KEDA).
        self.missing = set(missing)
        self.requests: list[tuple[str, str]] = []  # (method, path?query), for tests that check what was sent
        self._lock = threading.RLock()
        self._store: dict[Key, Record] = {}
        self._log = ChangeLog(self._lock)
        self._rv = itertools.count(1000)
        self._behaviours: dict[tuple[str, str], Behaviour] = {}
        self._metrics: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        self._server: ThreadingHTTPServer | None = None
        for ns in ("default", "kube-system"):
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeKubeAPI:
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-kube-api", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._log.close()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path, *, namespace: str = "default", token: str | None = None,
                   context: str = "fake") -> Path:
        """Write a kubeconfig with one context, ``context``, pointing at this server."""
        user: dict[str, Any] = {"token": token or self.token} if (token or self.token) else {}
        config = {"apiVersion": "v1", "kind": "Config", "current-context": context,
                  "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                  "users": [{"name": "fake", "user": user}],
                  "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake",
                                                             "namespace": namespace}}]}
        path.write_text(yaml.safe_dump(config))
        return path

    # --- test-side API: script the cluster -----------------------------------------------------------

    def behave(self, namespace: str, workload: str, behaviour: Behaviour) -> None:
        """Pods of the Deployment/StatefulSet ``workload`` will follow ``behaviour`` (from its next rollout)."""
        with self._lock:
            self._behaviours[(namespace, workload)] = behaviour

    def behaviour(self, namespace: str, workload: str) -> Behaviour:
        return self._behaviours.get((namespace, workload), Ready())

    def set_pod_metrics(self, namespace: str, pod: str, usage: dict[str, tuple[str, str]]) -> None:
        """Usage of ``pod``'s containers, ``{container: (cpu, memory)}`` as quantities (``"250m"``, ``"64Mi"``)."""
        with self._lock:
            self._metrics[(namespace, pod)] = usage

    def put(self, obj: dict[str, Any], *, status: dict[str, Any] | None = None) -> dict[str, Any]:
        """Store ``obj`` as the cluster would have it (no SSA, no controller): pods, events, fixtures."""
        with self._lock:
            gv, kind, meta = obj["apiVersion"], obj["kind"], obj.setdefault("metadata", {})
            key = (gv, _PLURAL[(gv, kind)], meta.get("namespace", ""), meta["name"])
            old = self._store.get(key)
            meta.setdefault("uid", old.obj["metadata"]["uid"] if old else str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now())
            meta["resourceVersion"] = str(next(self._rv))
            if status is not None:
                obj["status"] = status
            self._store[key] = Record(obj, fake_ssa.flatten(obj), {})
            self._log.record("MODIFIED" if old else "ADDED", key, self._full(key))
            return obj

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        with self._lock:
            record = self._store.get((api_version, _PLURAL[(api_version, kind)], namespace, name))
            return json.loads(json.dumps(record.obj)) if record else None

    def objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            plural = _PLURAL[(api_version, kind)]
            return [json.loads(json.dumps(r.obj)) for (gv, p, ns, _), r in sorted(self._store.items())
                    if gv == api_version and p == plural and namespace in (None, ns)]

    def set_status(self, api_version: str, kind: str, name: str, namespace: str, status: dict[str, Any]) -> None:
        with self._lock:
            record = self._store[(api_version, _PLURAL[(api_version, kind)], namespace, name)]
            record.obj["status"] = status
            record.obj["metadata"]["resourceVersion"] = str(next(self._rv))
            key = (api_version, _PLURAL[(api_version, kind)], namespace, name)
            self._log.record("MODIFIED", key, self._full(key))

    def delete_where(self, test: Callable[[Key, dict[str, Any]], bool]) -> None:
        with self._lock:
            for key in [k for k, r in self._store.items() if test(k, r.obj)]:
                gone = self._full(key)
                gone["metadata"]["resourceVersion"] = str(next(self._rv))
                del self._store[key]
                self._log.record("DELETED", key, gone)
                self._metrics.pop((key[2], key[3]), None)

    def event(self, involved: dict[str, Any], reason: str, message: str, *, type_: str = "Warning",
              source: str = "fake-controller") -> None:
        """Record an Event about ``involved`` (an object of the store)."""
        meta = involved["metadata"]
        name = f"{meta['name']}.{uuid.uuid4().hex[:12]}"
        self.put({"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": name, "namespace": meta.get("namespace", "default")},
                  "involvedObject": {"kind": involved["kind"], "name": meta["name"], "apiVersion":
                                     involved["apiVersion"], "namespace": meta.get("namespace"), "uid": meta["uid"]},
                  "reason": reason, "message": message, "type": type_, "count": 1, "source": {"component": source},
                  "firstTimestamp": now(), "lastTimestamp": now()})

    # --- the REST API ---------------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.requests.append((method, url))
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            raise ApiStatus(401, "Unauthorized", "Unauthorized")
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = [p for p in parts.path.split("/") if p]
        if path == ["version"]:
            return 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "platform": "linux/amd64"}
        if path == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == ["apis"]:
            groups = sorted({gv.split("/")[0] for gv, _ in RESOURCES if "/" in gv})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": gv, "version": gv.split("/")[1]} for gv, _ in RESOURCES
                                         if gv.startswith(g + "/")]} for g in groups]}
        gv, namespace, rest = self._route(path)
        resource = RESOURCES.get((gv, rest[0])) if rest else None
        if gv in self.missing:
            resource = None
        if resource is None or len(rest) > 2:
            raise ApiStatus(404, "NotFound", f"the server could not find the requested resource ({url})")
        kind, namespaced = resource
        name = rest[1] if len(rest) == 2 else None
        if namespaced and namespace is None and name is not None:
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        try:
            return self._dispatch(method, gv, rest, kind, namespace, name, headers, body, query)
        except SelectorError as exc:
            raise ApiStatus(400, "BadRequest", str(exc)) from None

    def _dispatch(self, method: str, gv: str, rest: list[str], kind: str, namespace: str | None, name: str | None,
                  headers: dict[str, str], body: bytes, query: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            if method == "GET" and name is None and query.get("watch") in ("true", "1"):
                return 200, self._watch(gv, rest[0], kind, namespace, query)
            if method == "GET" and name is None:
                return 200, self._list(gv, rest[0], kind, namespace, query)
            if method == "GET":
                return 200, self._read(gv, rest[0], kind, namespace or "", name)
            if method == "PATCH" and name is not None:
                return self._apply(gv, rest[0], kind, namespace or "", name, headers, body, query)
            if method == "DELETE" and name is not None:
                return 200, self._delete(gv, rest[0], kind, namespace or "", name, query)
        raise ApiStatus(405, "MethodNotAllowed", f"the fake API server does not implement {method} on {gv} {kind}")

    @staticmethod
    def _route(path: list[str]) -> tuple[str, str | None, list[str]]:
        if path[:2] == ["api", "v1"]:
            gv, rest = "v1", path[2:]
        elif len(path) >= 3 and path[0] == "apis":
            gv, rest = f"{path[1]}/{path[2]}", path[3:]
        else:
            return "", None, []
        if len(rest) >= 3 and rest[0] == "namespaces":
            return gv, rest[1], rest[2:]
        return gv, None, rest

    def _read(self, gv: str, plural: str, kind: str, namespace: str, name: str) -> dict[str, Any]:
        if kind == "PodMetrics":
            items = [m for m in self._pod_metrics(namespace, {}) if m["metadata"]["name"] == name]
            if items:
                return items[0]
        record = self._store.get((gv, plural, namespace, name))
        if record is None:
            raise ApiStatus(404, "NotFound", f'{plural} "{name}" not found',
                            {"name": name, "kind": plural})
        return {"apiVersion": gv, "kind": kind, **record.obj}

    def _list(self, gv: str, plural: str, kind: str, namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
        labels = _parse_selector(query.get("labelSelector", ""), "labelSelector")
        fields = _parse_selector(query.get("fieldSelector", ""), "fieldSelector")
        if kind == "PodMetrics":
            items = self._pod_metrics(namespace, labels)
        else:
            items = [r.obj for (g, p, ns, _), r in sorted(self._store.items())
                     if g == gv and p == plural and namespace in (None, ns)
                     and _matches(r.obj.get("metadata", {}).get("labels") or {}, labels)
                     and _matches_fields(r.obj, fields)]
        # Like the real API, items of a list carry no apiVersion/kind: clients must not rely on them.
        items = [{k: v for k, v in json.loads(json.dumps(o)).items() if k not in ("apiVersion", "kind")}
                 for o in items]
        return {"apiVersion": gv, "kind": f"{kind}List",
                "metadata": {"resourceVersion": str(next(self._rv))}, "items": items}

    def _full(self, key: Key) -> dict[str, Any]:
        """A copy of a stored object with its apiVersion and kind (as watch events carry them)."""
        kind, _ = RESOURCES[(key[0], key[1])]
        return {"apiVersion": key[0], "kind": kind, **json.loads(json.dumps(self._store[key].obj))}

    def _watch(self, gv: str, plural: str, kind: str, namespace: str | None, query: dict[str, str]) -> Any:
        labels = _parse_selector(query.get("labelSelector", ""), "labelSelector")
        fields = _parse_selector(query.get("fieldSelector", ""), "fieldSelector")

        def match(key: Key, obj: dict[str, Any]) -> bool:
            return key[0] == gv and key[1] == plural and namespace in (None, key[2]) \
                and _matches(obj.get("metadata", {}).get("labels") or {}, labels) and _matches_fields(obj, fields)

        since = query.get("resourceVersion", "0")
        initial = [self._full(k) for k, r in sorted(self._store.items()) if match(k, r.obj)] if since == "0" else []
        after = max((int(o["metadata"]["resourceVersion"]) for o in initial), default=int(since))
        return self._log.stream(initial, after, match, float(query.get("timeoutSeconds", 1800)))

    def _pod_metrics(self, namespace: str | None, labels: dict[str, tuple[str, str | None]]) -> list[dict[str, Any]]:
        out = []
        for (ns, pod_name), usage in sorted(self._metrics.items()):
            pod = self._store.get(("v1", "pods", ns, pod_name))
            if pod is None or namespace not in (None, ns):
                continue
            pod_labels = pod.obj["metadata"].get("labels") or {}
            if not _matches(pod_labels, labels):
                continue
            out.append({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                        "metadata": {"name": pod_name, "namespace": ns, "labels": pod_labels,
                                     "creationTimestamp": now()},
                        "timestamp": now(), "window": "15s",
                        "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}}
                                       for c, (cpu, mem) in usage.items()]})
        return out

    def _apply(self, gv: str, plural: str, kind: str, namespace: str, name: str, headers: dict[str, str],
               body: bytes, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if headers.get("content-type", "").split(";")[0] != "application/apply-patch+yaml":
            raise ApiStatus(415, "UnsupportedMediaType",
                            f"the fake API server implements only server-side apply patches, not "
                            f"{headers.get('content-type')}")
        manager = query.get("fieldManager")
        if not manager:
            raise ApiStatus(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                                            "value: is required for apply patch")
        try:
            config = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise ApiStatus(400, "BadRequest", f"error decoding YAML: {exc}") from None
        meta = config.get("metadata") or {}
        if config.get("apiVersion") != gv or config.get("kind") != kind or meta.get("name") != name:
            raise ApiStatus(400, "BadRequest", f"the body ({config.get('apiVersion')} {config.get('kind')} "
                                               f"{meta.get('name')}) does not match the URL ({gv} {kind} {name})")
        if namespace and ("v1", "namespaces", "", namespace) not in self._store:
            raise ApiStatus(404, "NotFound", f'namespaces "{namespace}" not found',
                            {"name": namespace, "kind": "namespaces"})
        dry_run = query.get("dryRun") == "All"
        key = (gv, plural, namespace, name)
        old = self._store.get(key)
        try:
            fields, owners = fake_ssa.apply(old.fields if old else {}, old.owners if old else {}, config,
                                            manager, query.get("force") == "true")
        except fake_ssa.Conflict as exc:
            n = len(exc.conflicts)
            lines = [f'conflict with "{sorted(m)[0]}" using {gv}: .{".".join(p)}' for p, m in exc.conflicts]
            message = f"Apply failed with {n} conflict{'s' if n > 1 else ''}: " + "\n".join(lines)
            raise ApiStatus(409, "Conflict", message, {"causes": [
                {"type": "FieldManagerConflict", "message": f'conflict with "{sorted(m)[0]}"',
                 "field": "." + ".".join(p)} for p, m in exc.conflicts]}) from None
        changed = old is None or fields != old.fields
        obj = fake_ssa.unflatten(fields)
        old_meta = old.obj["metadata"] if old else {}
        generation = old_meta.get("generation", 0)
        spec_changed = old is None or {p: v for p, v in fields.items() if p[0] == "spec"} != \
            {p: v for p, v in old.fields.items() if p[0] == "spec"}
        obj["metadata"] = {**obj.get("metadata", {}), "name": name, **({"namespace": namespace} if namespace else {}),
                           "uid": old_meta.get("uid", str(uuid.uuid4())),
                           "creationTimestamp": old_meta.get("creationTimestamp", now()),
                           "generation": generation + (1 if spec_changed else 0),
                           "resourceVersion": str(next(self._rv)) if changed and not dry_run
                           else old_meta.get("resourceVersion", "0"),
                           "managedFields": fake_ssa.managed_fields(owners, gv)}
        if old and "status" in old.obj:
            obj["status"] = old.obj["status"]
        obj = {"apiVersion": gv, "kind": kind, **obj}
        if not dry_run:
            self._store[key] = Record(obj, fields, owners)
            if changed:
                self._log.record("ADDED" if old is None else "MODIFIED", key, self._full(key))
            if spec_changed and kind in ("Deployment", "StatefulSet"):
                fake_workloads.reconcile(self, obj)
        return (201 if old is None else 200), json.loads(json.dumps(self._store[key].obj if not dry_run else obj))

    def _delete(self, gv: str, plural: str, kind: str, namespace: str, name: str,
                query: dict[str, str]) -> dict[str, Any]:
        key = (gv, plural, namespace, name)
        record = self._store.get(key)
        if record is None:
            raise ApiStatus(404, "NotFound", f'{plural} "{name}" not found', {"name": name, "kind": plural})
        if query.get("dryRun") != "All":
            uid = record.obj["metadata"]["uid"]
            self.delete_where(lambda k, _: k == key)
            if kind == "Namespace":
                self.delete_where(lambda k, _: k[2] == name)
            if kind in ("Deployment", "StatefulSet"):
                fake_workloads.remove_owned(self, namespace, uid)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": plural, "uid": record.obj["metadata"]["uid"]}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed-ACK stalls
    wbufsize = 1 << 16
    api: FakeKubeAPI

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            code, payload = self.api.handle(self.command, self.path, headers, body)
        except ApiStatus as exc:
            code, payload = exc.code, exc.body
        if isinstance(payload, Iterator):
            self._stream(payload)
            return
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: Iterator[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in events:
                data = json.dumps(event).encode() + b"\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:  # the client went away
            self.close_connection = True

    do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass
