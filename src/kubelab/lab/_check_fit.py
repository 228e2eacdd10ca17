"""Checks that pods can run where the file puts them: sizes, requests within limits, fit on the node, GPUs.

Each workload (the default user server, each profile, the broker, the store, the tuning workers, each model)
is a ``Demand`` on one pool; its requests must fit what one node of the pool leaves for pods
(``_capacity.py``), its GPUs must exist there, and at its peak the pool's ``max`` must hold it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kubelab._yamlfile import KeyPath, did_you_mean
from kubelab.lab._capacity import NodeCapacity
from kubelab.lab._check import Checker, CheckFunction
from kubelab.lab._model import CpuSpec, MemorySpec, Pool, Resources
from kubelab.lab._packing import pack, pods_by_pool
from kubelab.lab._quantity import Quantity, format_bytes

__all__ = ["CHECKS", "Demand", "demands"]

_Field = tuple[Quantity, KeyPath]


@dataclass(frozen=True)
class Demand:
    """What one pod of a workload asks of a node, with where each value is written."""

    what: str
    path: KeyPath
    pool: Pool
    cpu: _Field | None = None
    memory: _Field | None = None
    cpu_limit: _Field | None = None
    memory_limit: _Field | None = None
    gpu: int = 0
    peak: int = 1


def _pick(own: Quantity | None, own_path: KeyPath, base: Quantity | None, base_path: KeyPath) -> _Field | None:
    if own is not None:
        return own, own_path
    return (base, base_path) if base is not None else None


_Fields = tuple[_Field | None, _Field | None, _Field | None, _Field | None]


def _resources(r: Resources, path: KeyPath) -> _Fields:
    """(cpu request, memory request, cpu limit, memory limit) of a container, with their paths."""
    def at(q: Quantity | None, *keys: str) -> _Field | None:
        return (q, (*path, "resources", *keys)) if q is not None else None

    return (at(r.requests.cpu, "requests", "cpu"), at(r.requests.memory, "requests", "memory"),
            at(r.limits.cpu, "limits", "cpu"), at(r.limits.memory, "limits", "memory"))


def demands(c: Checker) -> list[Demand]:
    """Every workload of the lab on its pool; a workload with no pool is reported and left out."""
    lab, out = c.lab, []
    wb = lab.workbench
    if wb is not None:
        base: KeyPath = ("workbench",)
        pool = c.resolve_pool(base, wb.pool, "users", "the workbench", lab.workbench_pool())
        peak = lab.users.peak_users
        if pool is not None:
            out.append(Demand("a user server", base, pool, *_server(wb.cpu, wb.memory, None, None, base), peak=peak))
        for i, prof in enumerate(wb.profiles):
            path: KeyPath = ("workbench", "profiles", i)
            ppool = lab.workbench_pool(prof)
            if prof.gpu and (ppool is None or not ppool.gpus) and prof.pool is None:
                c.error((*path, "gpu"), f"profile '{prof.name}' asks for {prof.gpu} GPU(s) but no pool has a GPU",
                        "add a pool with gpu: {type: …, count: 1} and purpose: users (tainted nvidia.com/gpu), "
                        "or remove gpu from the profile")
                continue
            ppool = c.resolve_pool(path, prof.pool, "users", f"profile '{prof.name}'", ppool)
            if ppool is not None:
                fields = _server(wb.cpu, wb.memory, prof.cpu, prof.memory, path)
                out.append(Demand(f"profile '{prof.name}'", path, ppool, *fields, gpu=prof.gpu, peak=0))
    if lab.tuning is not None:
        t = lab.tuning
        for key, comp, purpose, what in (("broker", t.broker, "core", "the broker (RabbitMQ)"),
                                         ("store", t.store, "core", "the store (PostgreSQL)")):
            path = ("tuning", key)
            pool = c.resolve_pool(path, comp.pool, purpose, what, lab.pool_for(purpose, comp.pool))
            if pool is not None:
                out.append(Demand(what, path, pool, *_resources(comp.resources, path)))
        path = ("tuning", "workers")
        w = t.workers
        pool = c.resolve_pool(path, w.pool, "workers", "the tuning workers", lab.pool_for("workers", w.pool))
        if pool is not None:
            out.append(Demand("a tuning worker", path, pool, *_resources(w.resources, path), gpu=w.gpu,
                              peak=w.max_replicas))
    for i, m in enumerate(lab.models):
        path = ("models", i)
        what = f"model '{m.name}'"
        pool = c.resolve_pool(path, m.pool, "serving", what, lab.pool_for("serving", m.pool))
        if pool is not None:
            out.append(Demand(what, path, pool, *_resources(m.resources, path), gpu=m.gpu, peak=m.max_replicas))
    return out


def _server(cpu: CpuSpec, mem: MemorySpec, pcpu: CpuSpec | None, pmem: MemorySpec | None,
            path: KeyPath) -> _Fields:
    wb: KeyPath = ("workbench",)
    return (
        _pick(pcpu.guarantee if pcpu else None, (*path, "cpu", "guarantee"), cpu.guarantee, (*wb, "cpu", "guarantee")),
        _pick(pmem.guarantee if pmem else None, (*path, "memory", "guarantee"), mem.guarantee,
              (*wb, "memory", "guarantee")),
        _pick(pcpu.limit if pcpu else None, (*path, "cpu", "limit"), cpu.limit, (*wb, "cpu", "limit")),
        _pick(pmem.limit if pmem else None, (*path, "memory", "limit"), mem.limit, (*wb, "memory", "limit")),
    )


def check_sizes(c: Checker) -> None:
    """Every pool's size is known (or readable, for generic), and its GPUs agree with the size's."""
    provider = c.lab.provider.name
    for pool in c.lab.pools:
        path = c.pool_path(pool)
        size = c.sizes.size(provider, pool.size)
        if size is None:
            if provider == "generic":
                hint = "write a generic size as <cpu>cpu-<memory>, e.g. 4cpu-16Gi or 8cpu-32Gi-1xnvidia-l4"
            else:
                hint = did_you_mean(pool.size, c.sizes.names(provider)) or (
                    f"known {provider} sizes: {', '.join(c.sizes.names(provider))}")
            c.error((*path, "size"), f"unknown {provider} size '{pool.size}'", hint)
            continue
        cap = c.capacity(pool)
        if cap is not None and (cap.free_memory <= 0 or cap.free_cpu <= 0):
            c.error((*path, "size"), f"'{pool.size}' is too small for Kubernetes: {cap.explain_memory()}",
                    "use a size with at least 2 GB of memory")
        if pool.gpu is None:
            continue
        if size.gpus and (pool.gpu.type != size.gpu_type or pool.gpu.count != size.gpus):
            c.error((*path, "gpu"), f"'{pool.size}' has {size.gpus} x {size.gpu_type}, not "
                    f"{pool.gpu.count} x {pool.gpu.type}", f"write gpu: {{type: {size.gpu_type}, count: {size.gpus}}}")
        elif not size.gpus and not (provider == "gke" and pool.size.startswith("n1-")) and provider != "generic":
            c.error((*path, "gpu"), f"'{pool.size}' has no GPU",
                    "pick a GPU size (" + ", ".join(n for n in c.sizes.names(provider)
                                                    if c.sizes.sizes[provider][n].gpus) + ")")


def check_workloads(c: Checker) -> None:
    """Requests within limits, and each workload on its pool (``_check_requests``, ``_check_fit``)."""
    for d in demands(c):
        _check_requests(c, d)
        _check_fit(c, d)


def _check_requests(c: Checker, d: Demand) -> None:
    """A request (guarantee) above its limit: Kubernetes rejects the pod."""
    for req, lim, kind in ((d.cpu, d.cpu_limit, "cpu"), (d.memory, d.memory_limit, "memory")):
        if req is not None and lim is not None and req[0].value > lim[0].value:
            word = "guarantee" if d.path[0] == "workbench" else "request"
            c.error(req[1], f"{d.what}: {kind} {word} {req[0]} is above its limit {lim[0]}",
                    f"Kubernetes rejects a pod whose {kind} request exceeds its limit; lower the {word} "
                    f"or raise the limit")


def _check_fit(c: Checker, d: Demand) -> None:
    """Each pod's requests fit one node of its pool; limits a node cannot give; GPUs; room at peak."""
    provider = c.lab.provider.name
    cap = c.capacity(d.pool)
    if cap is None or cap.free_memory <= 0 or cap.free_cpu <= 0:
        return  # unknown or unusable size: reported by check_sizes
    where = f"pool '{d.pool.name}'"
    if d.pool.max_nodes == 0:
        c.error((*c.pool_path(d.pool), "count"), f"{where} has no nodes but {d.what} runs there",
                "give it count: 1 or more, or min/max to autoscale")
        return
    cpu = float(d.cpu[0].value) if d.cpu else 0.0
    memory = int(d.memory[0].value) if d.memory else 0
    larger = c.sizes.smallest_fitting(provider, cpu, memory, d.pool.size)
    bigger = f", or give {where} a larger size (e.g. {larger})" if larger else ""
    if d.memory and memory > cap.free_memory:
        asked = str(d.memory[0]) if str(d.memory[0]) == format_bytes(memory) else \
            f"{d.memory[0]} ({format_bytes(memory)})"
        c.error(d.memory[1], f"{d.what} does not fit on {where}: it asks for {asked} and {cap.explain_memory()}",
                f"lower it to at most {format_bytes(cap.free_memory)}{bigger}")
    if d.cpu and cpu > cap.free_cpu:
        c.error(d.cpu[1], f"{d.what} does not fit on {where}: it asks for {d.cpu[0]} cores and "
                f"{cap.explain_cpu()}", f"lower it to at most {int(cap.free_cpu * 1000)}m{bigger}")
    _check_limits(c, d, cap)
    if d.gpu > d.pool.gpus:
        c.error((*d.path, "gpu"), f"{d.what} asks for {d.gpu} GPU(s) but nodes of {where} have "
                f"{d.pool.gpus}", "place it on a pool with enough GPUs (pool: NAME)")
    _check_peak(c, d, cap, cpu, memory)


