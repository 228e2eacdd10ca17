"""``kubelab lab cost``: what a lab costs a month at idle, typical and peak use, and the budget check.

For each scenario, the pods of every pool are packed onto its nodes (first fit, largest memory first,
against what a node leaves for pods: ``_capacity.py``), and the pool runs ``max(min, nodes used)`` nodes,
at most ``max``. Scenarios:

- idle: no user server; workers and models at their minimum replicas;
- typical: ``users.typical`` servers; workers and models at their minimum;
- peak: ``users.peak`` servers (or ``--users N``), one server of each profile on another pool (a GPU
  node, say); workers and models at their maximum.

Fixed items, the same in every scenario: a volume per user (``max(len(users.allowed), peak)`` homes),
the broker's and store's volumes, the hub's 1Gi database volume, one load balancer for an exposed hub,
and the control-plane fee. A month is a month at that level (``hours_per_month`` of the catalog).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubelab._yamlfile import Locator, load
from kubelab.errors import Problem, SpecError
from kubelab.lab._capacity import GI, NodeCapacity, load_sizes
from kubelab.lab._check import Finding
from kubelab.lab._loader import parse_lab
from kubelab.lab._model import Lab
from kubelab.lab._packing import SCENARIOS, pack, pods_by_pool
from kubelab.lab._prices import PriceCatalog, load_prices, unit_prices

__all__ = ["HUB_DB_VOLUME", "CostReport", "PoolCost", "budget_findings", "cost_file", "estimate_cost"]

HUB_DB_VOLUME = 1 * GI
"""The hub's database volume (the chart's default)."""


@dataclass(frozen=True)
class PoolCost:
    """One pool: its node price and, per scenario, nodes, cost and pods that do not fit at ``max``."""

    pool: str
    size: str
    spot: bool
    node_month: float
    cpu_core_hour: float
    gib_hour: float
    nodes: dict[str, int]
    cost: dict[str, float]
    unplaced: dict[str, int]


@dataclass(frozen=True)
class CostReport:
    """The monthly cost of a lab per scenario; ``items`` are the fixed costs (volumes, LB, control plane)."""

    lab: str
    provider: str
    users: dict[str, int]
    pools: list[PoolCost]
    items: dict[str, float]
    totals: dict[str, float]
    budget: float | None
    sources: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"lab": self.lab, "provider": self.provider, "currency": "USD", "users": self.users,
                "pools": [asdict(p) for p in self.pools], "items": self.items, "totals": self.totals,
                "budget": self.budget, "sources": self.sources, "notes": self.notes}


def estimate_cost(lab: Lab, catalog: PriceCatalog, users: int | None = None, loc: Locator | None = None,
                  file: str = "lab.yaml") -> CostReport:
    """Price ``lab`` with ``catalog``; ``users`` replaces ``users.peak`` for the peak scenario.

    Raises:
        SpecError: a pool's size is unknown or has no price in the catalog (positioned when ``loc`` is given).
    """
    provider = lab.provider.name
    prices = catalog.providers.get(provider)
    sizes = load_sizes()
    problems: list[Problem] = []
    caps: dict[str, NodeCapacity] = {}
    node_month: dict[str, float] = {}
    for i, pool in enumerate(lab.pools):
        cap = sizes.capacity(provider, pool.size)
        month = catalog.node_month(provider, pool.size, pool.spot)
        if cap is None or month is None:
            what = "unknown size" if cap is None else "no price in the catalog for"
            message = f"{what} '{pool.size}' ({provider})"
            hint = "run `kubelab lab check` for the sizes kubelab knows" if cap is None else \
                f"add it with --prices FILE: providers: {{{provider}: {{sizes: {{prices: {{{pool.size}: " \
                "{monthly: …}}}}}"
            problems.append(loc.problem(("pools", i, "size"), message, hint) if loc else
                            Problem(file, None, None, f"pools[{i}].size", message, hint))
            continue
        caps[pool.name], node_month[pool.name] = cap, month
    if problems or prices is None:
        raise SpecError(problems or [Problem(file, None, None, "provider.name", f"no prices for {provider}")])
    counts = {"idle": 0, "typical": lab.users.typical, "peak": lab.users.peak_users if users is None else users}
    if lab.workbench is None:
        counts = {"idle": 0, "typical": 0, "peak": 0}
    hours = catalog.hours_per_month
    pool_costs = []
    pods = {s: pods_by_pool(lab, s, counts[s], caps) for s in SCENARIOS}
    for pool in lab.pools:
        nodes, unplaced = {}, {}
        for s in SCENARIOS:
            used, left = pack(pods[s][pool.name], caps[pool.name], pool.max_nodes)
            nodes[s] = max(pool.min_nodes, min(used, pool.max_nodes))
            unplaced[s] = left
        cpu_hour, gib_hour = unit_prices(catalog, provider, pool.size, spot=pool.spot)
        pool_costs.append(PoolCost(pool.name, pool.size, pool.spot, round(node_month[pool.name], 2),
                                   round(cpu_hour, 6), round(gib_hour, 6), nodes,
                                   {s: round(nodes[s] * node_month[pool.name], 2) for s in SCENARIOS}, unplaced))
    items = _fixed_items(lab, catalog, counts["peak"])
    totals = {s: round(sum(p.cost[s] for p in pool_costs) + sum(items.values()), 2) for s in SCENARIOS}
    fees = prices.fees
    groups = [("sizes", prices.sizes), ("gpu_sizes", prices.gpu_sizes), ("fees", fees), ("spot", prices.spot)]
    sources = [{"prices": f"{provider} {name}", "source": " ".join(g.source.split()), "date": g.date.isoformat()}
               for name, g in groups if g is not None]
    notes = [f"{pc.unplaced[s]} pod(s) of pool '{pool.name}' do not fit at {s} (max {pool.max_nodes} nodes)"
             for pool, pc in zip(lab.pools, pool_costs, strict=True) for s in SCENARIOS if pc.unplaced[s]]
    notes.append(f"list prices in USD at {hours:g} hours a month; taxes, discounts and credits not included")
    return CostReport(lab.metadata.name, provider, counts, pool_costs, items, totals,
                      lab.budget.monthly if lab.budget else None, sources, notes)


def _fixed_items(lab: Lab, catalog: PriceCatalog, peak_users: int) -> dict[str, float]:
    prices = catalog.providers[lab.provider.name]
    hours = catalog.hours_per_month
    gib = 0.0
    wb = lab.workbench
    if wb is not None:
        gib += HUB_DB_VOLUME / GI
        if wb.storage is not None:
            gib += float(wb.storage.size.value) / GI * max(len(lab.users.allowed), peak_users)
    if lab.tuning is not None:
        gib += float(lab.tuning.broker.storage.value + lab.tuning.store.storage.value) / GI
    fees = prices.fees
    plane = fees.ha_control_plane if lab.provider.ha_control_plane else fees.control_plane
    return {
        "volumes": round(gib * fees.volume_gib.per_month(hours), 2),
        "load_balancer": round(fees.load_balancer.per_month(hours), 2)
        if wb is not None and wb.service == "loadbalancer" else 0.0,
        "control_plane": round(plane.per_month(hours), 2),
    }


def _peak(report: CostReport) -> str:
    users = report.users["peak"]
    who = f"{users} user{'s' * (users != 1)}; " if users else ""
    return f"{who}workers and models at their maximum"


def budget_findings(report: CostReport, lab: Lab, loc: Locator) -> list[Finding]:
    """Over budget at typical use: an error; at peak, or past ``warn_fraction`` at typical: a warning."""
    if lab.budget is None:
        return []
    budget, path = lab.budget.monthly, ("budget", "monthly")
    typical, peak = report.totals["typical"], report.totals["peak"]
    out = []
    if typical > budget:
        out.append(Finding("error", loc.problem(path, f"typical use costs ${typical:,.2f} a month, over the "
                                                f"budget of ${budget:,.2f}",
                                                "shrink pools (smaller sizes, lower min), use spot for workers, "
                                                "or raise the budget")))
    elif typical > budget * lab.budget.warn_fraction:
        out.append(Finding("warning", loc.problem(path, f"typical use costs ${typical:,.2f} a month, "
                                                  f"{typical / budget:.0%} of the budget of ${budget:,.2f}",
                                                  "look at the pools with `kubelab lab cost`")))
    if peak > budget:
        out.append(Finding("warning", loc.problem(path, f"peak use ({_peak(report)}) costs "
                                                  f"${peak:,.2f} a month, over the budget of ${budget:,.2f}",
                                                  "lower the pools' max to cap the spend")))
    return out


def cost_file(path: str | Path, prices: str | Path | None = None,
              users: int | None = None) -> tuple[CostReport, list[Finding]]:
    """Read a lab file and price it; returns the report and the budget findings.

    Raises:
        SpecError: the lab file or the price file has problems, or a size has no price.
    """
    data, loc = load(path)
    lab = parse_lab(data, loc)
    report = estimate_cost(lab, load_prices(prices), users, loc, str(path))
    return report, budget_findings(report, lab, loc)
