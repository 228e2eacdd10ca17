"""Lazy exports of a package: its public names are imported from their private modules on first use.

    __getattr__, __dir__ = lazy_exports(__name__, {"Lab": "._model", "parse": "._loader:parse_lab"}, __all__)

A package keeps ``import kubelab.x`` cheap this way: nothing behind a name is imported until the name is read.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str],
                 public: Iterable[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> ``"module:attr"``, or ``"module"`` where the attribute has the public name; a
            module starting with ``.`` is relative to ``package``.
        public: The names ``dir()`` lists (the package's ``__all__``).
    """
    names = sorted(public)

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module, package), attr or name)
        setattr(sys.modules[package], name, value)  # the next read does not come here
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__
