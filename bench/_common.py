"""Helpers shared by the benchmark scripts: repeated timing in fresh interpreters, medians, a table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def in_fresh_python(code: str, timeout: float = 900) -> Any:
    """Run ``code`` in a new interpreter; it must print one JSON value on its last line."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, " \
           f"Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}"


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |\n" for r in rows)
