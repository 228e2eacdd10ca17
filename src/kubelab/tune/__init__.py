"""Parameter search: grid, random and TPE over estimators or user functions, every result exactly once.

    >>> import kubelab.tune
    >>> result = kubelab.tune.run("examples/turbofan-small.yaml", workers=2)   # doctest: +SKIP
    >>> result.best.params                                                      # doctest: +SKIP

Exports are imported on first use, so a trial process that imports one private module does not pay for
the coordinator's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubelab.tune._api import load_spec, results, run, status
    from kubelab.tune._run import Progress, RunResult
    from kubelab.tune._spec import StudySpec

_EXPORTS = {"load_spec": "_api", "results": "_api", "run": "_api", "status": "_api", "Progress": "_run",
            "RunResult": "_run", "StudySpec": "_spec"}

__all__ = ["Progress", "RunResult", "StudySpec", "load_spec", "results", "run", "status"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kubelab.tune' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kubelab.tune.{module}"), name)
    globals()[name] = value
    return value
