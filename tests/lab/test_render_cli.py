"""`kubelab lab render` as a user runs it: output, JSON, and every argument a user can get wrong."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, run_cli
from tests.lab.render_helpers import FULL

EXAMPLE = str(ROOT / "examples" / "lab.yaml")


def test_render_with_validation(tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    done = run_cli(["lab", "render", EXAMPLE, "--out", str(out), "--validate"])
    assert done.returncode == 0, done.stderr
    listed = done.stdout.splitlines()
    assert str(out / "manifests" / "00-namespace.yaml") in listed
    assert str(out / "jupyterhub" / "values.yaml") in listed
    assert str(out / "terraform" / "main.tf") in listed
    assert str(out / "README.md") in listed
    assert all(Path(p).is_file() for p in listed)
    assert "new secrets drawn: rabbitmq/password, postgresql/password, model-turbofan-rul/token" in done.stderr
    assert "18 objects validated" in done.stderr
    readme = (out / "README.md").read_text()
    assert ("helm upgrade --cleanup-on-fail --install jupyterhub jupyterhub --repo https://hub.jupyter.org/helm-chart/"
            " --version 4.4.0 --namespace turbofan-lab --values jupyterhub/values.yaml") in readme
    assert "kubectl -n turbofan-lab create secret generic github-oauth --from-literal=client-secret=..." in readme
    assert "kubectl -n turbofan-lab port-forward svc/rabbitmq 5672 &" in readme  # how studies are submitted
    assert "metrics-server/releases/latest/download/components.yaml" in readme  # the model's HPA needs it
    assert readme.index("helm upgrade --install keda") < readme.index("-f secrets/ -f manifests/")


def test_render_again_as_json(tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    assert run_cli(["lab", "render", EXAMPLE, "--out", str(out)]).returncode == 0
    done = run_cli(["lab", "render", EXAMPLE, "--out", str(out), "--force", "--format", "json"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["generated_secrets"] == []
    assert report["objects"] == 18 and report["validated"] is False
    assert "manifests/20-tune-worker.yaml" in report["files"]
    assert report["helm"].startswith("helm upgrade --cleanup-on-fail --install jupyterhub jupyterhub ")


def test_a_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    done = run_cli(["lab", "render", EXAMPLE, "--out", str(tmp_path)])
    assert done.returncode == 1
    assert done.stderr == (f"error: {tmp_path}: the directory is not empty; hint: pass --force to render over it "
                           "(the generated secrets in its secrets/ are kept), or choose an empty or new directory\n")


def test_an_unwritable_out_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = run_cli(["lab", "render", EXAMPLE, "--out", str(tmp_path / "file" / "out")])
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {tmp_path / 'file' / 'out'}: cannot write there (Not a directory)")


def test_a_definition_with_errors_renders_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "lab.yaml"
    bad.write_text(FULL.replace("cull: {idle_timeout: 1h, every: 10m}", "cull: {idle_timout: 1h}"))
    out = tmp_path / "out"
    done = run_cli(["lab", "render", str(bad), "--out", str(out)])
    assert done.returncode == 1
    assert done.stderr == (f"error: 1 problem found:\n  {bad}:28:10: workbench.cull.idle_timout: unknown key "
                           "'idle_timout'; hint: did you mean 'idle_timeout'?\n")
    assert not out.exists()


def test_warnings_are_shown_and_the_render_goes_on(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(FULL.replace("cull: {idle_timeout: 1h, every: 10m}",
                                "cull: {idle_timeout: 15m, every: 10m}\n  start_timeout: 20m"))
    done = run_cli(["lab", "render", str(lab), "--out", str(tmp_path / "out")])
    assert done.returncode == 0, done.stderr
    assert f"warning: {lab}:28:24: workbench.cull.idle_timeout: 15m idle culls a server" in done.stderr
    assert (tmp_path / "out" / "jupyterhub" / "values.yaml").is_file()


def test_a_missing_file(tmp_path: Path) -> None:
    done = run_cli(["lab", "render", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")])
    assert done.returncode == 1
    assert done.stderr == f"error: 1 problem found:\n  {tmp_path / 'nope.yaml'}: file not found\n"
    assert not (tmp_path / "out").exists()


def test_a_format_render_does_not_speak(tmp_path: Path) -> None:
    done = run_cli(["lab", "render", EXAMPLE, "--out", str(tmp_path / "out"), "--format", "csv"])
    assert done.returncode == 2
    assert "Invalid value for '--format': 'csv' is not one of 'table', 'json'." in done.stderr


def test_out_is_required() -> None:
    done = run_cli(["lab", "render", EXAMPLE])
    assert done.returncode == 2
    assert "Missing option '--out'" in done.stderr


def test_help_has_examples() -> None:
    done = run_cli(["lab", "render", "--help"])
    assert done.returncode == 0
    assert "Examples:" in done.stdout and "kubelab lab render lab.yaml --out deploy/" in done.stdout
