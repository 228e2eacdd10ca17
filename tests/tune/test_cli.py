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


# what `tune results` may import of kubelab: the command, the store and its driver; never the spec parser, the
# coordinator, yaml, pydantic, numpy or the broker (the whole command has a 200 ms budget; psycopg is most of it)
_RESULTS_MODULES = {"kubelab", "kubelab._deps", "kubelab._lazy", "kubelab.cli", "kubelab.cli._output",
                    "kubelab.cli.tune", "kubelab.errors", "kubelab.store", "kubelab.store._base", "kubelab.store._sql",
                    "kubelab.tune", "kubelab.tune._api"}
_HEAVY = ("yaml", "pydantic", "numpy", "rich", "optuna", "psutil", "sklearn", "pika", "pandas", "threadpoolctl")


def _results_imports(store: str) -> tuple[str, set[str], list[str]]:
    """Run `kubelab tune results s --top 10` in a fresh interpreter: its output, the kubelab modules it
    imported, and the heavy ones."""
    import subprocess
    import sys

    from kubelab.store import get_store

    opened = get_store(store)
    study = opened.create_study("s", "{}", "d", "maximize", "grid", 2)
    opened.add_trials(study.id, [(0, 0, "m", "{}"), (1, 0, "m", "{}")])
    opened.close()
    code = ("import sys\nfrom kubelab.cli import main\n"
            f"code = main(['tune', 'results', 's', '--top', '10', '--store', {store!r}])\n"
            "import json\n"
            "print('MODULES', json.dumps(sorted(m for m in sys.modules if m.startswith('kubelab'))))\n"
            f"print('HEAVY', json.dumps([m for m in {_HEAVY!r} if m in sys.modules]))\n"
            "sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.startswith(("MODULES", "HEAVY")))
    return out.stdout, set(json.loads(lines["MODULES"])), json.loads(lines["HEAVY"])


def test_results_imports_only_the_store(tmp_path: Path) -> None:
    stdout, modules, heavy = _results_imports(f"sqlite:///{tmp_path / 'k.db'}")
    assert "NUMBER" in stdout
    assert heavy == [] and modules == _RESULTS_MODULES - {"kubelab._deps"}  # _deps: for psycopg


@pytest.mark.services
def test_results_on_postgresql_imports_only_the_store_and_psycopg(pg_url: str) -> None:
    stdout, modules, heavy = _results_imports(pg_url)
    assert "NUMBER" in stdout
    assert heavy == [] and modules == _RESULTS_MODULES