def _check_limits(c: Checker, d: Demand, cap: NodeCapacity) -> None:
    if d.memory_limit and d.memory_limit[0].value > cap.allocatable_memory:
        c.warning(d.memory_limit[1], f"{d.what}: memory limit {d.memory_limit[0]} is more than each "
                  f"{d.pool.size} node gives pods ({format_bytes(cap.allocatable_memory)} allocatable); the pod "
                  f"is evicted or OOM-killed before it reaches it",
                  f"lower it to at most {format_bytes(cap.allocatable_memory)}")
    if d.cpu_limit and d.cpu_limit[0].value > cap.size.cpu:
        c.warning(d.cpu_limit[1], f"{d.what}: cpu limit {d.cpu_limit[0]} is more than the {cap.size.cpu:g} "
                  f"cores of a {d.pool.size} node", f"lower it to at most {cap.size.cpu:g}")


def _check_peak(c: Checker, d: Demand, cap: NodeCapacity, cpu: float, memory: int) -> None:
    if not (cpu or memory) or d.peak <= 0:
        return
    per_node = min(math.floor(cap.free_cpu / cpu) if cpu else 10**6,
                   math.floor(cap.free_memory / memory) if memory else 10**6, cap.size.max_pods)
    if per_node <= 0:
        return  # does not fit at all: reported above
    needed = math.ceil(d.peak / per_node)
    if needed > d.pool.max_nodes:
        pool_path = (*c.pool_path(d.pool), "max" if d.pool.count is None else "count")
        what = "users" if d.what == "a user server" or d.what.startswith("profile") else "replicas"
        c.warning(pool_path, f"at its peak of {d.peak} {what}, {d.what} needs {needed} nodes of pool "
                  f"'{d.pool.name}' ({per_node} per node) but the pool stops at {d.pool.max_nodes}",
                  f"raise it to {needed}, or lower the peak")


