"""Parameter search: grid, random and TPE over estimators or user functions, every result exactly once.

    >>> import kubelab.tune
    >>> result = kubelab.tune.run("examples/turbofan-small.yaml", workers=2)   # doctest: +SKIP
    >>> result.best.params                                                      # doctest: +SKIP
"""

from kubelab.tune._api import load_spec, results, run, status
from kubelab.tune._run import Progress, RunResult
from kubelab.tune._spec import StudySpec

__all__ = ["Progress", "RunResult", "StudySpec", "load_spec", "results", "run", "status"]
