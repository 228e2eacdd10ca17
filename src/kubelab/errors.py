"""The one exception tree of kubelab.

Every error kubelab raises on purpose is a ``KubelabError``; the CLI prints its message (no traceback,
exit code 1). Third-party errors are translated once, at the backend boundary that met them.

```
KubelabError
├── SpecError              a file (spec, lab definition) with problems: all of them, each with file:line:col
├── DatasetError           a dataset that cannot be found, read or parsed
├── MissingDependency      an optional extra is not installed; says which `pip install` fixes it
├── StudyError             a study that does not exist, or exists with a different spec
├── ModelError             a model file that is missing, corrupt, unsafe or of an unknown format
├── LoadTestError          a load test that cannot run: bad URL, flag, profile or body file
├── RecipeError            a model server that cannot be profiled, a load that cannot be simulated
├── RenderError            a lab that cannot be rendered: output directory, kept secrets, names
├── BackendError           a store or broker failed
│   └── TransientError     a lost connection or busy server: retried with backoff by callers
├── TrialFailed            an objective raised, or its process died too often (stored, never fatal)
├── ClusterError           a kubeconfig, context or Kubernetes API call that failed; says what to do
│   └── ApplyFailed        an apply whose objects were refused or did not roll out: every diagnosis
└── MonitorError           a process, port or pod selection that cannot be monitored
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ApplyFailed",
    "BackendError",
    "ClusterError",
    "DatasetError",
    "KubelabError",
    "LoadTestError",
    "MissingDependency",
    "ModelError",
    "MonitorError",
    "Problem",
    "RecipeError",
    "RenderError",
    "SpecError",
    "StudyError",
    "TransientError",
    "TrialFailed",
]


class KubelabError(Exception):
    """Root of every error kubelab raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, located as precisely as the file allows."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text}; hint: {self.hint}" if self.hint else text


class SpecError(KubelabError):
    """A file with one or more problems; ``problems`` holds all of them, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class DatasetError(KubelabError):
    """A dataset that cannot be found, read or parsed."""


class MissingDependency(KubelabError):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(f"{module} is not installed; run: pip install 'kubelab[{extra}]'")


class StudyError(KubelabError):
    """A study that does not exist, or that exists with a different spec."""


class ModelError(KubelabError):
    """A model file that is missing, corrupt, unsafe to load (pickle) or of an unknown format."""


class LoadTestError(KubelabError):
    """A load test that cannot run: a bad URL, flag, profile or body file."""


class RecipeError(KubelabError):
    """A model server that cannot be profiled, or a load profile that cannot be simulated."""


class RenderError(KubelabError):
    """A lab that cannot be rendered: an unusable output directory, unreadable kept secrets, a name too long."""


class BackendError(KubelabError):
    """A store or broker failed in a way retrying will not fix."""


class TransientError(BackendError):
    """A lost connection or a busy server; callers retry with backoff."""


class TrialFailed(KubelabError):
    """A trial's objective raised, or its process died more often than allowed."""


class ClusterError(KubelabError):
    """A kubeconfig, context or Kubernetes API call that failed; the message says what to do.

    ``code`` and ``reason`` are the API's HTTP status and Status reason (``Conflict``, ``NotFound``) when the
    API answered, else None.
    """

    def __init__(self, message: str, *, code: int | None = None, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason
        super().__init__(message)


class ApplyFailed(ClusterError):
    """An apply whose objects were refused or did not roll out; ``diagnoses`` holds every finding."""

    def __init__(self, message: str, diagnoses: Sequence[object] | None = None) -> None:
        self.diagnoses = list(diagnoses or [])
        super().__init__(message)


class MonitorError(KubelabError):
    """A process, port, command or pod selection that cannot be monitored."""
