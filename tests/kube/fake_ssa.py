"""Server-side apply as the fake API server models it: leaf fields, owned by field managers.

An object's applied content is flattened into leaf paths (a scalar, a list, or an empty mapping). Each leaf
remembers which managers applied it. Applying config C as manager M:

- a leaf of C whose current value differs and is owned by another manager is a conflict (HTTP 409), unless
  ``force``, which takes the leaf from them;
- leaves M owned before but left out of C lose M; a leaf nobody owns any more is removed;
- the object's content is the union of all leaves; it "changed" only if a leaf value changed.

What real SSA does and this does not: lists are atomic here (Kubernetes merges ``containers``, ``ports``,
``env``… by key); no schema defaulting; ``managedFields`` is a simplified rendering of ownership.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str, ...]
# Set by the server, never part of the applied content.
SERVER_META = {"resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink"}


def flatten(obj: dict[str, Any]) -> dict[Path, Any]:
    """Leaf path → value for the applied part of ``obj`` (no apiVersion/kind/status/server metadata)."""
    out: dict[Path, Any] = {}

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, (*path, str(key)))
        else:
            out[path] = node

    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            for mk, mv in (value or {}).items():
                if mk not in SERVER_META and mk not in ("name", "namespace"):
                    walk(mv, ("metadata", mk))
            continue
        walk(value, (key,))
    return out


def unflatten(fields: dict[Path, Any]) -> dict[str, Any]:
    """The nested mapping of ``fields``."""
    root: dict[str, Any] = {}
    for path, value in sorted(fields.items()):
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return root


class Conflict(Exception):
    """Leaves owned by other managers with other values: (path, managers) pairs."""

    def __init__(self, conflicts: list[tuple[Path, set[str]]]) -> None:
        self.conflicts = conflicts
        super().__init__(conflicts)


def apply(fields: dict[Path, Any], owners: dict[Path, set[str]], config: dict[str, Any], manager: str,
          force: bool) -> tuple[dict[Path, Any], dict[Path, set[str]]]:
    """New (fields, owners) after ``manager`` applies ``config``; raises Conflict."""
    applied = flatten(config)
    new_fields = dict(fields)
    new_owners = {p: set(m) for p, m in owners.items()}
    conflicts = []
    for path, value in applied.items():
        others = new_owners.get(path, set()) - {manager}
        if others and path in new_fields and new_fields[path] != value:
            if not force:
                conflicts.append((path, others))
            new_owners[path] = set()
    if conflicts:
        raise Conflict(conflicts)
    for path in [p for p, m in new_owners.items() if manager in m and p not in applied]:
        new_owners[path].discard(manager)
        if not new_owners[path]:
            del new_owners[path]
            new_fields.pop(path, None)
    for path, value in applied.items():
        new_fields[path] = value
        new_owners.setdefault(path, set()).add(manager)
    return new_fields, new_owners


def managed_fields(owners: dict[Path, set[str]], api_version: str) -> list[dict[str, Any]]:
    """A simplified ``metadata.managedFields``: one Apply entry per manager with its ``f:`` tree."""
    by_manager: dict[str, dict[str, Any]] = {}
    for path, managers in owners.items():
        for manager in managers:
            node = by_manager.setdefault(manager, {})
            for key in path:
                node = node.setdefault(f"f:{key}", {})
    return [{"manager": m, "operation": "Apply", "apiVersion": api_version, "fieldsType": "FieldsV1",
             "fieldsV1": tree} for m, tree in sorted(by_manager.items())]
