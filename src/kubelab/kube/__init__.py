"""Kubernetes: a small client seam (``Cluster``), the apply engine and failure diagnosis.

``Cluster`` wraps lightkube (the ``k8s`` extra) with kubeconfig/context resolution and one translation of
API errors into ``ClusterError``. ``apply`` is server-side apply with prune by lab label, rollout progress and
``Diagnosis`` of what keeps a workload from becoming ready, naming the definition key that produced it.
"""

from __future__ import annotations

from kubelab._labels import CREATE_ONLY_ANNOTATION, LAB_LABEL, MANAGED_BY_LABEL, SOURCE_ANNOTATION, lab_selector
from kubelab.kube._apply import ApplyEvent, ApplyResult, apply
from kubelab.kube._cluster import Cluster, object_ref
from kubelab.kube._config import ClusterConfig, load_config
from kubelab.kube._diagnose import Diagnosis, diagnose
from kubelab.kube._manifests import load_manifests
from kubelab.kube._quantity import cpu_cores, memory_bytes, parse_quantity
from kubelab.kube._rollout import rollout_state

__all__ = [
    "CREATE_ONLY_ANNOTATION",
    "LAB_LABEL",
    "MANAGED_BY_LABEL",
    "SOURCE_ANNOTATION",
    "ApplyEvent",
    "ApplyResult",
    "Cluster",
    "ClusterConfig",
    "Diagnosis",
    "apply",
    "cpu_cores",
    "diagnose",
    "lab_selector",
    "load_config",
    "load_manifests",
    "memory_bytes",
    "object_ref",
    "parse_quantity",
    "rollout_state",
]
