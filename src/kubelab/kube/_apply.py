"""The apply engine: server-side apply of a lab's objects, prune of what left it, rollout with diagnosis."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelab._labels import CREATE_ONLY_ANNOTATION, LAB_LABEL, MANAGED_BY, MANAGED_BY_LABEL, lab_selector
from kubelab.errors import ApplyFailed, ClusterError
from kubelab.kube._cluster import Cluster, object_ref
from kubelab.kube._diagnose import source_of
from kubelab.kube._kinds import APPLIED_KINDS, kind_of
from kubelab.kube._rollout import WORKLOADS, wait_rollout

__all__ = ["ApplyEvent", "ApplyResult", "apply"]

Key = tuple[str, str, str, str]  # apiVersion, kind, namespace ("" when cluster-scoped), name
_SERVER_META = ("resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink")


@dataclass(frozen=True)
class ApplyEvent:
    """One step of an apply, for progress display.

    Attributes:
        action: ``created``, ``configured``, ``unchanged``, ``pruned``, ``kept`` (a namespace left out of
            the lab that still holds objects the lab did not make), ``waiting``, ``ready``.
        ref: ``Kind namespace/name``.
        source: The definition key the object came from, if known.
        detail: Extra text (rollout progress).
    """

    action: str
    ref: str
    source: str | None = None
    detail: str = ""


@dataclass
class ApplyResult:
    """What an apply did (or, with ``dry_run``, would do)."""

    dry_run: bool
    events: list[ApplyEvent] = field(default_factory=list)

    def count(self, action: str) -> int:
        """How many objects ended with ``action``."""
        return sum(1 for e in self.events if e.action == action)

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) created, configured or pruned."""
        return any(e.action in ("created", "configured", "pruned") for e in self.events)


def _key(obj: Mapping[str, Any], namespace: str = "") -> Key:
    meta = obj.get("metadata") or {}
    return (str(obj.get("apiVersion")), str(obj.get("kind")), str(meta.get("namespace") or namespace),
            str(meta.get("name")))


def _content(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object an apply sets: no status, no server-set metadata."""
    out = {k: v for k, v in obj.items() if k != "status"}
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    return out


def _prepare(objects: Iterable[Mapping[str, Any]], lab: str, default_ns: str) -> list[dict[str, Any]]:
    """Copies with the lab's labels and a namespace, in apply order; every problem at once."""
    problems: list[str] = []
    seen: set[Key] = set()
    out = []
    for i, original in enumerate(objects):
        obj = copy.deepcopy(dict(original))
        meta = obj.get("metadata")
        where = f"object {i + 1} ({obj.get('kind') or '?'} {(meta or {}).get('name') or '?'})"
        if not obj.get("apiVersion") or not obj.get("kind") or not isinstance(meta, dict) or not meta.get("name"):
            problems.append(f"{where}: needs apiVersion, kind and metadata.name")
            continue
        entry = kind_of(obj["apiVersion"], obj["kind"])
        if entry is None or entry.order >= 90:
            problems.append(f"{where}: kubelab does not apply {obj['apiVersion']} {obj['kind']}")
            continue
        if entry.namespaced:
            meta.setdefault("namespace", default_ns)
        elif meta.get("namespace"):
            problems.append(f"{where}: {obj['kind']} is cluster-scoped and takes no metadata.namespace")
            continue
        meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY_LABEL: MANAGED_BY, LAB_LABEL: lab}
        key = _key(obj)
        if key in seen:
            problems.append(f"{where}: appears twice")
        seen.add(key)
        out.append((entry.order, i, obj))
    if problems:
        raise ClusterError("cannot apply:\n" + "\n".join(f"  {p}" for p in problems))
    return [obj for _, _, obj in sorted(out, key=lambda t: (t[0], t[1]))]


