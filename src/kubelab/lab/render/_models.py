"""Model deployments: ``kubelab serve`` as a Deployment with probes, a Service, a token and an HPA.

``kubelab serve`` refuses to listen beyond loopback without a token, so each model gets a generated bearer
token (Secret ``model-NAME``, key ``token``); ``/healthz`` and ``/readyz`` answer without it, which is what
the liveness and readiness probes call. A startup probe gives a big model up to five minutes to load.
``model`` is read inside the container: a path in the image (``image:`` one that holds the model file).
A pickle (``.pkl``, ``.joblib``) gets ``--allow-pickle``: its author put it in the definition.
"""

from __future__ import annotations

from typing import Any

from kubelab.errors import RenderError
from kubelab.lab._model import ModelDeployment
from kubelab.lab.render._meta import (
    DEFAULT_IMAGE,
    Context,
    container_resources,
    pod_spec,
)
from kubelab.lab.render._secrets import SecretBank
from kubelab.lab.render._stateful import secret

__all__ = ["MODEL_COMPONENT", "model_name", "model_objects"]

Manifest = dict[str, Any]

MODEL_COMPONENT = "model"
_PICKLES = (".pkl", ".pickle", ".joblib")
_DEFAULTS = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
_UID = 10001


def model_name(model: ModelDeployment) -> str:
    """The name of the Deployment, Service, Secret and HPA of ``model``: ``model-NAME``."""
    return f"model-{model.name}"


def model_objects(ctx: Context, model: ModelDeployment, bank: SecretBank, source: str) -> list[Manifest]:
    """Secret (token), Deployment, Service and, with ``autoscaling``, a HorizontalPodAutoscaler.

    Raises:
        RenderError: the model's name is too long for a Service name once prefixed with ``model-``.
    """
    name = model_name(model)
    if len(name) > 63:
        raise RenderError(f"{source}.name: '{model.name}' is {len(model.name)} characters; the Service "
                          f"'{name}' would exceed 63; hint: use at most 57 characters")
    token = bank.random(name, "token")
    args = ["kubelab", "serve", model.model, "--name", model.name, "--host", "0.0.0.0", "--port", str(model.port)]
    if model.model.lower().endswith(_PICKLES):
        # kubelab serve refuses pickles unless told: the definition's author names their own model file here
        args.append("--allow-pickle")
    http = {"port": "http"}
    container = {
        "name": "serve",
        "image": model.image or DEFAULT_IMAGE,
        "args": args,
        "env": [{"name": "KUBELAB_SERVE_TOKEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "token"}}},
                {"name": "HOME", "value": "/tmp"}],
        "ports": [{"name": "http", "containerPort": model.port}],
        "startupProbe": {"httpGet": {"path": "/healthz", **http}, "periodSeconds": 5, "failureThreshold": 60},
        "readinessProbe": {"httpGet": {"path": "/readyz", **http}, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {"httpGet": {"path": "/healthz", **http}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": container_resources(model.resources, _DEFAULTS, model.gpu),
    }
    pod = pod_spec(ctx.lab.pool_for("serving", model.pool), _UID, container)
    selector = ctx.selector(MODEL_COMPONENT, model.name)
    spec: Manifest = {"selector": {"matchLabels": selector},
                      "template": {"metadata": ctx.pod_metadata(MODEL_COMPONENT, source, model.name),
                                   "spec": pod}}
    if model.autoscaling is None:  # with an HPA, replicas belong to it: applying them would undo its scaling
        spec = {"replicas": model.min_replicas, **spec}
    objects = [
        secret(ctx, name, source, {"token": token}),
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": ctx.metadata(name, source, MODEL_COMPONENT, instance=model.name), "spec": spec},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": ctx.metadata(name, source, MODEL_COMPONENT, instance=model.name),
         "spec": {"type": "ClusterIP", "selector": dict(selector),
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    ]
    if model.autoscaling is not None:
        scaling = model.autoscaling
        objects.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": ctx.metadata(name, f"{source}.autoscaling", MODEL_COMPONENT, instance=model.name),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": scaling.min, "maxReplicas": scaling.max,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": scaling.target_cpu_percent}}}]},
        })
    return objects
