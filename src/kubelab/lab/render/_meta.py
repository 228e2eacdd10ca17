"""What every rendered object shares: names, labels, the source annotation, placement and pod security.

The labels and annotations themselves (and what each means) are ``kubelab._labels``'s, which apply reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelab import __version__
from kubelab._labels import COMPONENT_LABEL, LAB_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, SOURCE_ANNOTATION
from kubelab.lab._model import POOL_LABEL, Lab, Pool, Resources

__all__ = [
    "DEFAULT_IMAGE",
    "GPU_RESOURCE",
    "Context",
    "container_resources",
    "container_security",
    "placement",
    "pod_security",
    "pod_spec",
    "tmp_volume",
]

GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_IMAGE = f"ghcr.io/kubelab/kubelab:{__version__}"
"""The kubelab image (``kubelab tune worker``, ``kubelab serve``) when a component names none."""

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """The lab being rendered; makes object metadata."""

    lab: Lab

    @property
    def namespace(self) -> str:
        """The lab's namespace: its name."""
        return self.lab.metadata.name

    def selector(self, component: str, name: str | None = None) -> dict[str, str]:
        """The labels that select the pods of ``component`` (and of one instance ``name`` of it)."""
        labels = {LAB_LABEL: self.namespace, COMPONENT_LABEL: component}
        if name is not None:
            labels[NAME_LABEL] = name
        return labels

    def metadata(self, name: str, source: str, component: str | None = None, *, instance: str | None = None,
                 namespaced: bool = True) -> Manifest:
        """``metadata`` of an object: name, namespace, the kubelab labels and the source annotation."""
        labels = {MANAGED_BY_LABEL: MANAGED_BY, LAB_LABEL: self.namespace}
        if component is not None:
            labels.update(self.selector(component, instance))
        meta: Manifest = {"name": name}
        if namespaced:
            meta["namespace"] = self.namespace
        meta["labels"] = labels
        meta["annotations"] = {SOURCE_ANNOTATION: source}
        return meta

    def pod_metadata(self, component: str, source: str, instance: str | None = None) -> Manifest:
        """``metadata`` of a pod template: the selector labels plus the kubelab ones and the source."""
        labels = {MANAGED_BY_LABEL: MANAGED_BY, **self.selector(component, instance)}
        return {"labels": labels, "annotations": {SOURCE_ANNOTATION: source}}


def pod_security(uid: int) -> Manifest:
    """A pod ``securityContext`` for Pod Security "restricted": a fixed non-root user, RuntimeDefault seccomp."""
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security() -> Manifest:
    """A container ``securityContext``: no escalation, read-only root filesystem, every capability dropped."""
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def tmp_volume(name: str = "tmp", size: str = "256Mi") -> Manifest:
    """A size-limited ``emptyDir`` for a writable ``/tmp`` under a read-only root filesystem."""
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def placement(pool: Pool | None) -> Manifest:
    """``nodeSelector`` and ``tolerations`` that put a pod on ``pool`` (nothing when no pool is known)."""
    if pool is None:
        return {}
    spec: Manifest = {"nodeSelector": {POOL_LABEL: pool.name}}
    tolerations: list[Manifest] = []
    for taint in pool.taints:
        toleration: Manifest = {"key": taint.key, "effect": taint.effect}
        if taint.value is None:
            toleration["operator"] = "Exists"
        else:
            toleration.update(operator="Equal", value=taint.value)
        tolerations.append(toleration)
    if pool.gpu is not None and all(t.key != GPU_RESOURCE for t in pool.taints):
        # GPU nodes carry nvidia.com/gpu:NoSchedule on DigitalOcean, GKE and EKS
        tolerations.append({"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"})
    if tolerations:
        spec["tolerations"] = tolerations
    return spec


def container_resources(resources: Resources, default: Mapping[str, Mapping[str, str]], gpu: int = 0) -> Manifest:
    """``requests`` and ``limits`` for a container, both always complete.

    A value missing on one side takes the other side's (as Kubernetes does for a missing request; a missing
    limit takes the request, so no container is unbounded); missing on both sides, ``default`` fills it.
    GPUs go to limits (Kubernetes sets the request equal).
    """
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for key in ("cpu", "memory"):
        req = getattr(resources.requests, key)
        lim = getattr(resources.limits, key)
        requests[key] = str(req or lim or default["requests"][key])
        limits[key] = str(lim or req or default["limits"][key])
    if gpu:
        limits[GPU_RESOURCE] = str(gpu)
    return {"requests": requests, "limits": limits}


def pod_spec(pool: Pool | None, uid: int, container: Manifest, *, grace: int = 30, tmp_size: str = "256Mi",
             volumes: tuple[Manifest, ...] = ()) -> Manifest:
    """A locked-down pod spec around one ``container``: placed on ``pool``, security contexts on the pod and
    the container, no service-account token, and a writable ``/tmp`` (an ``emptyDir``) mounted."""
    container = {**container, "securityContext": container_security(),
                 "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *container.get("volumeMounts", [])]}
    return {**placement(pool), "automountServiceAccountToken": False, "securityContext": pod_security(uid),
            "terminationGracePeriodSeconds": grace, "containers": [container],
            "volumes": [tmp_volume(size=tmp_size), *volumes]}