def apply(cluster: Cluster, objects: Iterable[Mapping[str, Any]], *, lab: str, field_manager: str = "kubelab",
          force: bool = False, dry_run: bool = False, prune: bool = True, wait: bool = True,
          timeout: float = 300.0, grace: float = 30.0, poll: float = 1.0,
          on_progress: Callable[[ApplyEvent], None] | None = None) -> ApplyResult:
    """Server-side apply ``objects`` as lab ``lab``, prune what an earlier apply of it made and this one
    does not, then wait for Deployments and StatefulSets to be ready.

    Args:
        cluster: The cluster to apply to.
        objects: Kubernetes objects as dicts (namespaced ones without a namespace go to the context's).
        lab: The lab's name: objects are labelled ``kubelab.dev/lab=<lab>`` and
            ``app.kubernetes.io/managed-by=kubelab``; pruning deletes only objects with both labels.
        field_manager: The server-side apply field manager.
        force: Take over fields another manager owns (off: a conflict is an error that names the field).
        dry_run: Server-side dry run: the API checks everything and stores nothing; nothing is pruned.
        prune: Delete the lab's objects that are not in ``objects``.
        wait: Wait for the rollout (not with ``dry_run``).
        timeout: Seconds to wait for the rollout.
        grace: Seconds a fatal finding (image pull error, crash loop, no node fits…) must persist before
            the apply fails early.
        poll: Seconds between rollout checks.
        on_progress: Called with each ``ApplyEvent``.

    Raises:
        ApplyFailed: Objects refused by the API (all of them), or a rollout that cannot finish; its
            ``diagnoses`` name the definition key of each object (``kubelab.dev/source``).
        ClusterError: Invalid objects, or the cluster cannot be reached.
    """
    report = on_progress or (lambda _e: None)
    result = ApplyResult(dry_run=dry_run)

    def emit(event: ApplyEvent) -> None:
        result.events.append(event)
        report(event)

    prepared = _prepare(objects, lab, cluster.namespace)
    existing = _lab_objects(cluster, lab)
    new_namespaces = set()
    errors: list[str] = []
    applied: list[dict[str, Any]] = []
    for obj in prepared:
        key, ref, source = _key(obj), object_ref(obj), source_of(obj)
        where = f"{source}: {ref}" if source else ref
        before = existing.get(key)
        if before is None:
            before = cluster.get(key[0], key[1], key[3], key[2] or None)
        if before is not None and _create_only(obj):
            applied.append(obj)  # generated once (a password): never overwritten, never pruned while listed
            emit(ApplyEvent("unchanged", ref, source, "create-only: the existing object is kept"))
            continue
        try:
            after = cluster.apply(obj, field_manager=field_manager, force=force, dry_run=dry_run)
        except ClusterError as exc:
            if exc.code == 404 and dry_run and key[2] in new_namespaces:
                emit(ApplyEvent("created", ref, source, f"(its namespace {key[2]} would be created first)"))
                continue
            errors.append(f"{where}: {_explain(exc, source or ref, obj)}")
            continue
        if before is None:
            action = "created"
            if obj["kind"] == "Namespace":
                new_namespaces.add(key[3])
        elif dry_run:
            action = "unchanged" if _content(before) == _content(after) else "configured"
        else:
            same = before["metadata"].get("resourceVersion") == after["metadata"].get("resourceVersion")
            action = "unchanged" if same else "configured"
        applied.append(obj)
        emit(ApplyEvent(action, ref, source))
    if errors:
        raise ApplyFailed(f"{len(errors)} object{'s' if len(errors) != 1 else ''} refused:\n"
                          + "\n".join(f"  {e}" for e in errors), errors)
    if prune:
        wanted = {_key(o) for o in prepared}
        _prune(cluster, [o for k, o in existing.items() if k not in wanted], lab, dry_run, emit)
    if wait and not dry_run:
        workloads = [o for o in applied if o["kind"] in WORKLOADS]
        wait_rollout(cluster, workloads, timeout=timeout, grace=grace, poll=poll, on_progress=emit)
    return result


def _lab_objects(cluster: Cluster, lab: str) -> dict[Key, dict[str, Any]]:
    """Every object of an applied kind that carries this lab's labels, by key."""
    existing: dict[Key, dict[str, Any]] = {}
    for entry in APPLIED_KINDS:
        try:
            found = cluster.list(entry.api_version, entry.kind, labels=lab_selector(lab))
        except ClusterError as exc:
            if exc.code == 404:  # a kind the cluster does not serve (no KEDA, say): none of it exists
                continue
            raise
        for obj in found:
            obj = {**obj, "apiVersion": entry.api_version, "kind": entry.kind}  # list items carry neither
            existing[_key(obj)] = obj
    return existing


def _prune(cluster: Cluster, stale: list[dict[str, Any]], lab: str, dry_run: bool,
           emit: Callable[[ApplyEvent], None]) -> None:
    """Delete ``stale`` objects, most dependent first; keep namespaces that hold what the lab did not make."""
    order = {(k.api_version, k.kind): k.order for k in APPLIED_KINDS}
    pruned: set[Key] = set()
    for obj in sorted(stale, key=lambda o: -order[(o["apiVersion"], o["kind"])]):
        key = _key(obj)
        if obj["kind"] == "Namespace" and (foreign := _foreign(cluster, key[3], lab, pruned)):
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            emit(ApplyEvent("kept", object_ref(obj), source_of(obj),
                            f"it holds objects this lab did not make ({shown}); delete it yourself if you "
                            f"mean to: kubectl delete namespace {key[3]}"))
            continue
        if cluster.delete(key[0], key[1], key[3], key[2] or None, dry_run=dry_run):
            pruned.add(key)
            emit(ApplyEvent("pruned", object_ref(obj), source_of(obj)))


def _create_only(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(CREATE_ONLY_ANNOTATION, "")).lower() == "true"


# Every namespace has these from birth; they do not make a namespace "someone else's".
_BUILT_IN = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}


def _foreign(cluster: Cluster, namespace: str, lab: str, pruned: set[Key]) -> list[str]:
    """Objects in ``namespace`` that this lab did not make (and this apply did not just prune)."""
    found = []
    for entry in APPLIED_KINDS:
        if not entry.namespaced:
            continue
        try:
            items = cluster.list(entry.api_version, entry.kind, namespace=namespace)
        except ClusterError as exc:
            if exc.code == 404:
                continue
            raise
        for obj in items:
            name = obj["metadata"]["name"]
            labels = obj["metadata"].get("labels") or {}
            key = (entry.api_version, entry.kind, namespace, name)
            if labels.get(LAB_LABEL) != lab and (entry.kind, name) not in _BUILT_IN and key not in pruned:
                found.append(f"{entry.kind} {name}")
    return found


def _explain(exc: ClusterError, key: str, obj: Mapping[str, Any]) -> str:
    text = str(exc).split(": ", 1)[-1]
    if exc.code == 404 and "could not find the requested resource" in text:
        provider = " (KEDA: https://keda.sh)" if str(obj.get("apiVersion")).startswith("keda.sh/") else ""
        return (f"the cluster does not serve {obj.get('apiVersion')} {obj.get('kind')}; hint: install what "
                f"provides it{provider}, or turn off the part of {key} that needs it")
    if exc.code == 409 and "conflict" in text:
        return (f"{text}; hint: another field manager owns these fields: leave them out of {key} (an "
                "autoscaler owning replicas, say), or rerun with --force-conflicts to take them over")
    if exc.code == 404 and "namespaces" in text:
        return f"{text}; hint: add the namespace to the lab, or create it first"
    if exc.code == 422:
        return f"{text}; hint: the API refused {key} as invalid: fix that key"
    return text
