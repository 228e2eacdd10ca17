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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelab._yamlfile import Locator, load
from kubelab.errors import Problem, SpecError
from kubelab.lab._capacity import GI, MI, NodeCapacity, load_sizes
from kubelab.lab._check import Finding
from kubelab.lab._loader import parse_lab
from kubelab.lab._model import Lab, Pool, Resources
from kubelab.lab._prices import PriceCatalog, load_prices, unit_prices

__all__ = [
    "DEFAULT_REQUESTS",
    "HUB_REQUESTS",
    "CostReport",
    "PoolCost",
    "budget_findings",
    "cost_file",
    "estimate_cost",
]

HUB_REQUESTS = (0.2, 512 * MI)
"""(cores, bytes) requested by the hub, proxy and user scheduler together, on the core pool."""
DEFAULT_REQUESTS = (0.1, 256 * MI)
"""(cores, bytes) assumed for a container whose requests the file leaves out."""
HUB_DB_VOLUME = 1 * GI
SCENARIOS = ("idle", "typical", "peak")

_Pod = tuple[float, int, int]  # cores, bytes, GPUs


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
                "pools": [p.__dict__ for p in self.pools], "items": self.items, "totals": self.totals,
                "budget": self.budget, "sources": self.sources, "notes": self.notes}


def _requests(r: Resources) -> tuple[float, int]:
    cpu = float(r.requests.cpu.value) if r.requests.cpu else DEFAULT_REQUESTS[0]
    mem = int(r.requests.memory.value) if r.requests.memory else DEFAULT_REQUESTS[1]
    return cpu, mem


def _pods(lab: Lab, scenario: str, users: int, caps: dict[str, NodeCapacity]) -> dict[str, list[_Pod]]:
    """Pods of each pool in a scenario."""
    out: dict[str, list[_Pod]] = {p.name: [] for p in lab.pools}

    def put(pool: Pool | None, pod: _Pod, count: int = 1) -> None:
        if pool is not None:
            out[pool.name].extend([pod] * count)

    wb = lab.workbench
    if wb is not None:
        put(lab.pool_for("core"), (*HUB_REQUESTS, 0))
        home = lab.workbench_pool()
        if home is not None and users:
            put(home, _server(wb.cpu.guarantee, wb.memory.guarantee, 0, caps.get(home.name)), users)
        for prof in wb.profiles if scenario == "peak" else ():
            pool = lab.workbench_pool(prof)
            if pool is not None and pool is not home:
                cpu = prof.cpu.guarantee if prof.cpu and prof.cpu.guarantee else wb.cpu.guarantee
                mem = prof.memory.guarantee if prof.memory and prof.memory.guarantee else wb.memory.guarantee
                put(pool, _server(cpu, mem, prof.gpu, caps.get(pool.name)))
    if lab.tuning is not None:
        t = lab.tuning
        for comp in (t.broker, t.store):
            put(lab.pool_for("core", comp.pool), (*_requests(comp.resources), 0))
        replicas = t.workers.max_replicas if scenario == "peak" else t.workers.min_replicas
        put(lab.pool_for("workers", t.workers.pool), (*_requests(t.workers.resources), t.workers.gpu), replicas)
    for m in lab.models:
        replicas = m.max_replicas if scenario == "peak" else m.min_replicas
        put(lab.pool_for("serving", m.pool), (*_requests(m.resources), m.gpu), replicas)
    return out


def _server(cpu: Any, mem: Any, gpu: int, cap: NodeCapacity | None) -> _Pod:
    """A user server; without a guarantee it is taken to fill a node (one server per node)."""
    free_cpu, free_mem = (cap.free_cpu, cap.free_memory) if cap else DEFAULT_REQUESTS
    return (float(cpu.value) if cpu else free_cpu, int(mem.value) if mem else free_mem, gpu)


def _pack(pods: list[_Pod], cap: NodeCapacity, limit: int) -> tuple[int, int]:
    """Nodes used by first-fit-decreasing packing, at most ``limit``; and pods left over.

    Identical pods are placed in groups (as many as fit on a node at once), so 10,000 users cost no more
    than a handful of pod kinds.
    """
    kinds: dict[_Pod, int] = {}
    for pod in pods:
        kinds[pod] = kinds.get(pod, 0) + 1
    nodes: list[list[float]] = []
    unplaced = 0
    for (cpu, mem, gpu), count in sorted(kinds.items(), key=lambda kv: (kv[0][1], kv[0][0]), reverse=True):
        if cpu > cap.free_cpu or mem > cap.free_memory or gpu > cap.size.gpus:
            unplaced += count
            continue
        for node in nodes:
            if count == 0:
                break
            take = min(count, _fits(node, cpu, mem, gpu))
            node[0], node[1], node[2] = node[0] - take * cpu, node[1] - take * mem, node[2] - take * gpu
            count -= take
        while count and len(nodes) < limit:
            node = [cap.free_cpu, float(cap.free_memory), float(cap.size.gpus)]
            take = min(count, _fits(node, cpu, mem, gpu))
            node[0], node[1], node[2] = node[0] - take * cpu, node[1] - take * mem, node[2] - take * gpu
            nodes.append(node)
            count -= take
        unplaced += count
    return len(nodes), unplaced


def _fits(node: list[float], cpu: float, mem: int, gpu: int) -> int:
    """How many (cpu, mem, gpu) pods fit in what is left of ``node``."""
    counts = [int(node[0] // cpu) if cpu else 10**9, int(node[1] // mem) if mem else 10**9,
              int(node[2] // gpu) if gpu else 10**9]
    return max(0, min(counts))


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
    hours = catalog.hours_per_month
    pool_costs = []
    pods = {s: _pods(lab, s, counts[s], caps) for s in SCENARIOS}
    for pool in lab.pools:
        nodes, unplaced = {}, {}
        for s in SCENARIOS:
            used, left = _pack(pods[s][pool.name], caps[pool.name], pool.max_nodes)
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
        out.append(Finding("warning", loc.problem(path, f"peak use ({report.users['peak']} users) costs "
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
