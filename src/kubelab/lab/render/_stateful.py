"""RabbitMQ and PostgreSQL for the tuning stack: one-replica StatefulSets with a volume, a Service and a Secret.

Both run as their image's own non-root user (uid 999 in the official Debian images) with a read-only root
filesystem: everything they write goes to the data volume or to ``emptyDir`` mounts (``/tmp``, and
PostgreSQL's socket directory). Passwords come from the ``SecretBank``; the Secret also holds the URL
clients use (``url``), so workers and KEDA never see a password in a manifest.
"""

from __future__ import annotations

from typing import Any

from kubelab._labels import CREATE_ONLY_ANNOTATION
from kubelab.lab._model import Broker, Stateful, Store
from kubelab.lab.render._meta import (
    Context,
    container_resources,
    pod_spec,
)
from kubelab.lab.render._secrets import SecretBank

__all__ = ["BROKER_NAME", "QUEUE", "STORE_NAME", "broker_objects", "secret", "store_objects"]

Manifest = dict[str, Any]

BROKER_NAME = "rabbitmq"
STORE_NAME = "postgresql"
QUEUE = "kubelab.tune"
"""The work queue of ``kubelab tune`` on RabbitMQ (the default ``queue=`` of an ``amqp://`` broker URL)."""
_USER = "kubelab"
_DEFAULTS = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
_RABBITMQ_CONF = """\
# rendered by kubelab: logs to stdout only (the root filesystem is read-only); the only user is the
# generated one (RABBITMQ_DEFAULT_USER/PASS), there is no guest
log.console = true
log.file = false
"""


def secret(ctx: Context, name: str, source: str, data: dict[str, str]) -> Manifest:
    """An Opaque Secret holding ``data`` (drawn by kubelab) as ``stringData``, marked create-only: apply creates it
    once and never overwrites it, so a re-render cannot rotate a live password."""
    meta = ctx.metadata(name, source)
    meta["annotations"][CREATE_ONLY_ANNOTATION] = "true"
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "stringData": data}


def _service(ctx: Context, name: str, source: str, ports: list[Manifest]) -> Manifest:
    return {"apiVersion": "v1", "kind": "Service", "metadata": ctx.metadata(name, source, name),
            "spec": {"type": "ClusterIP", "selector": ctx.selector(name), "ports": ports}}


def _statefulset(ctx: Context, name: str, source: str, spec: Stateful, container: Manifest,
                 data_path: str, extra_volumes: list[Manifest]) -> Manifest:
    container = {**container, "resources": container_resources(spec.resources, _DEFAULTS),
                 "volumeMounts": [{"name": "data", "mountPath": data_path}, *container.get("volumeMounts", [])]}
    pod = pod_spec(ctx.lab.pool_for("core", spec.pool), 999, container, grace=60, volumes=tuple(extra_volumes))
    template = ctx.pod_metadata(name, source)
    # on an autoscaled pool, the cluster autoscaler must not evict the broker or the database to shrink it
    template["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] = "false"
    claim = {"metadata": {"name": "data", "labels": ctx.selector(name)},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": str(spec.storage)}}}}
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ctx.metadata(name, source, name),
        "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": ctx.selector(name)},
                 "template": {"metadata": template, "spec": pod},
                 "volumeClaimTemplates": [claim]},
    }


def broker_objects(ctx: Context, broker: Broker, bank: SecretBank, source: str = "tuning.broker") -> list[Manifest]:
    """RabbitMQ (with its management API, which KEDA reads queue depth from): ConfigMap, Secret, StatefulSet,
    Service."""
    password = bank.random(BROKER_NAME, "password")
    host = f"{BROKER_NAME}.{ctx.namespace}.svc"
    data = {"username": _USER, "password": password,
            "url": f"amqp://{_USER}:{password}@{host}:5672/%2F?queue={QUEUE}",
            "management-url": f"http://{_USER}:{password}@{host}:15672/%2F"}
    env = [{"name": "RABBITMQ_DEFAULT_USER", "value": _USER},
           {"name": "RABBITMQ_DEFAULT_PASS",
            "valueFrom": {"secretKeyRef": {"name": BROKER_NAME, "key": "password"}}}]
    container = {
        "name": "rabbitmq", "image": broker.image or "rabbitmq:3.13-management", "env": env,
        "ports": [{"name": "amqp", "containerPort": 5672}, {"name": "management", "containerPort": 15672}],
        "readinessProbe": {"tcpSocket": {"port": "amqp"}, "periodSeconds": 10},
        "livenessProbe": {"exec": {"command": ["rabbitmq-diagnostics", "-q", "ping"]},
                          "initialDelaySeconds": 60, "periodSeconds": 30, "timeoutSeconds": 20},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/rabbitmq/conf.d", "readOnly": True}],
    }
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ctx.metadata(f"{BROKER_NAME}-config", source),
              "data": {"10-kubelab.conf": _RABBITMQ_CONF}}
    volumes = [{"name": "config", "configMap": {"name": f"{BROKER_NAME}-config"}}]
    ports = [{"name": "amqp", "port": 5672, "targetPort": "amqp"},
             {"name": "management", "port": 15672, "targetPort": "management"}]
    return [config, secret(ctx, BROKER_NAME, source, data),
            _statefulset(ctx, BROKER_NAME, source, broker, container, "/var/lib/rabbitmq", volumes),
            _service(ctx, BROKER_NAME, source, ports)]


def store_objects(ctx: Context, store: Store, bank: SecretBank, source: str = "tuning.store") -> list[Manifest]:
    """PostgreSQL: Secret, StatefulSet, Service."""
    password = bank.random(STORE_NAME, "password")
    data = {"username": _USER, "password": password, "database": _USER,
            "url": f"postgresql://{_USER}:{password}@{STORE_NAME}.{ctx.namespace}.svc:5432/{_USER}"}
    env = [{"name": "POSTGRES_USER", "value": _USER}, {"name": "POSTGRES_DB", "value": _USER},
           {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": STORE_NAME, "key": "password"}}},
           {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}]
    ready = ["pg_isready", "-h", "127.0.0.1", "-U", _USER, "-d", _USER]
    container = {
        "name": "postgresql", "image": store.image or "postgres:16", "env": env,
        "ports": [{"name": "postgresql", "containerPort": 5432}],
        "readinessProbe": {"exec": {"command": ready}, "periodSeconds": 10},
        "livenessProbe": {"exec": {"command": ready}, "initialDelaySeconds": 30, "periodSeconds": 30,
                          "timeoutSeconds": 10},
        "volumeMounts": [{"name": "run", "mountPath": "/var/run/postgresql"}],
    }
    volumes = [{"name": "run", "emptyDir": {"sizeLimit": "16Mi"}}]
    ports = [{"name": "postgresql", "port": 5432, "targetPort": "postgresql"}]
    return [secret(ctx, STORE_NAME, source, data),
            _statefulset(ctx, STORE_NAME, source, store, container, "/var/lib/postgresql/data", volumes),
            _service(ctx, STORE_NAME, source, ports)]
