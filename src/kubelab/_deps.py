"""Import optional dependencies late, failing with the `pip install` line that fixes it."""

from __future__ import annotations

import importlib
from types import ModuleType

from kubelab.errors import MissingDependency

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise MissingDependency naming the kubelab extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and module.split(".")[0] != exc.name.split(".")[0]:
            raise  # the module exists but one of *its* imports is broken: show that
        raise MissingDependency(module.split(".")[0], extra) from None
