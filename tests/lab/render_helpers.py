"""Shared by the render tests: a full lab that uses every rendered feature, and small readers of the output."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubelab.lab import Lab, loads_lab

FULL = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: full-lab}
provider: {name: digitalocean, region: fra1, kubernetes: "1.31"}
pools:
  - {name: core, size: s-2vcpu-4gb, count: 1, purpose: core}
  - {name: users, size: s-2vcpu-2gb-amd, min: 1, max: 11, purpose: users}
  - name: workers
    size: c-4
    min: 0
    max: 5
    purpose: workers
    labels: {team: ml}
    taints: [{key: kubelab.io/workers, effect: NoSchedule}]
  - {name: gpu, size: gpu-4000adax1-20gb, min: 0, max: 1, gpu: {type: nvidia-rtx-4000-ada}, purpose: users}
  - {name: serving, size: s-2vcpu-4gb, min: 1, max: 3, purpose: serving}
users: {admins: [alice], allowed: [alice, bob], typical: 2, peak: 10}
auth:
  method: github
  github:
    client_id: Iv1.abc
    client_secret: {secret: github-oauth, key: client-secret}
    callback_url: https://lab.example.org/hub/oauth_callback
    allowed_organizations: [lab]
workbench:
  image: quay.io/jupyter/scipy-notebook:2024-12-09
  storage: {size: 10Gi}
  cull: {idle_timeout: 1h, every: 10m}
  https: {hosts: [lab.example.org], contact_email: admin@example.org}
  profiles:
    - {name: standard, display_name: Standard, default: true}
    - name: gpu
      display_name: GPU
      image: quay.io/jupyter/pytorch-notebook:cuda12-2024-12-09
      cpu: {guarantee: "2", limit: "4"}
      memory: {guarantee: 8Gi, limit: 16Gi}
      gpu: 1
tuning:
  workers:
    autoscaling: {min: 0, max: 10, queue_length: 5}
    resources: {requests: {cpu: 1500m, memory: 2Gi}, limits: {cpu: "2", memory: 3Gi}}
models:
  - name: rul
    model: models/rul.skops
    autoscaling: {min: 1, max: 4, target_cpu_percent: 70}
    resources: {requests: {cpu: 250m, memory: 256Mi}}
  - name: classifier
    model: models/classifier.onnx
    replicas: 2
    port: 9000
"""
"""A lab with every rendered feature: tuning with KEDA, two models (HPA and fixed), a GPU profile, https."""


def full_lab(text: str = FULL, **replace: str) -> Lab:
    """``FULL`` (or ``text``) with ``old=new`` replacements, parsed."""
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return loads_lab(text)


def pod_templates(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, pod template) of every workload object."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield obj, obj["spec"]["template"]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name``."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def selects(match_labels: dict[str, str], labels: dict[str, str]) -> bool:
    """Kubernetes' matchLabels rule, written independently of the code under test."""
    return all(labels.get(k) == v for k, v in match_labels.items())