def check_pools_hold_their_pods(c: Checker) -> None:
    """At rest (no user, minimum replicas), each pool's pods fit on its nodes together, not only one by one."""
    caps = {p.name: cap for p in c.lab.pools if (cap := c.capacity(p)) is not None and cap.free_memory > 0}
    pods = pods_by_pool(c.lab, "idle", 0, caps)
    for pool in c.lab.pools:
        cap = caps.get(pool.name)
        if cap is None or pool.max_nodes == 0:
            continue
        alone = [p for p in pods[pool.name] if p[0] <= cap.free_cpu and p[1] <= cap.free_memory
                 and p[2] <= cap.size.gpus]  # a pod too big for any node is reported by check_workloads
        used, left = pack(alone, cap, pool.max_nodes)
        if left:
            key = "max" if pool.count is None else "count"
            need, _ = pack(alone, cap, 10**6)
            c.error((*c.pool_path(pool), key), f"pool '{pool.name}' cannot hold what runs there at rest: "
                    f"{left} of its {len(alone)} pods find no room on {pool.max_nodes} {pool.size} node(s), "
                    f"which leave {format_bytes(cap.free_memory)} and {cap.free_cpu:.2f} cores each",
                    f"give it {key}: {need}, a larger size, or move a component to another pool")


CHECKS: list[CheckFunction] = [check_sizes, check_workloads, check_pools_hold_their_pods]
