"""``kubelab lab check``: the file's types and keys, then the semantic checks, every finding at once.

A finding is an error (the lab cannot work as written: a pod that never schedules, a lab open to anyone) or a
warning (it works, but costs, surprises or risks something). ``check_file`` never raises for problems in
the file: a file that does not parse yields its parse problems as errors and no ``lab``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kubelab._yamlfile import KeyPath, Locator, did_you_mean, format_path, load, loads
from kubelab.errors import Problem, SpecError
from kubelab.lab._capacity import NodeCapacity, SizeCatalog, load_sizes
from kubelab.lab._loader import parse_lab
from kubelab.lab._model import Lab, Pool

__all__ = ["Checker", "Finding", "Report", "check_file", "check_lab", "check_text"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One located problem and how serious it is."""

    severity: Severity
    problem: Problem

    def __str__(self) -> str:
        return f"{self.severity}: {self.problem}"


@dataclass
class Report:
    """What ``check`` found: ``lab`` is None when the file did not parse."""

    file: str
    lab: Lab | None
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        """Findings that make ``check`` fail."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings worth reading that do not fail ``check``."""
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not self.errors

    def raise_for_errors(self) -> Lab:
        """The lab, or SpecError with every error."""
        if self.lab is None or self.errors:
            raise SpecError([f.problem for f in self.errors])
        return self.lab


@dataclass
class Checker:
    """What a check function needs: the lab, positions, the size catalog, and where findings go."""

    lab: Lab
    loc: Locator
    sizes: SizeCatalog
    findings: list[Finding] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def error(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        """Add an error at ``path``."""
        self._add("error", path, message, hint)

    def warning(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        """Add a warning at ``path``."""
        self._add("warning", path, message, hint)

    def _add(self, severity: Severity, path: KeyPath, message: str, hint: str | None) -> None:
        problem = self.loc.problem(path, message, hint)
        if (problem.path, message) not in self._seen:
            self._seen.add((problem.path, message))
            self.findings.append(Finding(severity, problem))

    def pool_path(self, pool: Pool) -> KeyPath:
        """``("pools", i)`` of a pool."""
        return ("pools", self.lab.pools.index(pool))

    def capacity(self, pool: Pool) -> NodeCapacity | None:
        """The allocatable model of the pool's nodes (None for an unknown size, reported elsewhere)."""
        return self.sizes.capacity(self.lab.provider.name, pool.size)

    def resolve_pool(self, path: KeyPath, name: str | None, purpose: str, what: str,
                     found: Pool | None) -> Pool | None:
        """Report a ``pool:`` naming no pool, or a component with nowhere to go; return the pool."""
        if found is not None:
            return found
        if name is not None:
            names = [p.name for p in self.lab.pools]
            self.error((*path, "pool"), f"no pool named '{name}'",
                       did_you_mean(name, names) or f"pools: {', '.join(names)}")
        else:
            self.error(path, f"{what} has no pool: no pool has purpose {purpose}",
                       f"add purpose: {purpose} to a pool, or set {format_path((*path, 'pool'))}: NAME")
        return None


CheckFunction = Callable[[Checker], None]


def _checks() -> list[CheckFunction]:
    from kubelab.lab._check_fit import CHECKS as FIT
    from kubelab.lab._check_policy import CHECKS as POLICY

    return [*FIT, *POLICY]


def check_lab(lab: Lab, loc: Locator, sizes: SizeCatalog | None = None) -> list[Finding]:
    """Run every semantic check on a parsed lab; findings in file order."""
    checker = Checker(lab, loc, sizes or load_sizes())
    for check in _checks():
        check(checker)
    return sorted(checker.findings, key=lambda f: (f.problem.line or 0, f.problem.column or 0,
                                                   f.severity != "error"))


def check_file(path: str | Path) -> Report:
    """Read, validate and check a lab file; problems are findings, never exceptions.

    Raises:
        SpecError: only when the file cannot be read at all (missing, a directory, not UTF-8).
    """
    try:
        data, loc = load(path)
    except SpecError as exc:
        if any(p.message.startswith(("file not found", "is a directory", "cannot read")) for p in exc.problems):
            raise
        return Report(str(path), None, [Finding("error", p) for p in exc.problems])
    return _check_parsed(str(path), data, loc)


def check_text(text: str, file: str = "<stdin>") -> Report:
    """``check_file`` for YAML text (``file`` names it in messages)."""
    try:
        data, loc = loads(text, file)
    except SpecError as exc:
        return Report(file, None, [Finding("error", p) for p in exc.problems])
    return _check_parsed(file, data, loc)


def _check_parsed(file: str, data: Any, loc: Locator) -> Report:
    try:
        lab = parse_lab(data, loc)
    except SpecError as exc:
        return Report(file, None, [Finding("error", p) for p in exc.problems])
    return Report(file, lab, check_lab(lab, loc))
