"""Reading rendered manifests, and the CLI side of an apply (progress lines, summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubelab.cli._kube import ApplyPrinter, run_apply
from kubelab.errors import ClusterError
from kubelab.kube import ApplyEvent, load_manifests
from tests.kube.conftest import configmap, namespace
from tests.kube.fake_apiserver import FakeKubeAPI


def test_files_directories_multi_documents_and_lists(tmp_path: Path) -> None:
    (tmp_path / "m" / "sub").mkdir(parents=True)
    (tmp_path / "m" / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n---\n---\n"
                                           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (tmp_path / "m" / "sub" / "b.yml").write_text("apiVersion: v1\nkind: List\nitems:\n"
                                                  "- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n")
    (tmp_path / "m" / "notes.txt").write_text("not a manifest")
    objects = load_manifests(tmp_path / "m")
    assert [o["kind"] for o in objects] == ["Namespace", "ConfigMap", "Secret"]


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match=f"{tmp_path / 'nope'}: no such file or directory"):
        load_manifests(tmp_path / "nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n")
    with pytest.raises(ClusterError, match=f"{bad}: not valid YAML"):
        load_manifests(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ClusterError, match=f"{bad}: document 1 is not a Kubernetes object"):
        load_manifests(bad)


def test_apply_printer(capsys: pytest.CaptureFixture[str]) -> None:
    printer = ApplyPrinter(dry_run=True)
    printer(ApplyEvent("created", "Deployment lab/workers", "workers"))
    printer(ApplyEvent("waiting", "Deployment lab/workers", "workers", "1/2 ready"))
    assert capsys.readouterr().err.splitlines() == [
        "created    Deployment lab/workers  (workers) (dry run)",
        "waiting    Deployment lab/workers  (workers)  1/2 ready",
    ]


def test_run_apply_prints_progress_and_a_summary(fake: FakeKubeAPI, kubeconfig: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    objects = [namespace("lab"), configmap("c", {"a": "1"})]
    run_apply(objects, lab="demo", kubeconfig=str(kubeconfig), dry_run=True)
    out, err = capsys.readouterr()
    assert out == "demo: 2 would be created, 0 would be configured, 0 would be unchanged, 0 would be pruned\n"
    assert err.splitlines()[0] == f"applying 2 objects of lab demo to {fake.url} (context fake) as a server-side " \
                                  "dry run"
    run_apply(objects, lab="demo", kubeconfig=str(kubeconfig))
    capsys.readouterr()
    run_apply(objects[:1], lab="demo", kubeconfig=str(kubeconfig), fmt="json")
    summary = json.loads(capsys.readouterr().out)
    assert (summary["unchanged"], summary["pruned"]) == (1, 1)
    assert summary["steps"][1] == {"action": "pruned", "object": "ConfigMap lab/c", "source": None, "detail": ""}
