"""recipe.yaml and profile files: round trips and every error a user can make, with its location."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab.errors import SpecError
from kubelab.recipe._hpa import Behavior, ScalingPolicy, ScalingRules
from kubelab.recipe._recipe import Recipe, format_cpu, format_memory, load_recipe, parse_cpu, parse_memory
from kubelab.recipe._server import load_profile, synthetic_profile
from tests.recipe.conftest import COURSE


def test_course_recipe(tmp_path: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(COURSE)
    assert load_recipe(path) == Recipe(1.0, 2.0, 2048.0, 4096.0, 1, 5, 40)


def test_round_trip_with_behavior(tmp_path: Path) -> None:
    import yaml

    behavior = Behavior(None, ScalingRules(60, "Min", (ScalingPolicy("Pods", 1, 30), ScalingPolicy("Percent", 10, 60))))
    recipe = Recipe(0.25, 0.5, 704.0, 704.0, 2, 9, 70, behavior)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe.to_dict()))
    assert load_recipe(path) == recipe


@pytest.mark.parametrize(
    ("value", "cores"), [("500m", 0.5), ("0.5", 0.5), (2, 2.0), ("1", 1.0), ("250m", 0.25), (".5", 0.5)]
)
def test_cpu_quantities(value: object, cores: float) -> None:
    assert parse_cpu(value) == cores


@pytest.mark.parametrize(("value", "mib"), [("2Gi", 2048.0), ("512Mi", 512.0), (1048576, 1.0), ("1G", 1e9 / 2**20)])
def test_memory_quantities(value: object, mib: float) -> None:
    assert parse_memory(value) == pytest.approx(mib)


def test_formatting() -> None:
    assert (format_cpu(0.25), format_cpu(2.0), format_memory(704), format_memory(2048)) == ("250m", "2", "704Mi", "2Gi")


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (
            "resources:\n  requests: {cpu: 1x, memroy: 2Gi}\nautoscaling:\n  minReplicas: 3\n  maxReplicas: 2\n",
            [
                "recipe.yaml:2:19: resources.requests.cpu: '1x' is not a CPU quantity (e.g. 500m, 0.5, 2)",
                "recipe.yaml:2:23: resources.requests.memroy: unknown key; hint: did you mean 'memory'?",
                "resources.requests.memory: is missing; hint: every replica needs a CPU and memory request",
                "recipe.yaml:5:16: autoscaling.maxReplicas: 2 is below minReplicas 3",
            ],
        ),
        (
            "resources:\n  requests: {cpu: 2, memory: 1Gi}\n  limits: {cpu: 1}\nautoscaling: {maxReplicas: 3}\n",
            ["recipe.yaml:3:17: resources.limits.cpu: limit 1 is below the request 2"],
        ),
        ("resources:\n  requests: {cpu: 1, memory: 1Gi}\n", ["autoscaling: is missing"]),
        (
            "resources:\n  requests: {cpu: 0.5m, memory: 2GB}\nautoscaling: {maxReplicas: 3}\n",
            [
                "recipe.yaml:2:19: resources.requests.cpu: '0.5m' is finer than 1m (a thousandth of a core); "
                "hint: Kubernetes CPU precision is 1m",
                "recipe.yaml:2:33: resources.requests.memory: '2GB' is not a memory quantity (e.g. 512Mi, 2Gi); "
                "hint: write 2G (Kubernetes suffixes",
            ],
        ),
        (
            "resources:\n  requests: {cpu: 1, memory: 0}\n"
            "autoscaling: {maxReplicas: 3, targetCPUUtilizationPercentage: 0}\n",
            [
                "resources.requests.memory: 0 must be more than 0",
                "targetCPUUtilizationPercentage: must be an integer >= 1, not 0",
            ],
        ),
        (
            "resources: {requests: {cpu: 1, memory: 1Gi}}\nautoscaling:\n  maxReplicas: 3\n  behavior:\n"
            "    scaleUp: {selectPolicy: Fastest, policies: [{type: Pod, value: 0, periodSeconds: 4000}]}\n",
            [
                "autoscaling.behavior.scaleUp.selectPolicy: must be Max, Min or Disabled, not 'Fastest'",
                "autoscaling.behavior.scaleUp.policies[0].type: must be Pods or Percent, not 'Pod'",
                "autoscaling.behavior.scaleUp.policies[0].value: must be an integer >= 1, not 0",
                "autoscaling.behavior.scaleUp.policies[0].periodSeconds: must be at most 1800, not 4000",
            ],
        ),
        ("resources: [1]\nautoscaling: {maxReplicas: 2}\n", ["resources: must be a mapping"]),
        ("- 1\n", ["must be a mapping"]),
        ("autoscaling: {maxReplicas: 2\n", ["not valid YAML"]),
        (
            "resources: {requests: {cpu: 1, memory: 1Gi}}\nautoscale: {}\n",
            ["autoscale: unknown key; hint: did you mean 'autoscaling'?"],
        ),
    ],
)
def test_recipe_errors(tmp_path: Path, text: str, messages: list[str]) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_recipe(path)
    for message in messages:
        assert message in str(info.value)


def test_missing_recipe_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_recipe(tmp_path / "nope.yaml")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_profile_round_trip(tmp_path: Path, suffix: str) -> None:
    profile = synthetic_profile()
    path = tmp_path / f"profile{suffix}"
    profile.save(path)
    loaded = load_profile(path)
    assert loaded.points == profile.points
    assert (loaded.memory_mib, loaded.startup_seconds, loaded.method) == (600.0, 20.0, "synthetic")


def test_profile_errors(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(
        "points:\n  - {cpu: 0, service_quantiles: [1, 2], cpu_per_request: 0.1, capacity: 3}\nmemory_mib: big\n"
    )
    with pytest.raises(SpecError) as info:
        load_profile(path)
    text = str(info.value)
    assert "points[0].cpu: must be > 0, not 0" in text
    assert "points[0].service_quantiles: must be 11 numbers" in text
    assert "memory_mib: must be a number, not 'big'" in text
    assert "startup_seconds: is missing" in text


def test_public_api_resolves() -> None:
    import kubelab.recipe

    for name in kubelab.recipe.__all__:
        assert getattr(kubelab.recipe, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kubelab.recipe.nope  # noqa: B018


def test_examples_parse() -> None:
    from tests.conftest import ROOT

    assert load_recipe(ROOT / "examples" / "recipe-course.yaml") == Recipe(1.0, 2.0, 2048.0, 4096.0, 1, 5, 40)


def test_profile_round_trip_keeps_the_unthrottled_service(tmp_path: Path) -> None:
    from dataclasses import replace

    profile = replace(synthetic_profile(), free_quantiles=tuple(0.01 + 0.001 * i for i in range(11)), cfs_period=0.1)
    path = tmp_path / "profile.yaml"
    profile.save(path)
    loaded = load_profile(path)
    assert (loaded.free_quantiles, loaded.cfs_period) == (profile.free_quantiles, 0.1)
    synthetic_profile().save(path)  # without them, the file has neither key
    assert "free_quantiles" not in path.read_text() and load_profile(path).free_quantiles is None


def test_profile_errors_in_the_unthrottled_service(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    synthetic_profile().save(path)
    base = path.read_text()
    path.write_text(base + "free_quantiles: [3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ncfs_period: 0\n")
    with pytest.raises(SpecError) as info:
        load_profile(path)
    assert "free_quantiles: must be positive and non-decreasing" in str(info.value)
    assert "cfs_period: must be > 0, not 0" in str(info.value)
    path.write_text(base + "cfs_period: 0.1\n")
    with pytest.raises(SpecError, match="free_quantiles: must be 11 numbers"):
        load_profile(path)
