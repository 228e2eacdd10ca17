"""The fake API server refuses what it does not implement, in the real API's shape (so its docs hold)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

import kubelab.kube
import kubelab.monitor
from tests.kube.fake_apiserver import FakeKubeAPI


def call(fake: FakeKubeAPI, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(fake.url + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {fake.token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_what_the_fake_refuses(fake: FakeKubeAPI) -> None:
    code, status = call(fake, "POST", "/api/v1/namespaces", b"{}")
    assert (code, status["reason"]) == (405, "MethodNotAllowed")
    code, status = call(fake, "PATCH", "/api/v1/namespaces/default", b"{}", "application/merge-patch+json")
    assert (code, status["reason"]) == (415, "UnsupportedMediaType")
    code, status = call(fake, "PATCH", "/api/v1/namespaces/x", b"{}", "application/apply-patch+yaml")
    assert code == 422 and "fieldManager: Required value" in status["message"]
    code, status = call(fake, "GET", "/api/v1/pods?labelSelector=app+in+(a,b)")
    assert code == 400 and "the fake supports k=v, k!=v, k and !k only" in status["message"]
    code, status = call(fake, "GET", "/apis/example.com/v1/widgets")
    assert code == 404 and status["kind"] == "Status"


def test_resource_version_moves_only_with_content(fake: FakeKubeAPI) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
                       "data": {"a": "1"}}).encode()
    path = "/api/v1/namespaces/default/configmaps/c?fieldManager=t"
    first = call(fake, "PATCH", path, body, "application/apply-patch+yaml")
    second = call(fake, "PATCH", path, body, "application/apply-patch+yaml")
    assert (first[0], second[0]) == (201, 200)
    assert first[1]["metadata"]["resourceVersion"] == second[1]["metadata"]["resourceVersion"]
    changed = call(fake, "PATCH", path, body.replace(b'"1"', b'"2"'), "application/apply-patch+yaml")
    assert changed[1]["metadata"]["resourceVersion"] != first[1]["metadata"]["resourceVersion"]


@pytest.mark.parametrize("module", [kubelab.kube, kubelab.monitor])
def test_public_names_resolve(module: Any) -> None:
    assert sorted(module.__all__) == sorted(set(module.__all__))
    for name in module.__all__:
        assert getattr(module, name) is not None, name
