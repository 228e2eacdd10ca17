from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kubelab.lab import Report, check_file

# A small valid lab: one always-on core node, autoscaled users, workers and a model.
BASE = """\
apiVersion: kubelab/v1
kind: Lab
metadata:
  name: team
provider:
  name: digitalocean
  region: fra1
  kubernetes: "1.31"
pools:
  - name: core
    size: s-2vcpu-4gb
    count: 1
    purpose: core
  - name: users
    size: s-2vcpu-4gb
    min: 1
    max: 4
    purpose: users
  - name: workers
    size: c-4
    min: 0
    max: 2
    purpose: [workers, serving]
users:
  admins: [alice]
  allowed: [alice, bob]
  typical: 2
  peak: 4
auth:
  method: github
  github:
    client_id: abc
    client_secret: {secret: github-oauth, key: client-secret}
    callback_url: https://lab.example.org/hub/oauth_callback
    allowed_organizations: [team]
workbench:
  image: quay.io/jupyter/scipy-notebook:2024-12-09
  cpu: {guarantee: 500m, limit: "2"}
  memory: {guarantee: 1Gi, limit: 2Gi}
  start_timeout: 10m
  https:
    hosts: [lab.example.org]
    contact_email: admin@example.org
tuning:
  workers:
    autoscaling: {min: 0, max: 4}
    resources: {requests: {cpu: "1", memory: 2Gi}, limits: {cpu: "1", memory: 2Gi}}
models:
  - name: rul
    model: models/rul.joblib
    resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}
"""


def position(text: str, needle: str, nth: int = 0, offset: int = 0) -> str:
    """``line:column`` (1-based) of the ``nth`` occurrence of ``needle`` in ``text`` (plus ``offset``
    characters), computed by hand."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{column}"


@pytest.fixture
def check(tmp_path: Path) -> Callable[[str], tuple[Report, str]]:
    """``check(text)`` writes ``lab.yaml`` and checks it; returns the report and the file's path."""
    def _check(text: str) -> tuple[Report, str]:
        path = tmp_path / "lab.yaml"
        path.write_text(text, encoding="utf-8")
        return check_file(path), str(path)
    return _check
