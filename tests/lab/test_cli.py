from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import jsonschema
import yaml

from tests.lab.conftest import BASE, position
from tests.lab.test_check import EKS, GENERIC, GKE, SEED_000

Cli = Callable[..., CompletedProcess[str]]


def test_check_ok(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(BASE)
    result = cli("lab", "check", "lab.yaml")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "lab.yaml: ok\n")


def test_check_errors_exit_1_with_every_problem(cli: Cli, tmp_path: Path) -> None:
    text = SEED_000.replace("guarantee: 800M", "guarantee: 1G").replace("start_timeout: 10m", "start_timeout: 5m")
    (tmp_path / "lab.yaml").write_text(text)
    result = cli("lab", "check", "lab.yaml")
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert len(out) == 2
    assert out[0].startswith(f"error: lab.yaml:{position(text, '1G,')}: workbench.memory.guarantee: a user server "
                             "does not fit on pool 'users'")
    assert out[1].startswith(f"error: lab.yaml:{position(text, '5m')}: workbench.start_timeout: 5m is shorter")
    assert result.stderr == "error: lab.yaml: 2 errors\n"


def test_check_warnings_exit_0(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(BASE.replace("2024-12-09", "latest"))
    result = cli("lab", "check", "lab.yaml")
    assert result.returncode == 0
    assert result.stdout.startswith("warning: lab.yaml:")
    assert result.stderr == "lab.yaml: 1 warning\n"
    strict = cli("lab", "check", "lab.yaml", "--strict")
    assert (strict.returncode, strict.stderr) == (1, "error: lab.yaml: 1 warning\n")


def test_check_stdin(tmp_path: Path) -> None:
    import subprocess
    import sys

    text = BASE.replace("  region: fra1", "  regoin: fra1")
    result = subprocess.run([sys.executable, "-m", "kubelab", "lab", "check", "-"], input=text, text=True,
                            capture_output=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert f"error: <stdin>:{position(text, 'regoin')}: provider.regoin: unknown key 'regoin'" in result.stdout


def test_check_json(cli: Cli, tmp_path: Path) -> None:
    text = BASE.replace("  region: fra1", "  regoin: fra1")
    (tmp_path / "lab.yaml").write_text(text)
    result = cli("lab", "check", "lab.yaml", "--format", "json")
    assert result.returncode == 1
    line, column = map(int, position(text, "regoin").split(":"))
    assert json.loads(result.stdout) == {
        "file": "lab.yaml", "ok": False, "errors": 2, "warnings": 0,
        "findings": [
            {"severity": "error", "file": "lab.yaml", "line": line - 1, "column": 3, "path": "provider",
             "message": "required key 'region' is missing", "hint": "add region: …"},
            {"severity": "error", "file": "lab.yaml", "line": line, "column": column, "path": "provider.regoin",
             "message": "unknown key 'regoin'", "hint": "did you mean 'region'?"}]}


def test_check_bad_paths_and_args(cli: Cli, tmp_path: Path) -> None:
    result = cli("lab", "check", "missing.yaml")
    assert (result.returncode, result.stderr) == (1, "error: 1 problem found:\n  missing.yaml: file not found\n")
    (tmp_path / "d").mkdir()
    result = cli("lab", "check", "d")
    assert result.returncode == 2 and "is a directory" in result.stderr
    result = cli("lab", "check")
    assert result.returncode == 2 and "Missing argument 'FILE'" in result.stderr
    (tmp_path / "lab.yaml").write_text(BASE)
    result = cli("lab", "check", "lab.yaml", "--format", "xml")
    assert result.returncode == 2 and "'xml' is not one of 'table', 'json'" in result.stderr


def test_init_writes_a_starter_that_passes_check(cli: Cli, tmp_path: Path) -> None:
    result = cli("lab", "init")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "wrote lab.yaml; next: kubelab lab check lab.yaml\n"
    text = (tmp_path / "lab.yaml").read_text()
    data = yaml.safe_load(text)
    assert set(data) == {"apiVersion", "kind", "metadata", "provider", "pools", "users", "auth", "workbench",
                         "tuning", "models", "budget"}
    assert text.count("#") > 20  # commented
    check = cli("lab", "check", "lab.yaml")
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "lab.yaml: ok\n")
    cost = cli("lab", "cost", "lab.yaml", "--format", "json")
    assert cost.returncode == 0 and json.loads(cost.stdout)["findings"] == []  # within its own budget


def test_init_refuses_to_overwrite_and_bad_dirs(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text("mine\n")
    result = cli("lab", "init")
    assert (result.returncode, result.stderr) == (
        1, "error: lab.yaml already exists; use --force to overwrite it, or give another path\n")
    assert (tmp_path / "lab.yaml").read_text() == "mine\n"
    assert cli("lab", "init", "--force").returncode == 0
    assert (tmp_path / "lab.yaml").read_text().startswith("# A kubelab lab definition")
    result = cli("lab", "init", "no/such/dir/lab.yaml")
    assert (result.returncode, result.stderr) == (1, "error: no/such/dir is not a directory; create it first\n")
    result = cli("lab", "init", "-")
    assert result.returncode == 0 and result.stdout.startswith("# A kubelab lab definition")


def test_schema_is_valid_and_accepts_the_starter(cli: Cli) -> None:
    result = cli("lab", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    starter = yaml.safe_load(cli("lab", "init", "-").stdout)
    assert list(validator.iter_errors(starter)) == []
    example = (Path(__file__).resolve().parents[2] / "examples" / "lab.yaml").read_text()
    for text in (SEED_000, GKE, EKS, GENERIC, BASE, example):  # every valid file is valid for editors too
        assert list(validator.iter_errors(yaml.safe_load(text))) == []
    bad = {**starter, "provider": {**starter["provider"], "name": "azure"}, "extra": 1}
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert messages == ["'azure' is not one of ['digitalocean', 'gke', 'eks', 'generic']",
                        "Additional properties are not allowed ('extra' was unexpected)"]


def test_help_has_examples(cli: Cli) -> None:
    for args in (("lab", "--help"), ("lab", "check", "--help"), ("lab", "init", "--help"), ("lab", "schema", "--help")):
        result = cli(*args)
        assert result.returncode == 0 and "Examples:" in result.stdout, args


def test_init_for_each_provider_passes_check_and_cost(cli: Cli, tmp_path: Path) -> None:
    for provider in ("digitalocean", "gke", "eks"):
        result = cli("lab", "init", f"{provider}.yaml", "--provider", provider)
        assert result.returncode == 0, result.stderr
        assert yaml.safe_load((tmp_path / f"{provider}.yaml").read_text())["provider"]["name"] == provider
        check = cli("lab", "check", f"{provider}.yaml", "--strict")
        assert (check.returncode, check.stdout) == (0, ""), check.stdout
        cost = cli("lab", "cost", f"{provider}.yaml", "--format", "json")
        assert cost.returncode == 0 and json.loads(cost.stdout)["findings"] == [], provider
    result = cli("lab", "init", "x.yaml", "--provider", "azure")
    assert result.returncode == 2 and "'azure' is not one of 'digitalocean', 'gke', 'eks'" in result.stderr
