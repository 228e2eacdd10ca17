"""The fake API server's stand-in for the controllers, scheduler and kubelet: pods that behave as scripted.

When a Deployment's or StatefulSet's spec changes, ``reconcile`` replaces its pods at once (no rolling
update): a Deployment gets a ReplicaSet ``<name>-<hash>`` and pods ``<name>-<hash>-<n>``; a StatefulSet gets
pods ``<name>-<n>`` and a PVC per volume claim template. Each pod's status, the workload's status and the
Events emitted follow the workload's ``Behaviour`` (``FakeKubeAPI.behave``), using the reasons and message
shapes real clusters produce.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.kube.fake_apiserver import FakeKubeAPI


@dataclass(frozen=True)
class Behaviour:
    """How the pods of one workload behave."""


@dataclass(frozen=True)
class Ready(Behaviour):
    """Scheduled, pulled, running and ready (the default)."""


@dataclass(frozen=True)
class Unschedulable(Behaviour):
    """Pending: the scheduler finds no node (FailedScheduling)."""

    message: str = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: " \
                   "3 No preemption victims found for incoming pod."
    scale_up: bool = False  # also emit the cluster autoscaler's TriggeredScaleUp


@dataclass(frozen=True)
class ImagePullError(Behaviour):
    """Scheduled, but the image cannot be pulled."""

    reason: str = "ImagePullBackOff"


@dataclass(frozen=True)
class CrashLoop(Behaviour):
    """The container starts and exits, again and again."""

    exit_code: int = 1
    reason: str = "Error"


@dataclass(frozen=True)
class QuotaExceeded(Behaviour):
    """The ReplicaSet (or StatefulSet) controller cannot create pods: FailedCreate."""

    message: str = 'pods "{pod}" is forbidden: exceeded quota: compute-resources, requested: ' \
                   "requests.memory=4Gi, used: requests.memory=6Gi, limited: requests.memory=8Gi"


@dataclass(frozen=True)
class UnboundVolume(Behaviour):
    """Pods wait for PVCs that never bind."""

    message: str = "no persistent volumes available for this claim and no storage class is set"


@dataclass(frozen=True)
class ProbeFailing(Behaviour):
    """Running, but the readiness probe fails (a model still loading, a broken health endpoint)."""

    message: str = "Readiness probe failed: HTTP probe failed with statuscode: 503"


@dataclass(frozen=True)
class NeverReady(Behaviour):
    """Scheduled, creating containers, and never ready, with no event that says why."""


def _hash(template: Any) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def remove_owned(api: FakeKubeAPI, namespace: str, uid: str) -> None:
    """Delete the ReplicaSets, pods and events that belong to the workload with ``uid``."""
    rs_uids = {o["metadata"]["uid"] for o in api.objects("apps/v1", "ReplicaSet", namespace)
               if _owner_uid(o) == uid}
    owners = {uid, *rs_uids}
    api.delete_where(lambda k, o: k[2] == namespace and k[1] in ("replicasets", "pods") and _owner_uid(o) in owners)


def _owner_uid(obj: dict[str, Any]) -> str | None:
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return refs[0]["uid"] if refs else None


def reconcile(api: FakeKubeAPI, workload: dict[str, Any]) -> None:
    """Replace the pods of ``workload`` (a Deployment or StatefulSet just applied) per its behaviour."""
    meta = workload["metadata"]
    ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
    spec = workload.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    template = spec.get("template") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    behaviour = api.behaviour(ns, name)
    remove_owned(api, ns, uid)
    ref = {"apiVersion": workload["apiVersion"], "kind": workload["kind"], "name": name, "uid": uid,
           "controller": True}
    if workload["kind"] == "Deployment":
        rs_hash = _hash(template)
        labels["pod-template-hash"] = rs_hash
        rs = api.put({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                      "metadata": {"name": f"{name}-{rs_hash}", "namespace": ns, "labels": labels,
                                   "ownerReferences": [ref]},
                      "spec": {"replicas": replicas, "template": template}})
        pod_owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                     "uid": rs["metadata"]["uid"], "controller": True}
        pod_names = [f"{name}-{rs_hash}-{i:05d}" for i in range(replicas)]
        creator = rs
    else:
        pod_owner = ref
        pod_names = [f"{name}-{i}" for i in range(replicas)]
        creator = workload
    ready = 0
    for pod_name in pod_names:
        if isinstance(behaviour, QuotaExceeded):
            message = behaviour.message.format(pod=pod_name)
            text = f"Error creating: {message}" if workload["kind"] == "Deployment" else \
                f"create Pod {pod_name} in StatefulSet {name} failed error: {message}"
            api.event(creator, "FailedCreate", text, source="replicaset-controller")
            break
        claims = _claims(api, workload, pod_name, behaviour)
        pod_spec = json.loads(json.dumps(template.get("spec") or {}))
        pod_spec.setdefault("volumes", []).extend({"name": c.split("-")[0], "persistentVolumeClaim": {
            "claimName": c}} for c in claims)
        pod = api.put({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": pod_name, "namespace": ns, "labels": labels,
                                    "ownerReferences": [pod_owner]},
                       "spec": pod_spec})
        status, events = _pod_status(pod, behaviour)
        api.set_status("v1", "Pod", pod_name, ns, status)
        for reason, message in events:
            api.event(pod, reason, message, source="default-scheduler" if "Sched" in reason else "kubelet")
        if isinstance(behaviour, Unschedulable) and behaviour.scale_up:
            api.event(pod, "TriggeredScaleUp", "pod triggered scale-up: [{pool-users 1->2 (max: 5)}]",
                      type_="Normal", source="cluster-autoscaler")
        ready += isinstance(behaviour, Ready)
    conditions = []
    if isinstance(behaviour, QuotaExceeded):
        conditions.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                           "message": behaviour.message.format(pod=pod_names[0] if pod_names else name)})
    status = {"observedGeneration": meta["generation"], "replicas": 0 if isinstance(behaviour, QuotaExceeded)
              else replicas, "updatedReplicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
              "conditions": conditions}
    if workload["kind"] == "StatefulSet":
        status.update(currentReplicas=replicas, currentRevision=f"{name}-{_hash(template)}",
                      updateRevision=f"{name}-{_hash(template)}")
    api.set_status(workload["apiVersion"], workload["kind"], name, ns, status)


def _claims(api: FakeKubeAPI, workload: dict[str, Any], pod_name: str, behaviour: Behaviour) -> list[str]:
    if workload["kind"] != "StatefulSet":
        return []
    names = []
    for tmpl in (workload.get("spec") or {}).get("volumeClaimTemplates") or []:
        claim = f"{tmpl['metadata']['name']}-{pod_name}"
        names.append(claim)
        bound = not isinstance(behaviour, UnboundVolume)
        pvc = api.put({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": claim, "namespace": workload["metadata"]["namespace"]},
                       "spec": tmpl.get("spec") or {}}, status={"phase": "Bound" if bound else "Pending"})
        if isinstance(behaviour, UnboundVolume):
            api.event(pvc, "FailedBinding", behaviour.message, source="persistentvolume-controller")
    return names


def _pod_status(pod: dict[str, Any], behaviour: Behaviour) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    containers = (pod.get("spec") or {}).get("containers") or [{"name": "main", "image": "unknown"}]

    def statuses(state: dict[str, Any], ready: bool, **extra: Any) -> list[dict[str, Any]]:
        return [{"name": c["name"], "image": c.get("image", ""), "ready": ready, "restartCount": 0,
                 "started": ready, "state": state, **extra} for c in containers]

    cond = [{"type": "PodScheduled", "status": "True"}]
    image = containers[0].get("image", "")
    if isinstance(behaviour, Ready):
        return {"phase": "Running", "conditions": [*cond, {"type": "Ready", "status": "True"}],
                "containerStatuses": statuses({"running": {"startedAt": "2026-01-01T00:00:00Z"}}, True)}, []
    if isinstance(behaviour, Unschedulable | UnboundVolume):
        message = behaviour.message if isinstance(behaviour, Unschedulable) else \
            "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes " \
            "are available: 3 Preemption is not helpful for scheduling."
        return {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                    "reason": "Unschedulable", "message": message}]}, \
            [("FailedScheduling", message)]
    if isinstance(behaviour, ImagePullError):
        pull = f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack ' \
               f'image "{image}": not found'
        return {"phase": "Pending", "conditions": cond, "containerStatuses": statuses(
            {"waiting": {"reason": behaviour.reason, "message": f'Back-off pulling image "{image}"'}}, False)}, \
            [("Failed", pull), ("Failed", f"Error: {behaviour.reason}")]
    if isinstance(behaviour, ProbeFailing):
        return {"phase": "Running", "conditions": [*cond, {"type": "Ready", "status": "False"}],
                "containerStatuses": statuses({"running": {"startedAt": "2026-01-01T00:00:00Z"}}, False)}, \
            [("Unhealthy", behaviour.message)]
    if isinstance(behaviour, CrashLoop):
        name = containers[0]["name"]
        return {"phase": "Running", "conditions": cond, "containerStatuses": [
            {**s, "restartCount": 5, "lastState": {"terminated": {"exitCode": behaviour.exit_code,
                                                                  "reason": behaviour.reason}}}
            for s in statuses({"waiting": {"reason": "CrashLoopBackOff", "message":
                               f"back-off 2m40s restarting failed container={name} pod={pod['metadata']['name']}"}},
                              False)]}, [("BackOff", "Back-off restarting failed container")]
    return {"phase": "Pending", "conditions": cond, "containerStatuses": statuses(
        {"waiting": {"reason": "ContainerCreating"}}, False)}, []
