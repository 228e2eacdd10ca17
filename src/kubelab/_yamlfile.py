"""Read YAML files keeping the line and column of every key and value, for errors that say where.

``load(path)`` returns the plain data and a ``Locator``; ``Locator.problem(path, message)`` makes a
``Problem`` pointing at that key path. Duplicate keys, which YAML silently overwrites, are problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelab.errors import Problem, SpecError

if TYPE_CHECKING:
    import yaml

__all__ = ["KeyPath", "Locator", "did_you_mean", "format_path", "load", "loads"]

KeyPath = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """``("models", 0, "space")`` → ``models[0].space``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choice, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


@dataclass
class Locator:
    """Positions (1-based line, column) of keys and values in one YAML file."""

    file: str
    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: KeyPath, *, key: bool = False) -> tuple[int | None, int | None]:
        """Position of the value at ``path`` (or of its key), else of the nearest ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (None, None))

    def problem(self, path: KeyPath, message: str, hint: str | None = None, *, key: bool = False) -> Problem:
        line, column = self.where(path, key=key)
        return Problem(self.file, line, column, format_path(path), message, hint)


def _walk(node: yaml.Node, path: KeyPath, loc: Locator, problems: list[Problem]) -> None:
    import yaml

    loc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                problems.append(
                    Problem(loc.file, line, col, format_path(child), "duplicate key", "remove one of them")
                )
            seen.add(key)
            loc.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, loc, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), loc, problems)


def loads(text: str, file: str = "<string>") -> tuple[Any, Locator]:
    """Parse YAML text; raise SpecError (with position) on syntax errors or duplicate keys."""
    import yaml  # here, not at the top: a trial process reads stored specs (JSON) and never needs it

    loc = Locator(file)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise SpecError([Problem(file, line, column, "", f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, None, "", f"not valid YAML: {exc}")]) from None
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), loc, problems)
    if problems:
        raise SpecError(problems)
    return data, loc


def load(path: str | Path) -> tuple[Any, Locator]:
    """Read and parse a YAML file; a missing or unreadable file is a SpecError that says so."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(str(p), None, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise SpecError([Problem(str(p), None, None, "", "is a directory, expected a YAML file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(str(p), None, None, "", f"cannot read: {exc}")]) from None
    return loads(text, str(p))
