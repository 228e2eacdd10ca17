"""``kubelab lab apply`` end to end: the real command against ``FakeKubeAPI`` (a fake API server on loopback).

The apply engine itself is tested in tests/kube/; these tests check what the lab adds: the objects come from
the definition file, generated Secrets are never overwritten, objects that leave the file are pruned, and a
failure names the definition key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_cli
from tests.kube.fake_apiserver import FakeKubeAPI
from tests.kube.fake_workloads import Unschedulable

EXAMPLE = ROOT / "examples" / "lab.yaml"
NS = "turbofan-lab"


@pytest.fixture
def fake() -> Any:
    with FakeKubeAPI() as api:
        yield api


def _apply(kubeconfig: Path, lab: Path, *extra: str) -> Any:
    return run_cli(["lab", "apply", str(lab), "--kubeconfig", str(kubeconfig), "--timeout", "20", *extra],
                   env={"KUBECONFIG": ""})


def _summary(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    return data


def test_apply_twice_then_prune(fake: FakeKubeAPI, tmp_path: Path) -> None:
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    first = _apply(kubeconfig, EXAMPLE, "--format", "json")
    assert first.returncode == 0, first.stderr
    done = _summary(first.stdout)
    assert done["created"] > 5 and done["configured"] == 0 and done["pruned"] == 0
    model = fake.get("apps/v1", "Deployment", "model-turbofan-rul", NS)
    assert model is not None
    assert model["metadata"]["annotations"]["kubelab.dev/source"] == "models[0]"
    assert model["metadata"]["labels"]["kubelab.dev/lab"] == NS
    assert fake.get("autoscaling/v2", "HorizontalPodAutoscaler", "model-turbofan-rul", NS) is not None

    again = _apply(kubeconfig, EXAMPLE, "--format", "json")
    assert again.returncode == 0, again.stderr
    second = _summary(again.stdout)
    assert second["created"] == second["configured"] == second["pruned"] == 0
    assert second["unchanged"] == done["created"]

    # the model leaves the file: its Deployment, Service and HPA go, nothing else does
    text = EXAMPLE.read_text()
    without = tmp_path / "lab.yaml"
    without.write_text(text[:text.index("models:")] + text[text.index("budget:"):])
    pruned = _apply(kubeconfig, without, "--format", "json")
    assert pruned.returncode == 0, pruned.stderr
    assert _summary(pruned.stdout)["pruned"] >= 3
    assert fake.get("apps/v1", "Deployment", "model-turbofan-rul", NS) is None
    assert fake.get("autoscaling/v2", "HorizontalPodAutoscaler", "model-turbofan-rul", NS) is None
    assert fake.get("apps/v1", "StatefulSet", "rabbitmq", NS) is not None


def test_generated_secrets_are_created_once(fake: FakeKubeAPI, tmp_path: Path) -> None:
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    assert _apply(kubeconfig, EXAMPLE).returncode == 0
    secrets = fake.objects("v1", "Secret", NS)
    assert secrets, "the lab's generated secrets were applied"
    before = {s["metadata"]["name"]: s.get("data") or s.get("stringData") for s in secrets}
    rerun = _apply(kubeconfig, EXAMPLE)  # draws new passwords in memory: they must not replace the live ones
    assert rerun.returncode == 0, rerun.stderr
    after = {s["metadata"]["name"]: s.get("data") or s.get("stringData") for s in fake.objects("v1", "Secret", NS)}
    assert after == before
    assert "create-only: the existing object is kept" in rerun.stderr


def test_dry_run_changes_nothing(fake: FakeKubeAPI, tmp_path: Path) -> None:
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    result = _apply(kubeconfig, EXAMPLE, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would be created" in result.stdout
    assert fake.objects("apps/v1", "Deployment", NS) == []


def test_a_pod_that_cannot_be_scheduled_names_the_definition_key(fake: FakeKubeAPI, tmp_path: Path) -> None:
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    fake.behave(NS, "model-turbofan-rul", Unschedulable())
    result = _apply(kubeconfig, EXAMPLE)
    assert result.returncode == 1
    assert "models[0]" in result.stderr and "memory" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_a_lab_file_with_errors_applies_nothing(fake: FakeKubeAPI, tmp_path: Path) -> None:
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    bad = tmp_path / "lab.yaml"
    bad.write_text(EXAMPLE.read_text().replace("metadata:", "metdata:", 1))
    result = _apply(kubeconfig, bad)
    assert result.returncode == 1
    assert f"{bad}:" in result.stderr and "metdata" in result.stderr and "did you mean 'metadata'" in result.stderr
    assert fake.get("v1", "Namespace", NS) is None


def test_a_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    result = _apply(tmp_path / "nowhere", EXAMPLE)
    assert result.returncode != 0
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr
