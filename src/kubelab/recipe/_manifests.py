"""Kubernetes manifests for a recipe: Deployment, Service, HorizontalPodAutoscaler (autoscaling/v2).

Secure by default: the pod runs as a non-root user with a read-only root filesystem, no privilege
escalation, every capability dropped and the RuntimeDefault seccomp profile; the Service is ClusterIP
(reachable only inside the cluster); the server requires a bearer token read from a Secret the user
creates (``kubectl create secret generic NAME-token --from-literal=token=$(openssl rand -hex 24)``), so
no secret is ever written to disk here. Every manifest is checked against the Kubernetes OpenAPI schema
(kubernetes-validate, strict: unknown fields are errors).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from kubelab._deps import require
from kubelab.errors import RecipeError
from kubelab.recipe._recipe import Recipe, behavior_to_dict, format_cpu, format_memory

__all__ = ["manifest_name", "render", "validate"]

PORT = 8080


def manifest_name(model: str) -> str:
    """A DNS-1035 label from a model path: ``models/Turbofan_v2.pkl`` → ``turbofan-v2``."""
    stem = Path(model).name.split(".")[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", stem).strip("-")
    if not name or not name[0].isalpha():
        name = f"model-{name}".strip("-")
    return name[:50]


def render(recipe: Recipe, model: str, *, image: str, startup_seconds: float) -> list[dict[str, Any]]:
    """The Deployment, Service and HPA for ``model`` served by ``image`` with ``recipe``."""
    name = manifest_name(model)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "kubelab"}
    resources = {
        "requests": {"cpu": format_cpu(recipe.cpu_request), "memory": format_memory(recipe.memory_request)},
        "limits": {"cpu": format_cpu(recipe.cpu_limit), "memory": format_memory(recipe.memory_limit)},
    }
    probe_period = 5
    container = {
        "name": "server",
        "image": image,
        "args": ["serve", f"/models/{Path(model).name}", "--host", "0.0.0.0", "--port", str(PORT)],
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": [
            {"name": "KUBELAB_SERVE_TOKEN", "valueFrom": {"secretKeyRef": {"name": f"{name}-token", "key": "token"}}}
        ],
        "resources": resources,
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": probe_period,
            "failureThreshold": max(6, math.ceil(3 * startup_seconds / probe_period)),
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": probe_period},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": recipe.min_replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    hpa_spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": recipe.min_replicas,
        "maxReplicas": recipe.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": recipe.target_utilization},
                },
            }
        ],
    }
    if recipe.behavior is not None:
        hpa_spec["behavior"] = behavior_to_dict(recipe.behavior)
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": hpa_spec,
    }
    return [deployment, service, hpa]


def validate(documents: list[dict[str, Any]], version: str | None = None) -> None:
    """Check each manifest against the Kubernetes schema (strict) of ``version`` (default: the newest known).

    Raises:
        RecipeError: a manifest does not validate; the message names it and the field.
    """
    kv = require("kubernetes_validate", "recipe")
    version = version or kv.utils.latest_version()
    problems = []
    for doc in documents:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(root)"
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}")
    if problems:
        raise RecipeError(
            "generated manifests do not validate (a kubelab bug, please report):\n  " + "\n  ".join(problems)
        )
