"""Writing a render: generated secrets kept across renders, determinism, and unusable output directories."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from kubelab.errors import RenderError
from kubelab.kube import CREATE_ONLY_ANNOTATION, SOURCE_ANNOTATION
from kubelab.lab.render import SecretBank, read_secrets, render_lab, render_to_directory
from tests.lab.render_helpers import FULL, full_lab

DEFAULT_PASSWORDS = {"guest", "postgres", "password", "admin", "kubelab", "changeme", ""}


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_secrets_are_random_and_never_defaults(tmp_path: Path) -> None:
    rendered = render_to_directory(full_lab(), tmp_path / "a")
    kept = read_secrets(tmp_path / "a" / "secrets")
    assert set(kept) == {"rabbitmq", "postgresql", "model-rul", "model-classifier"}
    drawn = [kept["rabbitmq"]["password"], kept["postgresql"]["password"], kept["model-rul"]["token"],
             kept["model-classifier"]["token"]]
    assert len(set(drawn)) == 4
    for value in drawn:
        assert value not in DEFAULT_PASSWORDS
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", value)  # 24 random bytes, URL-safe (used inside URLs)
    assert kept["rabbitmq"]["url"] == (f"amqp://kubelab:{drawn[0]}@rabbitmq.full-lab.svc:5672/%2F"
                                       "?queue=kubelab.tune")
    assert kept["postgresql"]["url"] == f"postgresql://kubelab:{drawn[1]}@postgresql.full-lab.svc:5432/kubelab"
    assert len(rendered.generated) == 4
    for secret in rendered.secrets.values():
        annotations = secret["metadata"]["annotations"]
        assert annotations[CREATE_ONLY_ANNOTATION] == "true"  # the key apply reads: keep a live one, never rotate
        assert set(annotations) == {SOURCE_ANNOTATION, CREATE_ONLY_ANNOTATION}  # no second marker of the same
    assert (tmp_path / "a" / "secrets").stat().st_mode & 0o777 == 0o700
    for path in (tmp_path / "a" / "secrets").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert "secrets/" in (tmp_path / "a" / ".gitignore").read_text().splitlines()


def test_a_second_render_keeps_the_secrets_and_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render_to_directory(full_lab(), out)
    first = _files(out)
    again = render_to_directory(full_lab(), out, force=True)
    assert again.generated == ()
    assert _files(out) == first


def test_editing_the_definition_keeps_existing_secrets(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render_to_directory(full_lab(), out)
    before = read_secrets(out / "secrets")
    edited = full_lab(**{"replicas: 2": "replicas: 3"})
    rendered = render_to_directory(edited, out, force=True)
    assert rendered.generated == ()
    assert read_secrets(out / "secrets") == before


def test_a_new_directory_draws_new_secrets(tmp_path: Path) -> None:
    render_to_directory(full_lab(), tmp_path / "a")
    render_to_directory(full_lab(), tmp_path / "b")
    a, b = read_secrets(tmp_path / "a" / "secrets"), read_secrets(tmp_path / "b" / "secrets")
    assert a["postgresql"]["password"] != b["postgresql"]["password"]


def test_rendering_is_deterministic_given_the_same_secrets() -> None:
    def bank() -> SecretBank:
        counter = iter(range(100))
        return SecretBank(token=lambda: f"token-{next(counter):04d}")

    one, two = render_lab(full_lab(), bank=bank()), render_lab(full_lab(), bank=bank())
    assert one == two
    assert one.secrets["secrets/postgresql.yaml"]["stringData"]["password"] == "token-0001"


def test_a_secret_in_data_form_is_read_back(tmp_path: Path) -> None:
    (tmp_path / "rabbitmq.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rabbitmq"}, "data": {"password": "czNjcjN0"}}))
    assert read_secrets(tmp_path) == {"rabbitmq": {"password": "s3cr3t"}}


def test_an_unreadable_kept_secret_stops_the_render(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render_to_directory(full_lab(), out)
    broken = out / "secrets" / "postgresql.yaml"
    broken.write_text("kind: ConfigMap\n")
    with pytest.raises(RenderError) as info:
        render_to_directory(full_lab(), out, force=True)
    assert str(info.value) == (
        f"{broken}: cannot read the secret kept from an earlier render (not a Kubernetes Secret); hint: fix or "
        "delete the file (deleting it makes a new password, which breaks a deployed lab until it is applied again)")


def test_a_non_empty_directory_needs_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RenderError) as info:
        render_to_directory(full_lab(), tmp_path)
    assert str(info.value) == (f"{tmp_path}: the directory is not empty; hint: pass --force to render over it (the "
                               "generated secrets in its secrets/ are kept), or choose an empty or new directory")
    render_to_directory(full_lab(), tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"  # force replaces rendered files only


def test_force_removes_files_the_definition_no_longer_produces(tmp_path: Path) -> None:
    render_to_directory(full_lab(), tmp_path)
    assert (tmp_path / "manifests" / "40-model-classifier.yaml").exists()
    start = FULL.index("  - name: classifier")
    render_to_directory(full_lab(FULL[:start]), tmp_path, force=True)
    assert not (tmp_path / "manifests" / "40-model-classifier.yaml").exists()
    assert (tmp_path / "manifests" / "40-model-rul.yaml").exists()


def test_an_out_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("")
    with pytest.raises(RenderError) as info:
        render_to_directory(full_lab(), target)
    assert str(info.value) == f"{target}: exists and is not a directory; hint: choose a directory with --out"


def test_an_out_directory_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "out"
    with pytest.raises(RenderError) as info:
        render_to_directory(full_lab(), target)
    assert str(info.value) == f"{target}: cannot write there (Not a directory); hint: choose a directory you can " \
                              "write to with --out"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory(tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    try:
        with pytest.raises(RenderError) as info:
            render_to_directory(full_lab(), target)
        assert str(info.value).startswith(f"{target}: cannot write there (Permission denied)")
    finally:
        target.chmod(0o700)


def test_written_yaml_reads_back_as_rendered(tmp_path: Path) -> None:
    rendered = render_to_directory(full_lab(), tmp_path)
    for rel, objects in rendered.manifests.items():
        text = (tmp_path / rel).read_text()
        assert list(yaml.safe_load_all(text)) == objects, rel
        assert "&id" not in text and "*id" not in text, rel  # no anchors: each object stands alone
    broker = (tmp_path / "manifests" / "10-rabbitmq.yaml").read_text()
    assert "  10-kubelab.conf: |\n    # rendered by kubelab" in broker
    values = yaml.safe_load((tmp_path / "jupyterhub" / "values.yaml").read_text())
    assert values == rendered.hub_values
