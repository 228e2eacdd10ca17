"""Reading rendered manifests, and the CLI's apply progress lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab.cli._kube import ApplyPrinter
from kubelab.errors import ClusterError
from kubelab.kube import ApplyEvent, load_manifests


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
