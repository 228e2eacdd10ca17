"""Parameter search: grid, random and TPE over estimators or user functions, every result exactly once.

    >>> import kubelab.tune
    >>> result = kubelab.tune.run("examples/turbofan-small.yaml", workers=2)   # doctest: +SKIP
    >>> result.best.params                                                      # doctest: +SKIP

Exports are imported on first use, so a trial process that imports one private module does not pay for
the coordinator's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelab._lazy import lazy_exports

if TYPE_CHECKING:
    from kubelab.tune._api import load_spec, results, run, status
    from kubelab.tune._run import Progress, RunResult
    from kubelab.tune._spec import StudySpec

__all__ = ["Progress", "RunResult", "StudySpec", "load_spec", "results", "run", "status"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "load_spec": "._api", "results": "._api", "run": "._api", "status": "._api", "Progress": "._run",
    "RunResult": "._run", "StudySpec": "._spec"}, __all__)
