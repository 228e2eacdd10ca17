"""Writing a rendered lab to a directory: refuse a directory that holds other things, keep the secrets.

A directory is written when it does not exist, is empty, or ``force`` is given; with ``force``, files an
earlier render wrote that this one no longer produces (a model removed from the definition) are deleted
from ``manifests/`` and ``terraform/``, and ``secrets/`` is read back first, so passwords stay the same.
Each file is written to a temporary name and renamed, so an interrupted render leaves no half file; a file
whose text has not changed is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kubelab.errors import RenderError
from kubelab.lab._model import Lab
from kubelab.lab.render._render import Rendered, Sizing, render_lab
from kubelab.lab.render._secrets import SecretBank, read_secrets
from kubelab.lab.render._validate import KUBERNETES_VERSIONS, validate_hub_values, validate_objects

__all__ = ["dump_yaml", "render_to_directory", "write_rendered"]

_OWNED = {"manifests": ".yaml", "terraform": ".tf"}


def dump_yaml(documents: list[Any]) -> str:
    """YAML documents in block style, keys in insertion order, no anchors or aliases, multi-line text as ``|``."""
    import yaml

    base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: Any, data: str) -> Any:  # multi-line text (config files, scripts) as a literal block
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)

    Dumper.add_representer(str, text)

    return yaml.dump_all(documents, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=10_000,
                         allow_unicode=True)


def _check_directory(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RenderError(f"{out}: exists and is not a directory; hint: choose a directory with --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise RenderError(f"{out}: the directory is not empty; hint: pass --force to render over it (the "
                          "generated secrets in its secrets/ are kept), or choose an empty or new directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".kubelab-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise RenderError(f"{out}: cannot write there ({exc.strerror or exc}); hint: choose a directory you can "
                          "write to with --out") from None


def _write(path: Path, text: str, private: bool = False) -> None:
    path.parent.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return  # unchanged: keep the file (and its time stamp) as it is
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_rendered(rendered: Rendered, out: Path) -> list[Path]:
    """Write ``rendered`` under ``out`` (which must be usable: see ``render_to_directory``); the paths written."""
    files: dict[str, tuple[str, bool]] = {}
    for rel, objects in rendered.manifests.items():
        files[rel] = (dump_yaml(objects), False)
    for rel, secret in rendered.secrets.items():
        files[rel] = (dump_yaml([secret]), True)
    if rendered.hub_values is not None:
        files["jupyterhub/values.yaml"] = ("# zero-to-jupyterhub values rendered by kubelab\n"
                                           + dump_yaml([rendered.hub_values]), False)
    for rel, text in rendered.texts.items():
        files[rel] = (text, False)
    try:
        for sub, suffix in _OWNED.items():
            for stale in sorted((out / sub).glob(f"*{suffix}")):
                if f"{sub}/{stale.name}" not in files:
                    stale.unlink()
        for rel, (text, private) in files.items():
            _write(out / rel, text, private)
    except OSError as exc:
        raise RenderError(f"{out}: cannot write ({exc}); hint: check the directory's permissions") from None
    return [out / rel for rel in files]


def render_to_directory(lab: Lab, out: Path, *, force: bool = False, validate: bool = False,
                        versions: tuple[str, ...] = KUBERNETES_VERSIONS, sizing: Sizing | None = None) -> Rendered:
    """Render ``lab`` into ``out``, keeping the secrets of an earlier render there.

    Args:
        lab: the definition (already checked).
        out: the output directory; created if missing.
        force: render into a directory that is not empty.
        validate: check every object against the Kubernetes schemas of ``versions`` and the values against
            the chart's schema before writing anything.
        versions: Kubernetes minor versions for ``validate``.
        sizing: node room and scale-up times for the derived JupyterHub settings.

    Raises:
        RenderError: the directory cannot be used, its kept secrets cannot be read, or (``validate``) a
            rendered file fails its schema.
    """
    _check_directory(out, force)
    bank = SecretBank(read_secrets(out / "secrets"))
    rendered = render_lab(lab, sizing=sizing, bank=bank)
    if validate:
        problems = validate_objects(rendered.objects(), versions)
        if rendered.hub_values is not None:
            problems += validate_hub_values(rendered.hub_values)
        if problems:
            raise RenderError("rendered files fail their schemas (a kubelab bug; please report it):\n"
                              + "\n".join(f"  {p}" for p in problems))
    write_rendered(rendered, out)
    return rendered
