"""``kubelab recipe``: real subprocesses, the outputs a user sees, every argument a user can get wrong."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from kubelab.recipe._recipe import parse_cpu
from tests.recipe.conftest import COURSE


@pytest.fixture
def course_recipe(tmp_path: Path) -> Path:
    path = tmp_path / "course.yaml"
    path.write_text(COURSE)
    return path


def test_simulate_course_recipe(cli, course_recipe: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe",
        "simulate",
        str(course_recipe),
        "--load",
        "course",
        "--slo-p99-ms",
        "200",
        "--synthetic-profile",
        "--format",
        "json",
        "--out",
        "sim",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["minutes"]) == 30  # the course profile: 30 one-minute runs
    assert data["summary"]["recipe"] == "cpu 1/2, mem 2Gi/4Gi, replicas 1-5, target 40%"
    assert all(1 <= m["replicas"] <= 5 for m in data["minutes"])
    assert "synthetic server profile" in result.stderr
    report = (course_recipe.parent / "sim" / "report.html").read_text()
    assert report.count("<svg") == 3


def test_find_writes_a_valid_recipe(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "course.yaml").write_text(COURSE)
    result = cli(
        "recipe",
        "model.pkl",
        "--compare",
        "course.yaml",
        "--load",
        "constant:5@10m",
        "--slo-p99-ms",
        "250",
        "--synthetic-profile",
        "--cpu-requests",
        "0.5,1",
        "--limit-ratios",
        "1,2",
        "--targets",
        "50,80",
        "--min-replicas",
        "1",
        "--out",
        "out",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "deployment.yaml",
        "hpa.yaml",
        "profile.yaml",
        "recipe.yaml",
        "report.html",
        "service.yaml",
    ]
    data = json.loads(result.stdout)
    assert data["candidates"][0]["rank"] == "best" and data["candidates"][0]["feasible"] is True
    report = (out / "report.html").read_text()
    assert "course.yaml" in report and "cpu 1/2, mem 2Gi/4Gi, replicas 1-5, target 40%" in report
    deployment = yaml.safe_load((out / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    # the pattern search may settle between grid points, never outside the range the options give
    resources = pod["containers"][0]["resources"]
    request, limit = parse_cpu(resources["requests"]["cpu"]), parse_cpu(resources["limits"]["cpu"])
    assert 0.5 <= request <= 1 and request <= limit <= 2 * request + 1e-9
    hpa = yaml.safe_load((out / "hpa.yaml").read_text())
    assert 50 <= hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] <= 80
    # what the nodes must have free above the requests: the same figure in recipe.yaml and the table
    predicted = yaml.safe_load((out / "recipe.yaml").read_text())["predicted"]
    assert predicted["burst_cores"] >= 0
    assert predicted["burst_cores"] == pytest.approx(data["candidates"][0]["burst_cores"], abs=0.005)
    # the written recipe simulates as it is
    again = cli(
        "recipe",
        "simulate",
        "out/recipe.yaml",
        "--load",
        "constant:5@10m",
        "--slo-p99-ms",
        "250",
        "--profile-file",
        "out/profile.yaml",
        "--format",
        "json",
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["summary"]["windows_violating_pct"] <= 1.0


def test_bad_recipe_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.yaml").write_text("resources:\n  requests: {cpu: lots}\nautoscaling: {maxReplicas: 0}\n")
    result = cli("recipe", "simulate", "bad.yaml", "--load", "course", "--slo-p99-ms", "100", "--synthetic-profile")
    assert result.returncode == 1
    assert "error: 3 problems found:" in result.stderr
    assert "bad.yaml:2:19: resources.requests.cpu: 'lots' is not a CPU quantity" in result.stderr
    assert "resources.requests.memory: is missing" in result.stderr
    assert "bad.yaml:3:28: autoscaling.maxReplicas: must be an integer >= 1, not 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_recipe_file(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("recipe", "simulate", "nope.yaml", "--load", "course", "--slo-p99-ms", "100", "--synthetic-profile")
    assert result.returncode == 1
    assert "nope.yaml: file not found" in result.stderr


def test_bad_load_profile(cli, course_recipe: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe", "simulate", str(course_recipe), "--load", "sawtooth:3", "--slo-p99-ms", "100", "--synthetic-profile"
    )
    assert result.returncode == 1
    assert "unknown profile 'sawtooth'" in result.stderr and "hint:" in result.stderr


@pytest.mark.parametrize("slo", ["0", "-5", "fast"])
def test_bad_slo(cli, course_recipe: Path, slo: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe", "simulate", str(course_recipe), "--load", "course", "--slo-p99-ms", slo, "--synthetic-profile"
    )
    assert result.returncode == 2
    assert "Invalid value for '--slo-p99-ms'" in result.stderr


def test_missing_slo(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("recipe", "model.pkl", "--load", "course", "--out", "o", "--synthetic-profile")
    assert result.returncode == 2
    assert "Missing option '--slo-p99-ms'" in result.stderr


def test_bad_profile_file(cli, course_recipe: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.yaml").write_text("points: []\nmemory_mib: 100\nstartup_seconds: 3\n")
    result = cli(
        "recipe", "simulate", str(course_recipe), "--load", "course", "--slo-p99-ms", "100", "--profile-file", "p.yaml"
    )
    assert result.returncode == 1
    assert "p.yaml:1:9: points: must be a non-empty list of measured CPU allowances" in result.stderr


def test_profile_file_and_synthetic_conflict(cli, course_recipe: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe",
        "simulate",
        str(course_recipe),
        "--load",
        "course",
        "--slo-p99-ms",
        "100",
        "--profile-file",
        "p.yaml",
        "--synthetic-profile",
    )
    assert result.returncode == 2
    assert "give --profile-file or --synthetic-profile, not both" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cpu-requests", "half"], "Invalid value for --cpu-requests: 'half' is not a comma-separated list"),
        (["--limit-ratios", "0.5"], "Invalid value for --limit-ratios: every value must be >= 1, not 0.5"),
        (["--targets", "0"], "Invalid value for --targets: every value must be >= 1, not 0"),
        (["--scale-down-windows", "default,5m"], "Invalid value for --scale-down-windows: '5m' is not 'default'"),
    ],
)
def test_bad_search_space(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe", "m.pkl", "--load", "course", "--slo-p99-ms", "100", "--synthetic-profile", "--out", "o", *args
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_bad_compare_recipe_fails_before_the_search(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mine.yaml").write_text("resources: {requests: {cpu: 1}}\n")
    result = cli(
        "recipe",
        "m.pkl",
        "--load",
        "course",
        "--slo-p99-ms",
        "100",
        "--synthetic-profile",
        "--out",
        "o",
        "--compare",
        "mine.yaml",
    )
    assert result.returncode == 1
    assert "mine.yaml:1:13: resources.requests.memory: is missing" in result.stderr
    assert "simulated" not in result.stderr


def test_bad_price_catalog(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "prices.yaml").write_text("cpu_core_hour: cheap\n")
    result = cli(
        "recipe",
        "m.pkl",
        "--load",
        "course",
        "--slo-p99-ms",
        "100",
        "--synthetic-profile",
        "--out",
        "o",
        "--price-catalog",
        "prices.yaml",
    )
    assert result.returncode == 1
    assert "prices.yaml:1:16: cpu_core_hour: must be a number >= 0, not 'cheap'" in result.stderr


def test_bad_price_catalog_in_the_lab_layout(cli, course_recipe: Path) -> None:  # type: ignore[no-untyped-def]
    (course_recipe.parent / "prices.yaml").write_text("providers:\n  digitalocean:\n    sizes: {date: soon}\n")
    result = cli(
        "recipe", "simulate", str(course_recipe), "--load", "course", "--slo-p99-ms", "200", "--synthetic-profile",
        "--price-catalog", str(course_recipe.parent / "prices.yaml"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "prices.yaml:3:19: providers.digitalocean.sizes.date: 'soon': must be a valid date" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_feasible_recipe_says_what_to_do(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe",
        "m.pkl",
        "--load",
        "constant:5@5m",
        "--slo-p99-ms",
        "1",
        "--synthetic-profile",
        "--cpu-requests",
        "1",
        "--limit-ratios",
        "1",
        "--targets",
        "50",
        "--min-replicas",
        "1",
        "--out",
        "o",
    )
    assert result.returncode == 1
    assert "no recipe in the search space meets p99 <= 1 ms" in result.stderr
    assert "hint: relax --slo-p99-ms" in result.stderr


@pytest.mark.parametrize("cpus", ["half", "0,1"])
def test_profile_bad_cpus(cli, cpus: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("recipe", "profile", "m.pkl", "--out", "p.yaml", "--cpus", cpus)
    assert result.returncode == 2
    assert "Invalid value for --cpus" in result.stderr


@pytest.mark.parametrize("command", [["recipe"], ["recipe", "profile"]])
def test_missing_model_file(cli, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    extra = ["--slo-p99-ms", "100", "--load", "course"] if command == ["recipe"] else []
    result = cli(*command, "nosuch.onnx", *extra, "--out", "o")
    assert result.returncode == 2
    assert "Invalid value for 'MODEL': nosuch.onnx: file not found" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("kubelab.serve") is not None, reason="kubelab serve is installed")
def test_find_without_serve_or_profile(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "m.onnx").write_bytes(b"not really a model")
    result = cli("recipe", "m.onnx", "--load", "course", "--slo-p99-ms", "100", "--out", "o")
    assert result.returncode == 1
    assert "kubelab serve is not part of this install" in result.stderr
    assert "hint: pass --profile-file FILE, or --synthetic-profile" in result.stderr


def test_duration_in_days(cli, course_recipe: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe",
        "simulate",
        str(course_recipe),
        "--load",
        "constant:5",
        "--duration",
        "0.1d",
        "--slo-p99-ms",
        "300",
        "--synthetic-profile",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["minutes"]) == 144  # 0.1 day = 8,640 s


def test_bad_duration(cli, course_recipe: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "recipe",
        "simulate",
        str(course_recipe),
        "--load",
        "constant:5",
        "--duration",
        "forever",
        "--slo-p99-ms",
        "300",
        "--synthetic-profile",
    )
    assert result.returncode == 1
    assert "bad duration 'forever'" in result.stderr
