"""Read Kubernetes objects from YAML files or directories (what ``kubelab lab render`` writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelab.errors import ClusterError

__all__ = ["load_manifests"]


def load_manifests(*paths: str | Path) -> list[dict[str, Any]]:
    """Every object in ``paths`` (files, or directories read recursively in name order, ``*.yaml``/``*.yml``;
    multi-document files and ``kind: List`` are expanded). Empty documents are skipped."""
    import yaml

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise ClusterError(f"{p}: no such file or directory")
    objects: list[dict[str, Any]] = []
    for f in files:
        try:
            docs = list(yaml.safe_load_all(f.read_text()))
        except yaml.YAMLError as exc:
            raise ClusterError(f"{f}: not valid YAML: {exc}") from None
        for n, doc in enumerate(docs, 1):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise ClusterError(f"{f}: document {n} is not a Kubernetes object (a mapping)")
            objects.extend(doc.get("items") or [] if doc.get("kind") == "List" else [doc])
    return objects
