"""Write a recommendation: ``recipe.yaml``, the manifests, ``profile.yaml`` and ``report.html``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kubelab.recipe._cost import UnitPrices
from kubelab.recipe._search import Candidate
from kubelab.recipe._server import ServerProfile
from kubelab.recipe._sim import SimResult

__all__ = ["write_manifests", "write_recipe", "write_report"]


def write_recipe(path: Path, result: SimResult, prices: UnitPrices, *, model: str, load: str) -> None:
    """``recipe.yaml``: the recipe, and what the simulation predicts for it (as comments' worth of data)."""
    import yaml

    data: dict[str, Any] = {"model": model, **result.recipe.to_dict()}
    data["predicted"] = {
        "load": load,
        "slo_p99_ms": result.config.slo_p99 * 1000,
        "windows_violating_pct": round(100 * result.violation_fraction, 2),
        "cpu_core_hours": round(result.cpu_core_hours, 4),
        "memory_gib_hours": round(result.memory_gib_hours, 4),
        "burst_cores": round(result.burst_cores, 3),  # CPU used above requests, peak minute: nodes need it free
        "cost": round(prices.cost(result.cpu_core_hours, result.memory_gib_hours), 6),
        "currency": prices.currency,
        "prices": prices.source,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def write_manifests(out: Path, documents: Sequence[dict[str, Any]]) -> list[Path]:
    """One file per manifest (``deployment.yaml``, ``service.yaml``, ``hpa.yaml``)."""
    import yaml

    names = {"Deployment": "deployment.yaml", "Service": "service.yaml", "HorizontalPodAutoscaler": "hpa.yaml"}
    paths = []
    for doc in documents:
        path = out / names[doc["kind"]]
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def _series(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    return x.tolist(), [float(v) if math.isfinite(v) else math.nan for v in y]


def write_report(
    path: Path,
    title: str,
    runs: Sequence[tuple[str, SimResult]],
    prices: UnitPrices,
    profile: ServerProfile,
    *,
    candidates: Sequence[Candidate] = (),
    subtitle: str | None = None,
) -> None:
    """``report.html``: replicas, p99 against the objective and cost over time for each run; the trade-off."""
    from kubelab._report import Report

    first = runs[0][1]
    slo_ms = first.config.slo_p99 * 1000
    report = Report(title, subtitle)
    if profile.method == "synthetic":
        report.text(f"Server profile: {profile.source}. Numbers are only as good as this profile.", warning=True)
    else:
        report.text(f"Server profile measured with {profile.method}: {profile.source}.")
    report.table(
        [
            {
                "run": label,
                "recipe": r.recipe.describe(),
                "windows violating %": round(100 * r.violation_fraction, 2),
                "CPU core-hours": round(r.cpu_core_hours, 3),
                "memory GiB-hours": round(r.memory_gib_hours, 3),
                f"cost ({prices.currency})": round(prices.cost(r.cpu_core_hours, r.memory_gib_hours), 5),
            }
            for label, r in runs
        ],
        title="Summary",
    )
    minutes = first.start / 60
    report.chart(
        "p99 latency per minute",
        {label: _series(minutes, r.p99 * 1000) for label, r in runs},
        xlabel="minute",
        ylabel="ms",
        hlines={"objective": slo_ms},
        logy=True,
    )
    report.chart(
        "Replicas (ready)",
        {label: _series(minutes, r.replicas) for label, r in runs},
        xlabel="minute",
        ylabel="replicas",
        steps=True,
    )
    report.chart(
        "Cumulative cost of reserved CPU and memory",
        {
            label: _series(
                minutes,
                np.cumsum(prices.cost(1, 0) * r.cpu_reserved + prices.cost(0, 1) * r.memory_reserved / 1024)
                * r.config.window
                / 3600,
            )
            for label, r in runs
        },
        xlabel="minute",
        ylabel=prices.currency,
    )
    if candidates:
        rows = [c.row() for c in candidates]
        report.table(rows, list(rows[0]), title="Trade-off: runners-up (cost against windows violating)")
    report.write(path)
