"""The validation harness: real kubernetes-validate schemas (strict), shipped KEDA schemas, the chart's schema."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kubelab.errors import RenderError
from kubelab.lab import check_file, starter_text
from kubelab.lab.render import (
    KUBERNETES_VERSIONS,
    chart_defaults,
    merge_values,
    render_lab,
    validate_hub_values,
    validate_objects,
)
from tests.lab.render_helpers import FULL, find, full_lab

EXAMPLES = ["full", "starter", "example"]


def _lab(which: str) -> Any:
    from kubelab.lab import load_lab, loads_lab
    from tests.conftest import ROOT

    if which == "full":
        return full_lab()
    if which == "starter":
        return loads_lab(starter_text())
    return load_lab(ROOT / "examples" / "lab.yaml")


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render_lab(full_lab()).objects()


@pytest.mark.parametrize("which", EXAMPLES)
def test_every_object_passes_strict_schemas_of_1_30_and_1_35(which: str) -> None:
    rendered = render_lab(_lab(which))
    assert len(rendered.objects()) > 10
    assert validate_objects(rendered.objects(), ("1.30", "1.35")) == []


MINIMAL = """\
apiVersion: kubelab/v1
kind: Lab
metadata: {name: tiny}
provider: {name: generic, region: here, kubernetes: "1.30"}
pools: [{name: all, size: 4cpu-16Gi, count: 1, purpose: [core, users, workers, serving]}]
auth: {method: native}
"""


@pytest.mark.parametrize("variant", [
    {},
    {"tuning:\n  workers:\n    autoscaling: {min: 0, max: 10, queue_length: 5}":
     "tuning:\n  workers:\n    replicas: 2\n    gpu: 1\n    pool: gpu",
     "size: gpu-4000adax1-20gb, min: 0, max: 1,": "size: gpu-4000adax1-20gb, min: 0, max: 4,"},
    {"    replicas: 2\n    port: 9000\n": "    replicas: 0\n    gpu: 1\n    pool: gpu\n"},
    {"users: {admins: [alice], allowed: [alice, bob], typical: 2, peak: 10}\n": ""},
], ids=["full", "fixed-gpu-workers", "idle-gpu-model", "no-users"])
def test_variants_pass_every_version(variant: dict[str, str], tmp_path: Path) -> None:
    text = FULL
    for old, new in variant.items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "lab.yaml").write_text(text)
    assert check_file(tmp_path / "lab.yaml").errors == []  # a definition check accepts
    rendered = render_lab(full_lab(text))
    assert validate_objects(rendered.objects()) == []
    assert rendered.hub_values is not None and validate_hub_values(rendered.hub_values) == []


def test_a_minimal_lab_renders_only_its_namespace() -> None:
    from kubelab.lab import loads_lab

    rendered = render_lab(loads_lab(MINIMAL))
    assert [o["kind"] for o in rendered.objects()] == ["Namespace"]
    assert validate_objects(rendered.objects()) == []
    assert rendered.hub_values is None and "terraform/main.tf" not in rendered.texts


def test_every_version_from_1_30_to_1_35_is_shipped_and_passes(objects: list[dict[str, Any]]) -> None:
    assert KUBERNETES_VERSIONS == ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")
    assert validate_objects(objects) == []


@pytest.mark.parametrize("version", ["1.30", "1.35"])
def test_kubernetes_validate_itself_agrees(objects: list[dict[str, Any]], version: str) -> None:
    """The library's own entry point, object by object, on every built-in kind (no cache of ours involved)."""
    builtin = [o for o in objects if not o["apiVersion"].startswith("keda.sh/")]
    assert {o["kind"] for o in builtin} >= {"Namespace", "ConfigMap", "Secret", "StatefulSet", "Service",
                                            "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy"}
    for obj in builtin:
        assert kubernetes_validate.validate(obj, version, strict=True) == version


