from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelab.kube import Cluster
from tests.kube.fake_apiserver import FakeKubeAPI


@pytest.fixture
def fake() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture
def kubeconfig(fake: FakeKubeAPI, tmp_path: Path) -> Path:
    return fake.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def cluster(kubeconfig: Path) -> Iterator[Cluster]:
    with Cluster(str(kubeconfig), environ={}) as c:
        yield c


def deployment(name: str, *, namespace: str = "lab", replicas: int = 2, image: str = "ghcr.io/kubelab/worker:1",
               memory: str = "512Mi", cpu: str = "500m", source: str | None = None) -> dict[str, Any]:
    """A Deployment as the lab renderer writes one."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"app": name}}
    if source:
        meta["annotations"] = {"kubelab.dev/source": source}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                         {"name": "main", "image": image,
                          "resources": {"requests": {"cpu": cpu, "memory": memory},
                                        "limits": {"cpu": cpu, "memory": memory}}}]}}}}


def namespace(name: str = "lab") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, data: dict[str, str], namespace: str = "lab") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": data}
