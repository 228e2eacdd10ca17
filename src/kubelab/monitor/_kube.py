"""Kubernetes pods selected by label: requests and limits from their specs, usage from the metrics API,
both summed over the same pods (the Running ones that match the selector)."""

from __future__ import annotations

from typing import Any

from kubelab.errors import MonitorError
from kubelab.kube import Cluster, cpu_cores, memory_bytes
from kubelab.monitor._sample import Sample
from kubelab.monitor._target import Target

__all__ = ["KubeTarget"]


def _sum(containers: list[dict[str, Any]], which: str, resource: str) -> float | None:
    """Sum of a resource over containers; None if any container lacks it (a request defaults to the limit)."""
    total = 0.0
    for c in containers:
        res = c.get("resources") or {}
        value = (res.get(which) or {}).get(resource)
        if value is None and which == "requests":
            value = (res.get("limits") or {}).get(resource)
        if value is None:
            return None
        total += cpu_cores(value) if resource == "cpu" else memory_bytes(value)
    return total


def _running_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers that run beside each other: app containers and sidecars (init containers with
    ``restartPolicy: Always``), whose requests the scheduler adds up too."""
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return [*(spec.get("containers") or []), *sidecars]


class KubeTarget(Target):
    """The Running pods matching ``selector`` in ``namespace``.

    Args:
        cluster: The cluster (``kubelab.kube.Cluster``).
        selector: A label selector, ``app=web`` or ``app=web,tier=api``.
        namespace: The namespace; default the context's.
    """

    def __init__(self, cluster: Cluster, selector: str, namespace: str | None = None) -> None:
        self._cluster = cluster
        self._selector = selector
        self._namespace = namespace or cluster.namespace
        if not cluster.list("v1", "Pod", namespace=self._namespace, labels=selector):
            raise MonitorError(f"no pods match {selector} in namespace {self._namespace}; hint: check with "
                               f"kubectl get pods -n {self._namespace} -l {selector}")

    def describe(self) -> str:
        return f"pods {self._selector} in namespace {self._namespace}"

    def read(self) -> Sample:
        pods = [p for p in self._cluster.list("v1", "Pod", namespace=self._namespace, labels=self._selector)
                if (p.get("status") or {}).get("phase") == "Running"]
        names = {p["metadata"]["name"] for p in pods}
        containers = [c for p in pods for c in _running_containers(p)]
        usage = [c.get("usage") or {} for m in self._cluster.pod_metrics(self._namespace, self._selector)
                 if m["metadata"]["name"] in names for c in m.get("containers") or []]
        cpu_use = sum(cpu_cores(u["cpu"]) for u in usage if "cpu" in u) if usage else None
        mem_use = sum(memory_bytes(u["memory"]) for u in usage if "memory" in u) if usage else None
        mem_req, mem_lim = _sum(containers, "requests", "memory"), _sum(containers, "limits", "memory")
        return Sample(
            time=0.0, n_replica=len(pods),
            cpu_req_core=_sum(containers, "requests", "cpu") if pods else None,
            mem_req_kib=int(mem_req) // 1024 if pods and mem_req is not None else None,
            cpu_lim_core=_sum(containers, "limits", "cpu") if pods else None,
            mem_lim_kib=int(mem_lim) // 1024 if pods and mem_lim is not None else None,
            cpu_use_core=cpu_use, mem_use_kib=int(mem_use) // 1024 if mem_use is not None else None)