def test_strict_mode_catches_an_unknown_field(objects: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(find(objects, "Deployment", "tune-worker"))
    bad["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    problems = validate_objects([bad], ("1.30",))
    assert len(problems) == 1
    assert problems[0].what == "Deployment/tune-worker"
    assert problems[0].path == "spec.template.spec.containers.0"
    assert "securityContxt" in problems[0].message
    assert str(problems[0]).startswith("Deployment/tune-worker (Kubernetes 1.30) at spec.template.spec.containers.0:")


def test_a_wrong_type_is_caught(objects: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(find(objects, "Service", "rabbitmq"))
    bad["spec"]["ports"][0]["port"] = "five"
    assert [p.path for p in validate_objects([bad], ("1.35",))] == ["spec.ports.0.port"]


def test_a_version_without_schemas() -> None:
    with pytest.raises(RenderError) as info:
        validate_objects([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}], ("1.99",))
    assert str(info.value) == ("the installed kubernetes-validate has no schemas for Kubernetes 1.99; "
                               "hint: pip install -U 'kubelab[lab]'")


def test_a_kind_without_schema_is_a_problem_not_a_pass() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    [problem] = validate_objects([obj], ("1.30",))
    assert problem.message == "no schema for this kind and apiVersion"


def test_kubernetes_validate_has_no_schema_for_keda(objects: list[dict[str, Any]]) -> None:
    """Why kubelab ships its own: the library cannot check a ScaledObject (its command line lets it pass)."""
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(find(objects, "ScaledObject", "tune-worker"), "1.35", strict=True)


def test_keda_objects_are_checked_against_the_shipped_crd_schemas(objects: list[dict[str, Any]]) -> None:
    scaled = copy.deepcopy(find(objects, "ScaledObject", "tune-worker"))
    scaled["spec"]["minReplicas"] = 0  # an HPA word, not KEDA's minReplicaCount
    scaled["spec"]["triggers"][0]["metadata"]["queue"] = "x"  # the rabbitmq trigger's key is queueName
    auth = copy.deepcopy(find(objects, "TriggerAuthentication", "rabbitmq-keda"))
    auth["metadata"]["labels"] = "not a map"
    problems = validate_objects([scaled, auth], ("1.30",))
    assert {(p.what, p.path) for p in problems} == {
        ("ScaledObject/tune-worker", "spec"),
        ("ScaledObject/tune-worker", "spec.triggers.0.metadata"),
        ("TriggerAuthentication/rabbitmq-keda", "metadata.labels"),
    }


def test_values_merged_with_chart_defaults_pass_the_chart_schema() -> None:
    values = render_lab(full_lab()).hub_values
    assert values is not None
    assert validate_hub_values(values) == []


def test_the_chart_schema_catches_a_bad_value() -> None:
    values = render_lab(full_lab()).hub_values
    assert values is not None
    values["singleuser"]["cpu"]["limit"] = "2"  # the chart wants a number of cores
    values["singleuser"]["startTimeout"] = 1.5
    problems = validate_hub_values(values)
    assert {p.path for p in problems} == {"singleuser.cpu.limit", "singleuser.startTimeout"}


def test_merge_follows_helm() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 1}
    assert merge_values(base, {"a": {"b": 9}, "d": [3], "e": None}) == {"a": {"b": 9, "c": 2}, "d": [3]}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 1}


def test_chart_files_ship_inside_the_package_with_their_license() -> None:
    chart = resources.files("kubelab.lab").joinpath("data", "z2jh-4.4.0")
    assert "BSD 3-Clause License" in chart.joinpath("LICENSE").read_text()
    schema = yaml.safe_load(chart.joinpath("values.schema.yaml").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert chart_defaults()["singleuser"]["memory"]["guarantee"] == "1G"


def test_the_public_names_resolve() -> None:
    import kubelab.lab.render as render

    assert sorted(render.__all__) == sorted(set(render.__all__))
    for name in render.__all__:
        assert getattr(render, name) is not None, name
