"""Stores: where studies, trials and results live. Chosen by URL; the default is a SQLite file.

``get_store(url)``: no URL → ``KUBELAB_STORE`` → ``sqlite:///.kubelab/kubelab.db``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kubelab.errors import KubelabError
from kubelab.store._base import FINAL, STATUSES, Chunk, Store, Study, TrialResult, TrialRow

__all__ = ["DEFAULT_STORE", "FINAL", "STATUSES", "Chunk", "Store", "Study", "TrialResult", "TrialRow",
           "get_store", "resolve_store_url"]

DEFAULT_STORE = "sqlite:///.kubelab/kubelab.db"

# scheme -> "module:Class", imported lazily
_BACKENDS = {
    "sqlite": "kubelab.store._sql:SQLStore",
    "postgresql": "kubelab.store._sql:SQLStore",
    "postgres": "kubelab.store._sql:SQLStore",
}


def resolve_store_url(url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Flag > ``KUBELAB_STORE`` > the default SQLite file."""
    env = os.environ if environ is None else environ
    return url or env.get("KUBELAB_STORE") or DEFAULT_STORE


def get_store(url: str | None = None, environ: Mapping[str, str] | None = None) -> Store:
    """Open the store at ``url`` (see ``resolve_store_url``)."""
    import importlib

    resolved = resolve_store_url(url, environ)
    scheme = resolved.split(":", 1)[0].split("+", 1)[0]
    target = _BACKENDS.get(scheme)
    if target is None or "://" not in resolved:
        raise KubelabError(f"unsupported store URL '{resolved}'; use sqlite:///path.db or "
                           "postgresql://user@host:5432/dbname")
    module, cls = target.split(":")
    store: Store = getattr(importlib.import_module(module), cls)(resolved)
    return store
