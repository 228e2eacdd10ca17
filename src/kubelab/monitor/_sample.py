"""One row of the monitor's CSV, the seed's columns exactly, and the summary of a run."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TextIO

__all__ = ["COLUMNS", "Sample", "summarize", "write_csv"]

COLUMNS = ("time", "n_replica", "cpu_req_core", "mem_req_KB", "cpu_lim_core", "mem_lim_KB", "cpu_use_core",
           "mem_use_KB")


@dataclass(frozen=True)
class Sample:
    """Resources of what is monitored at one instant; None where there is no value (no limit set, say).

    Attributes:
        time: Seconds since monitoring began.
        n_replica: Replicas: pods on Kubernetes; locally, leaf processes of the tree (each server worker).
        cpu_req_core, cpu_lim_core: Summed CPU requests and limits, in cores.
        mem_req_kib, mem_lim_kib: Summed memory requests and limits, in KiB (the seed's "KB").
        cpu_use_core: CPU used over the last interval, in cores.
        mem_use_kib: Memory in use, in KiB (resident set size locally; working set on Kubernetes).
    """

    time: float
    n_replica: int
    cpu_req_core: float | None
    mem_req_kib: int | None
    cpu_lim_core: float | None
    mem_lim_kib: int | None
    cpu_use_core: float | None
    mem_use_kib: int | None

    def as_row(self) -> dict[str, Any]:
        """The row keyed by the CSV's column names."""
        return dict(zip(COLUMNS, (getattr(self, f.name) for f in fields(self)), strict=True))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_csv(samples: Iterable[Sample], out: TextIO, *, header: bool = True) -> None:
    """Write ``samples`` as the seed's CSV (empty cells where a value is unknown); flushes each row."""
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for s in samples:
        writer.writerow([_cell(v) for v in s.as_row().values()])
        out.flush()


def summarize(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """Per column (but time): mean, min and max over ``samples``, ignoring empty values."""
    rows: list[dict[str, Any]] = []
    for column in COLUMNS[1:]:
        values = [v for s in samples if (v := s.as_row()[column]) is not None]
        if not values:
            rows.append({"column": column, "mean": None, "min": None, "max": None, "samples": 0})
            continue
        mean = math.fsum(values) / len(values)
        rows.append({"column": column, "mean": round(mean, 3), "min": min(values), "max": max(values),
                     "samples": len(values)})
    return rows
