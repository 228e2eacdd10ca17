"""NetworkPolicies: only the tuning workers reach RabbitMQ and PostgreSQL, and nothing reaches the workers.

User servers, the hub and model servers in the same namespace cannot open the broker or the database.
With queue autoscaling, KEDA's operator (namespace ``keda``, pods ``app.kubernetes.io/name: keda-operator``,
as the KEDA Helm chart installs it) may read RabbitMQ's management port, and only that port.
Policies take effect with a CNI that enforces them (Cilium on DigitalOcean, Calico, GKE Dataplane V2).
"""

from __future__ import annotations

from typing import Any

from kubelab._labels import NAME_LABEL
from kubelab.lab.render._meta import Context
from kubelab.lab.render._stateful import BROKER_NAME, STORE_NAME
from kubelab.lab.render._workers import WORKER_NAME

__all__ = ["KEDA_NAMESPACE", "network_objects"]

Manifest = dict[str, Any]

KEDA_NAMESPACE = "keda"


def _policy(ctx: Context, name: str, source: str, pods: dict[str, str], ingress: list[Manifest]) -> Manifest:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": ctx.metadata(name, source),
            "spec": {"podSelector": {"matchLabels": pods}, "policyTypes": ["Ingress"], "ingress": ingress}}


def _from_workers(ctx: Context, port: int) -> Manifest:
    return {"from": [{"podSelector": {"matchLabels": ctx.selector(WORKER_NAME)}}],
            "ports": [{"protocol": "TCP", "port": port}]}


def network_objects(ctx: Context, keda: bool) -> list[Manifest]:
    """The three policies of the tuning stack (``keda``: also let KEDA's operator read queue depth)."""
    broker_in = [_from_workers(ctx, 5672)]
    if keda:
        broker_in.append({
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KEDA_NAMESPACE}},
                      "podSelector": {"matchLabels": {NAME_LABEL: "keda-operator"}}}],
            "ports": [{"protocol": "TCP", "port": 15672}]})
    return [
        _policy(ctx, f"{BROKER_NAME}-ingress", "tuning.broker", ctx.selector(BROKER_NAME), broker_in),
        _policy(ctx, f"{STORE_NAME}-ingress", "tuning.store", ctx.selector(STORE_NAME), [_from_workers(ctx, 5432)]),
        _policy(ctx, f"{WORKER_NAME}-no-ingress", "tuning.workers", ctx.selector(WORKER_NAME), []),
    ]
