"""Which pods run on which pool in a scenario, and how many nodes they need (first-fit decreasing).

Shared by ``cost`` (nodes per scenario) and ``check`` (a pool that cannot hold its pods at rest). Pods
are ``(cores, bytes, GPUs)`` of their requests; see docs/lab.md, "The cost model", for the assumptions.
"""

from __future__ import annotations

from typing import Any

from kubelab.lab._capacity import MI, NodeCapacity
from kubelab.lab._model import Lab, Pool, Resources

__all__ = ["DEFAULT_REQUESTS", "HUB_REQUESTS", "SCENARIOS", "Pod", "pack", "pods_by_pool"]

SCENARIOS = ("idle", "typical", "peak")
HUB_REQUESTS = (0.2, 512 * MI)
"""(cores, bytes) requested by the hub, proxy and user scheduler together, on the core pool."""
DEFAULT_REQUESTS = {"stateful": (0.25, 512 * MI), "workers": (1.0, 2048 * MI), "models": (0.25, 256 * MI)}
"""(cores, bytes) assumed for a broker/store, tuning worker or model whose requests the file leaves out: the
requests `kubelab lab render` gives them."""

Pod = tuple[float, int, int]
"""(cores, bytes, GPUs) a pod requests."""


def _requests(r: Resources, kind: str) -> tuple[float, int]:
    cpu = float(r.requests.cpu.value) if r.requests.cpu else DEFAULT_REQUESTS[kind][0]
    mem = int(r.requests.memory.value) if r.requests.memory else DEFAULT_REQUESTS[kind][1]
    return cpu, mem


def pods_by_pool(lab: Lab, scenario: str, users: int, caps: dict[str, NodeCapacity]) -> dict[str, list[Pod]]:
    """Pods of each pool in a scenario."""
    out: dict[str, list[Pod]] = {p.name: [] for p in lab.pools}

    def put(pool: Pool | None, pod: Pod, count: int = 1) -> None:
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
            put(lab.pool_for("core", comp.pool), (*_requests(comp.resources, "stateful"), 0))
        replicas = t.workers.max_replicas if scenario == "peak" else t.workers.min_replicas
        worker = (*_requests(t.workers.resources, "workers"), t.workers.gpu)
        put(lab.pool_for("workers", t.workers.pool), worker, replicas)
    for m in lab.models:
        replicas = m.max_replicas if scenario == "peak" else m.min_replicas
        put(lab.pool_for("serving", m.pool), (*_requests(m.resources, "models"), m.gpu), replicas)
    return out


def _server(cpu: Any, mem: Any, gpu: int, cap: NodeCapacity | None) -> Pod:
    """A user server; without a guarantee it is taken to fill a node (one server per node)."""
    free_cpu, free_mem = (cap.free_cpu, cap.free_memory) if cap else (1.0, 2**30)
    return (float(cpu.value) if cpu else free_cpu, int(mem.value) if mem else free_mem, gpu)


def pack(pods: list[Pod], cap: NodeCapacity, limit: int) -> tuple[int, int]:
    """Nodes used by first-fit-decreasing packing, at most ``limit``; and pods left over.

    Identical pods are placed in groups (as many as fit on a node at once), so 10,000 users cost no more
    than a handful of pod kinds.
    """
    kinds: dict[Pod, int] = {}
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
