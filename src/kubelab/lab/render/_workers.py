"""The tuning workers: a Deployment of ``kubelab tune worker`` on the workers pool, and KEDA scaling on queue depth.

A worker's requests are what one trial needs (``tuning.workers.resources``); the scheduler then packs as
many workers on a node as trials fit. With ``autoscaling``, a KEDA ScaledObject sets the replicas from the
depth of the ``kubelab.tune`` queue (one worker per ``queue_length`` messages), down to ``min`` (0: no
worker, and the pool's autoscaler removes the nodes) when the queue is idle. KEDA reads the queue through
RabbitMQ's management API, which counts ready *and* unacknowledged messages, so workers still busy with the
last chunks are not scaled away under them (the AMQP protocol sees only the ready ones).
"""

from __future__ import annotations

from typing import Any

from kubelab.lab._model import Workers
from kubelab.lab._quantity import parse_memory
from kubelab.lab.render._meta import (
    DEFAULT_IMAGE,
    Context,
    container_resources,
    pod_spec,
)
from kubelab.lab.render._stateful import BROKER_NAME, QUEUE, STORE_NAME

__all__ = ["WORKER_NAME", "worker_objects"]

Manifest = dict[str, Any]

WORKER_NAME = "tune-worker"
_DEFAULTS = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
_UID = 10001
_GRACE_SECONDS = 120
_TRIAL_PERCENT = 80


def _deployment(ctx: Context, workers: Workers, source: str) -> Manifest:
    env = [
        {"name": "KUBELAB_BROKER", "valueFrom": {"secretKeyRef": {"name": BROKER_NAME, "key": "url"}}},
        {"name": "KUBELAB_STORE", "valueFrom": {"secretKeyRef": {"name": STORE_NAME, "key": "url"}}},
        {"name": "HOME", "value": "/tmp"},
    ]
    resources = container_resources(workers.resources, _DEFAULTS, workers.gpu)
    # The worker sees the node's memory, not the container's: give its trials a limit below the container's,
    # so a memory blow-up fails one trial instead of OOM-killing the worker. One trial at a time (the
    # default concurrency): the requests are what one trial needs.
    trial_mb = int(parse_memory(resources["limits"]["memory"]).value * _TRIAL_PERCENT / 100) // 2**20
    args = ["kubelab", "tune", "worker", "--broker", "$(KUBELAB_BROKER)", "--store", "$(KUBELAB_STORE)",
            "--memory-limit-mb", str(trial_mb), "--grace", str(_GRACE_SECONDS - 20)]
    container = {"name": "worker", "image": workers.image or DEFAULT_IMAGE, "args": args, "env": env,
                 "resources": resources}
    # SIGTERM: the worker finishes its trial (or hands the chunk back) within --grace; trials may write to /tmp
    pod = pod_spec(ctx.lab.pool_for("workers", workers.pool), _UID, container, grace=_GRACE_SECONDS, tmp_size="2Gi")
    spec: Manifest = {"selector": {"matchLabels": ctx.selector(WORKER_NAME)},
                      "template": {"metadata": ctx.pod_metadata(WORKER_NAME, source), "spec": pod}}
    if workers.autoscaling is None:  # with KEDA, replicas belong to KEDA's HPA: applying them would fight it
        spec = {"replicas": workers.min_replicas, **spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": ctx.metadata(WORKER_NAME, source, WORKER_NAME),
            "spec": spec}


def _keda(ctx: Context, workers: Workers, source: str) -> list[Manifest]:
    assert workers.autoscaling is not None
    scaling = workers.autoscaling
    auth_name = f"{BROKER_NAME}-keda"
    auth = {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
            "metadata": ctx.metadata(auth_name, f"{source}.autoscaling"),
            "spec": {"secretTargetRef": [{"parameter": "host", "name": BROKER_NAME, "key": "management-url"}]}}
    trigger = {"type": "rabbitmq", "authenticationRef": {"name": auth_name},
               "metadata": {"protocol": "http", "mode": "QueueLength", "queueName": QUEUE,
                            "value": str(scaling.queue_length), "excludeUnacknowledged": "false"}}
    scaled = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
              "metadata": ctx.metadata(WORKER_NAME, f"{source}.autoscaling"),
              "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": WORKER_NAME},
                       "minReplicaCount": scaling.min, "maxReplicaCount": scaling.max,
                       "pollingInterval": 15, "cooldownPeriod": 300, "triggers": [trigger]}}
    return [auth, scaled]


def worker_objects(ctx: Context, workers: Workers, source: str = "tuning.workers") -> list[Manifest]:
    """The worker Deployment, and with ``autoscaling`` KEDA's TriggerAuthentication and ScaledObject."""
    objects = [_deployment(ctx, workers, source)]
    if workers.autoscaling is not None:
        objects += _keda(ctx, workers, source)
    return objects
