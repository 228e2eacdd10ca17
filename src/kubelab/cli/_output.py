"""One place that prints: tables, CSV and JSON to stdout; progress, warnings and errors to stderr."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO, TypeVar

import click

__all__ = ["FORMATS", "emit", "emit_json", "format_option", "warn"]

FORMATS = ("table", "csv", "json")
F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str, default: str = "table") -> Callable[[F], F]:
    """The ``--format`` option every listing command takes."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices or FORMATS),
        default=default,
        show_default=True,
        help="Output format; JSON and CSV go to stdout, progress to stderr.",
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return " ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def emit_json(data: Any, out: TextIO | None = None) -> None:
    """Write ``data`` as JSON (non-finite floats become null) to stdout."""
    stream = out or sys.stdout
    json.dump(_jsonable(data), stream, indent=2, default=str)
    stream.write("\n")


def emit(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str, out: TextIO | None = None) -> None:
    """Print ``rows`` as an aligned table, CSV or JSON (JSON keeps every key of every row)."""
    stream = out or sys.stdout
    if fmt == "json":
        emit_json(list(rows), stream)
        return
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [json.dumps(row.get(c)) if isinstance(row.get(c), Mapping) else _cell(row.get(c)) for c in columns]
            )
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    stream.write("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
    for r in cells:
        stream.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n")


def warn(message: str) -> None:
    """A loud warning on stderr."""
    click.echo(click.style(f"warning: {message}", fg="yellow"), err=True)
