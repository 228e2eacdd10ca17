"""Why a workload is not rolling out: Events and pod status, translated into messages that name the
definition key (the ``kubelab.dev/source`` annotation) and say what to do."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubelab._labels import SOURCE_ANNOTATION
from kubelab._quantity import format_bytes
from kubelab.kube._quantity import parse_quantity

if TYPE_CHECKING:
    from kubelab.kube._cluster import Cluster

__all__ = ["Diagnosis", "diagnose", "source_of"]

FATAL = frozenset({"insufficient-resources", "quota-exceeded", "missing-requests", "image-pull", "crash-loop",
                   "unbound-volume", "unschedulable", "create-failed", "progress-deadline"})
_INSUFFICIENT = re.compile(r"Insufficient (\w[\w./-]*\w)")
_RESOURCE_WORD = {"cpu": "CPU", "memory": "memory", "nvidia.com/gpu": "GPU", "amd.com/gpu": "GPU"}


@dataclass(frozen=True)
class Diagnosis:
    """One finding about one workload.

    Attributes:
        ref: ``Kind namespace/name`` of the workload.
        source: The definition key that produced it (``workers.resources``), or None.
        reason: A stable code: ``insufficient-resources``, ``quota-exceeded``, ``missing-requests``,
            ``image-pull``, ``crash-loop``, ``unbound-volume``, ``unschedulable``, ``create-failed``,
            ``progress-deadline`` (fatal); ``scaling-up``, ``probe-failing`` (may pass); ``timeout``.
        message: What is wrong, with the cluster's own words in it.
        hint: What to change.
    """

    ref: str
    source: str | None
    reason: str
    message: str
    hint: str

    @property
    def fatal(self) -> bool:
        """Whether waiting longer will not help (a scale-up in progress, say, is not fatal)."""
        return self.reason in FATAL

    def __str__(self) -> str:
        where = f"{self.source}: {self.ref}" if self.source else self.ref
        return f"{where}: {self.message}; hint: {self.hint}"


def source_of(obj: Mapping[str, Any]) -> str | None:
    """The ``kubelab.dev/source`` annotation of ``obj``, if any."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(SOURCE_ANNOTATION)
    return str(value) if value else None


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


def _requests(pod: Mapping[str, Any], resource: str) -> str | None:
    total, seen = 0.0, False
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        value = (res.get("requests") or {}).get(resource) or (res.get("limits") or {}).get(resource)
        if value is not None:
            total, seen = total + float(parse_quantity(value)), True
    if not seen:
        return None
    if resource == "memory":
        return format_bytes(total)
    return f"{total:g}" if resource != "cpu" else f"{total * 1000:.0f}m"


def diagnose(cluster: Cluster, workload: Mapping[str, Any]) -> list[Diagnosis]:
    """Every reason ``workload`` (a Deployment or StatefulSet as read from the cluster) is not ready yet."""
    meta = workload.get("metadata") or {}
    ns, name, kind = meta.get("namespace") or cluster.namespace, meta.get("name"), workload.get("kind")
    ref, source = _ref({**workload, "metadata": {**meta, "namespace": ns}}), source_of(workload)
    key = source or f"{kind} {name}"
    match = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = ",".join(f"{k}={v}" for k, v in match.items())
    pods = cluster.list("v1", "Pod", namespace=ns, labels=labels) if labels else []
    events = cluster.events(ns)
    by_object: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in events:
        inv = e.get("involvedObject") or {}
        by_object.setdefault((str(inv.get("kind")), str(inv.get("name"))), []).append(e)
    found: list[Diagnosis] = []

    creators = [("StatefulSet", str(name))] if kind == "StatefulSet" else [
        ("ReplicaSet", rs["metadata"]["name"]) for rs in cluster.list("apps/v1", "ReplicaSet", namespace=ns,
                                                                      labels=labels or None)
        if any(o.get("uid") == meta.get("uid") for o in rs["metadata"].get("ownerReferences") or [])]
    for creator in creators:
        failed = [e for e in by_object.get(creator, []) if e.get("reason") == "FailedCreate"]
        if failed:
            found.append(_failed_create(ref, source, key, ns, str(failed[-1].get("message", ""))))

    for pod in pods:
        pod_events = by_object.get(("Pod", pod["metadata"]["name"]), [])
        found.extend(_pod_findings(cluster, ref, source, key, ns, pod, pod_events, by_object))
    progressing: dict[str, Any] = next((c for c in (workload.get("status") or {}).get("conditions") or []
                        if c.get("type") == "Progressing"), {})
    if not found and progressing.get("reason") == "ProgressDeadlineExceeded":
        found.append(Diagnosis(ref, source, "progress-deadline", f"the rollout stopped making progress: "
                               f"{progressing.get('message', 'progress deadline exceeded')}",
                               f"see kubectl describe -n {ns} {str(kind).lower()}/{name}; check {key}"))
    return _merge(found, len(pods))


def _failed_create(ref: str, source: str | None, key: str, ns: str, message: str) -> Diagnosis:
    text = message.removeprefix("Error creating: ")
    if "exceeded quota" in message:
        return Diagnosis(ref, source, "quota-exceeded", f"the namespace's ResourceQuota refuses new pods: {text}",
                         f"lower the requests in {key} or the replica count, or raise the quota "
                         f"(kubectl describe resourcequota -n {ns})")
    if "must specify" in message:
        return Diagnosis(ref, source, "missing-requests", f"a ResourceQuota requires requests and limits: {text}",
                         f"give every container in {key} CPU and memory requests and limits")
    return Diagnosis(ref, source, "create-failed", f"pods cannot be created: {text}",
                     f"fix {key} as the message says")


def _pod_findings(cluster: Cluster, ref: str, source: str | None, key: str, ns: str, pod: Mapping[str, Any],
                  events: list[dict[str, Any]], by_object: dict[tuple[str, str], list[dict[str, Any]]]
                  ) -> list[Diagnosis]:
    status = pod.get("status") or {}
    out: list[Diagnosis] = []
    sched: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
    failed_sched = [e for e in events if e.get("reason") == "FailedScheduling"]
    if sched.get("status") == "False" or (failed_sched and not pod.get("spec", {}).get("nodeName")
                                          and status.get("phase") == "Pending" and sched.get("status") != "True"):
        message = str(failed_sched[-1].get("message") if failed_sched else sched.get("message", ""))
        if any(e.get("reason") == "TriggeredScaleUp" for e in events):
            out.append(Diagnosis(ref, source, "scaling-up", f"waiting for a new node: {message}",
                                 "the cluster autoscaler is adding a node; this can take minutes"))
        elif "unbound" in message and "PersistentVolumeClaim" in message:
            out.extend(_volumes(cluster, ref, source, key, ns, pod, by_object, message))
        elif _INSUFFICIENT.search(message):
            resources = sorted({_RESOURCE_WORD.get(r, r) for r in _INSUFFICIENT.findall(message)})
            asked = [f"{w} {v}" for r, w in _RESOURCE_WORD.items()
                     if w in resources and (v := _requests(pod, r)) is not None]
            what = " and ".join(resources)
            out.append(Diagnosis(
                ref, source, "insufficient-resources",
                f"no node has enough free {what} for a pod that requests {', '.join(asked) or 'it'} ({message})",
                f"lower the requests in {key} to fit the pool's allocatable {what}, use a pool with bigger nodes, "
                "or let the pool autoscale"))
        else:
            out.append(Diagnosis(ref, source, "unschedulable", f"pods cannot be scheduled: {message}",
                                 f"check the pool, node selector and tolerations of {key}"))
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            pulled = [e for e in events if e.get("reason") == "Failed" and "pull" in str(e.get("message", ""))]
            detail = str(pulled[-1]["message"]) if pulled else str(waiting.get("message") or reason)
            out.append(Diagnosis(ref, source, "image-pull", f'image "{cs.get("image")}" cannot be pulled '
                                 f"({reason}): {detail}",
                                 f"check the image name and tag in {key}, and that the cluster can reach its "
                                 "registry (a private one needs imagePullSecrets)"))
        elif (cs.get("state") or {}).get("running") and not cs.get("ready") and (unhealthy := [
                e for e in events if e.get("reason") == "Unhealthy" and "Readiness" in str(e.get("message"))]):
            out.append(Diagnosis(ref, source, "probe-failing",
                                 f"container {cs.get('name')} runs but is not ready: {unhealthy[-1]['message']}",
                                 f"if the model takes long to load, raise the readiness probe's "
                                 f"initialDelaySeconds or failureThreshold in {key}; else check the health "
                                 "endpoint"))
        elif reason == "CrashLoopBackOff" or last.get("reason") == "OOMKilled":
            code, why = last.get("exitCode"), last.get("reason") or "exited"
            oom = why == "OOMKilled" or code == 137
            out.append(Diagnosis(
                ref, source, "crash-loop",
                f"container {cs.get('name')} keeps crashing (last exit code {code}, {why}; "
                f"restarted {cs.get('restartCount', 0)} times)",
                f"raise the memory limit in {key}" if oom else
                f"see why: kubectl logs -n {ns} {ref.split()[0].lower()}/{ref.rpartition('/')[2]} "
                f"-c {cs.get('name')} --previous"))
    return out


def _volumes(cluster: Cluster, ref: str, source: str | None, key: str, ns: str, pod: Mapping[str, Any],
             by_object: dict[tuple[str, str], list[dict[str, Any]]], message: str) -> list[Diagnosis]:
    out = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim:
            continue
        pvc = cluster.get("v1", "PersistentVolumeClaim", claim, ns)
        phase = ((pvc or {}).get("status") or {}).get("phase")
        if phase == "Bound":
            continue
        why = [str(e.get("message")) for e in by_object.get(("PersistentVolumeClaim", claim), [])]
        detail = why[-1] if why else ("it does not exist" if pvc is None else f"it is {phase or 'Pending'}")
        out.append(Diagnosis(ref, source, "unbound-volume", f"volume claim {claim} is not bound: {detail}",
                             f"set a storage class the cluster has in {key} (kubectl get storageclass), or "
                             "give the cluster a default StorageClass"))
    return out or [Diagnosis(ref, source, "unbound-volume", f"pods wait for volumes: {message}",
                             f"check the storage settings of {key}")]


def _merge(found: list[Diagnosis], pods: int) -> list[Diagnosis]:
    """One diagnosis per distinct finding, saying on how many pods it was seen."""
    counts: dict[Diagnosis, int] = {}
    for d in found:
        counts[d] = counts.get(d, 0) + 1
    out = []
    for d, n in counts.items():
        if pods > 1 and d.reason not in ("quota-exceeded", "missing-requests", "create-failed"):
            d = Diagnosis(d.ref, d.source, d.reason, f"{d.message} [{n} of {pods} pods]", d.hint)
        out.append(d)
    return out
