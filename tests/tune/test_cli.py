"""``kubelab tune`` as a user runs it: output formats, exit codes and the messages of bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.tune.conftest import write_spec

SPEC = """
    study: cli
    dataset: {builtin: diabetes}
    search: {method: grid}
    models:
      - function: trial_fns:misbehave
        space: {x: [0, 1]}
      - function: trial_fns:noop
        space: {x: [3, 5, 4]}
"""


@pytest.fixture
def ran(workdir: Path, cli):  # type: ignore[no-untyped-def]
    spec = write_spec(workdir, SPEC)
    result = cli("tune", "run", str(spec), "--workers", "2")
    assert result.returncode == 0, result.stderr
    return result


def test_run_prints_leaderboard_and_uses_default_store(ran, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    lines = ran.stdout.splitlines()
    assert lines[0].split()[:4] == ["NUMBER", "MODEL", "VALUE", "STATUS"]
    assert [line.split()[1:3] for line in lines[1:]] == [["noop", "5"], ["noop", "4"], ["noop", "3"],
                                                         ["misbehave", "1"]]
    assert "cli: 4 done, 1 failed, 0 open of 5" in ran.stderr
    assert (workdir / ".kubelab" / "kubelab.db").exists()


def test_status_json(ran, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("tune", "status", "cli", "--format", "json")
    info = json.loads(result.stdout)
    assert {k: info[k] for k in ("pending", "running", "done", "failed", "total")} == {
        "pending": 0, "running": 0, "done": 4, "failed": 1, "total": 5}
    assert info["best"]["params"] == {"x": 5} and info["best"]["value"] == 5.0


def test_results_formats(ran, cli) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(cli("tune", "results", "cli", "--format", "json").stdout)
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4]
    for r in rows:
        assert {"number", "model", "params", "status", "value", "attempts", "duration_s", "worker", "error"} <= set(r)
    assert rows[1]["status"] == "failed" and rows[1]["value"] is None and rows[1]["error"].startswith("ValueError")
    top = json.loads(cli("tune", "results", "cli", "--top", "2", "--format", "json").stdout)
    assert [r["params"] for r in top] == [{"x": 5}, {"x": 4}]
    table = list(csv.DictReader(io.StringIO(cli("tune", "results", "cli", "--format", "csv").stdout)))
    assert len(table) == 5 and json.loads(table[3]["params"]) == {"x": 5}
    listing = json.loads(cli("tune", "list", "--format", "json").stdout)
    assert listing[0]["study"] == "cli" and listing[0]["done"] == 4


def test_delete(ran, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("tune", "delete", "cli", "--yes").returncode == 0
    gone = cli("tune", "status", "cli")
    assert gone.returncode == 1 and "no study named 'cli'" in gone.stderr


def test_unknown_study_suggests_the_close_one(ran, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("tune", "results", "clj")
    assert result.returncode == 1
    assert "error: no study named 'clj' (did you mean 'cli'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_same_name_different_spec_is_refused(ran, workdir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    other = write_spec(workdir, SPEC.replace("[3, 5, 4]", "[3, 5]"), "other.yaml")
    result = cli("tune", "run", str(other))
    assert result.returncode == 1
    assert "study 'cli' already exists in the store with a different spec" in result.stderr
    assert "kubelab tune delete cli" in result.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (["tune", "run", "missing.yaml"], 1, "missing.yaml: file not found"),
    (["tune", "run", "spec.yaml", "--workers", "-1"], 2, "Invalid value for '-w' / '--workers'"),
    (["tune", "run", "spec.yaml", "--store", "mysql://x"], 1, "unsupported store URL 'mysql://x'"),
    (["tune", "run", "spec.yaml", "--broker", "redis://x", "--workers", "0"], 1, "unsupported broker URL 'redis://x'"),
    (["tune", "run", "spec.yaml", "--workers", "0"], 1, "--workers 0 needs remote workers"),
    (["tune", "status", "x", "--format", "xml"], 2, "Invalid value for '--format'"),
    (["tune", "list", "--store", "sqlite:////proc/forbidden/k.db"], 1,
     "error: cannot open the store at sqlite:////proc/forbidden/k.db"),
])
def test_bad_arguments(workdir: Path, cli, args: list[str], code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    write_spec(workdir, SPEC)
    result = cli(*args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_store_from_environment(workdir: Path, cli) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(workdir, SPEC)
    env = {"KUBELAB_STORE": f"sqlite:///{workdir / 'env.db'}"}
    assert cli("tune", "run", str(spec), env=env).returncode == 0
    assert (workdir / "env.db").exists() and not (workdir / ".kubelab").exists()
    assert json.loads(cli("tune", "status", "cli", "--format", "json", env=env).stdout)["done"] == 4


def test_help_has_examples(cli) -> None:  # type: ignore[no-untyped-def]
    for cmd in (["tune"], ["tune", "run"], ["tune", "results"]):
        result = cli(*cmd, "--help")
        assert result.returncode == 0 and "kubelab tune" in result.stdout
    assert "Examples:" in cli("tune", "run", "--help").stdout
