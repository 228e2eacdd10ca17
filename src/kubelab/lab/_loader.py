"""Read ``lab.yaml`` into a ``Lab``, turning every pydantic error into a positioned ``Problem``.

All problems are reported at once, as ``lab.yaml:line:col: key.path: message; hint: …``; an unknown key
names the closest allowed key ("did you mean").
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kubelab._yamlfile import KeyPath, Locator, did_you_mean, load, loads
from kubelab.errors import Problem, SpecError
from kubelab.lab._model import Lab

__all__ = ["load_lab", "loads_lab", "parse_lab", "translate"]


def load_lab(path: str | Path) -> Lab:
    """Read and validate a lab definition file.

    Raises:
        SpecError: the file is missing, not YAML, or has problems (all of them, each with its position).
    """
    data, loc = load(path)
    return parse_lab(data, loc)


def loads_lab(text: str, file: str = "lab.yaml") -> Lab:
    """Validate a lab definition given as YAML text (``file`` names it in messages)."""
    data, loc = loads(text, file)
    return parse_lab(data, loc)


def parse_lab(data: Any, loc: Locator) -> Lab:
    """Validate parsed YAML ``data`` whose positions are in ``loc``."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {_kind(data)}"
        raise SpecError([loc.problem((), f"expected a lab definition (a mapping), got {got}",
                                     "start from `kubelab lab init lab.yaml`")])
    try:
        return Lab.model_validate(data)
    except ValidationError as exc:
        raise SpecError(translate(exc, loc, Lab)) from None


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__)


def translate(exc: ValidationError, loc: Locator, root: type[BaseModel]) -> list[Problem]:
    """pydantic's errors for a file validated as ``root`` → positioned Problems (with hints)."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    errors = exc.errors(include_url=False)
    failed = [tuple(e["loc"]) for e in errors if e["type"] != "too_short"]
    for err in errors:
        path: KeyPath = tuple(p for p in err["loc"] if isinstance(p, str | int))
        if err["type"] == "too_short" and any(f[: len(path)] == path and len(f) > len(path) for f in failed):
            continue  # "at least 1 item after validation": its items failed, and say so themselves
        problem = _problem(err, path, loc, root)
        if (problem.path, problem.message) not in seen:
            seen.add((problem.path, problem.message))
            problems.append(problem)
    return problems


def _problem(err: Any, path: KeyPath, loc: Locator, root: type[BaseModel]) -> Problem:
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = _fields_at(path[:-1], root)
        hint = did_you_mean(key, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else None)
        return loc.problem(path, f"unknown key '{key}'", hint, key=True)
    if kind == "missing":
        return loc.problem(path[:-1], f"required key '{path[-1]}' is missing",
                           f"add {path[-1]}: {_example(path, root)}")
    if kind == "value_error" and hasattr(ctx.get("error"), "hint"):
        error = ctx["error"]
        field = getattr(error, "field", None)
        if field:
            path = (*path, *field.split("."))
        return loc.problem(path, str(error), error.hint)
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        shown = f"'{value}'" if isinstance(value, str) else repr(value)
        hint = (did_you_mean(str(value), choices) if isinstance(value, str) else None) or (
            f"choose one of: {', '.join(choices)}")
        return loc.problem(path, f"{shown} is not allowed", hint)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc.problem(path, f"expected a mapping (key: value), got a {_kind(value)}")
    if kind == "string_type":
        return loc.problem(path, f"expected a string, got a {_kind(value)}",
                           "quote it if YAML reads it as something else")
    if kind in ("tuple_type", "list_type"):
        return loc.problem(path, f"expected a list, got a {_kind(value)}", "write a YAML list: [a, b] or '- a'")
    message = str(err["msg"]).replace("Input should be", "must be").replace("String should", "must")
    message = message[0].lower() + message[1:]
    if value is not None and not isinstance(value, dict | list):
        message = f"{value!r}: {message}" if not isinstance(value, str) else f"'{value}': {message}"
    hint = _HINTS.get(kind) or (_description(path, root) if kind == "string_pattern_mismatch" else None)
    return loc.problem(path, message, hint)


_HINTS = {
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number",
}


def _example(path: KeyPath, root: type[BaseModel]) -> str:
    """A value to suggest for a missing key: the only one a Literal allows, else its choices, else …."""
    model = _model_at(path[:-1], root)
    field = next((f for n, f in model.model_fields.items() if (f.alias or n) == path[-1]), None) if model else None
    choices = typing.get_args(_strip(field.annotation)) if field else ()
    if field and typing.get_origin(_strip(field.annotation)) is typing.Literal:
        return str(choices[0]) if len(choices) == 1 else " | ".join(map(str, choices))
    return "…"


def _description(path: KeyPath, root: type[BaseModel]) -> str | None:
    model = _model_at(path[:-1], root)
    field = model.model_fields.get(str(path[-1])) if model else None
    return field.description if field else None


def _model_at(path: KeyPath, root: type[BaseModel]) -> type[BaseModel] | None:
    """The model class at ``path`` below ``root``, or None (through optionals, lists and dicts)."""
    annotation: Any = root
    for part in path:
        annotation = _strip(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for n, f in annotation.model_fields.items() if (f.alias or n) == part), None)
            annotation = field.annotation if field else None
        elif origin in (tuple, list) and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return None
    annotation = _strip(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _strip(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, …]`` → X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _fields_at(path: KeyPath, root: type[BaseModel]) -> list[str]:
    """Allowed keys of the model at ``path`` below ``root`` (aliases where they are used)."""
    model = _model_at(path, root)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []
