"""The kinds kubelab applies: apiVersion + kind → REST plural and scope, and the order objects go in.

lightkube knows the built-in kinds as typed models; kubelab keeps objects as plain dicts (what the lab
renderer writes and what the user reads), so it talks to the API through lightkube's *generic* resources,
built here from this table without touching lightkube's global registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["KINDS", "Kind", "kind_of", "resource_class"]


@dataclass(frozen=True)
class Kind:
    """One API kind: where it lives and where it goes in an apply."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool
    order: int  # apply order: namespaces first, workloads after what they mount, autoscalers last

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


KINDS: tuple[Kind, ...] = (
    Kind("v1", "Namespace", "namespaces", False, 0),
    Kind("v1", "ServiceAccount", "serviceaccounts", True, 10),
    Kind("v1", "Secret", "secrets", True, 10),
    Kind("v1", "ConfigMap", "configmaps", True, 10),
    Kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, 20),
    Kind("v1", "Service", "services", True, 30),
    Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True, 30),
    Kind("apps/v1", "Deployment", "deployments", True, 40),
    Kind("apps/v1", "StatefulSet", "statefulsets", True, 40),
    Kind("batch/v1", "Job", "jobs", True, 40),
    Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True, 50),
    Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, 50),
    Kind("keda.sh/v1alpha1", "TriggerAuthentication", "triggerauthentications", True, 45),
    Kind("keda.sh/v1alpha1", "ScaledObject", "scaledobjects", True, 50),
    # Read by the apply engine's diagnosis and by the monitor; never applied or pruned.
    Kind("v1", "Pod", "pods", True, 90),
    Kind("v1", "Event", "events", True, 90),
    Kind("apps/v1", "ReplicaSet", "replicasets", True, 90),
    Kind("metrics.k8s.io/v1beta1", "PodMetrics", "pods", True, 90),
)
_BY_KEY = {(k.api_version, k.kind): k for k in KINDS}
APPLIED_KINDS = tuple(k for k in KINDS if k.order < 90)


def kind_of(api_version: str, kind: str) -> Kind | None:
    """The table entry for ``api_version``/``kind``, or None when kubelab does not handle that kind."""
    return _BY_KEY.get((api_version, kind))


@cache
def resource_class(kind: Kind) -> Any:
    """A lightkube generic resource class for ``kind`` (not registered globally, so no clash with others)."""
    from lightkube.generic_resource import (
        GenericGlobalResource,
        GenericNamespacedResource,
        create_api_info,
    )

    verbs = ["delete", "get", "global_list", "global_watch", "list", "patch", "post", "put", "watch"]
    base: type = GenericNamespacedResource if kind.namespaced else GenericGlobalResource
    info = create_api_info(kind.group, kind.version, kind.kind, kind.plural, verbs=verbs)
    return type(kind.kind, (base,), {"_api_info": info})
