"""A deployment recipe: requests, limits, replica bounds and the HPA target; read and written as YAML.

```yaml
resources:
  requests: {cpu: "1", memory: 2Gi}
  limits: {cpu: "2", memory: 4Gi}
autoscaling:
  minReplicas: 1
  maxReplicas: 5
  targetCPUUtilizationPercentage: 40
  behavior:            # optional, as in autoscaling/v2
    scaleDown: {stabilizationWindowSeconds: 120}
```
Quantities are Kubernetes quantities (``500m``, ``0.5``, ``2Gi``, ``512Mi``). Every problem is reported at
once, with its line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kubelab import _yamlfile
from kubelab.errors import Problem, SpecError
from kubelab.recipe._hpa import Behavior, HPASpec, ScalingPolicy, ScalingRules

__all__ = ["Recipe", "format_cpu", "format_memory", "load_recipe", "parse_cpu", "parse_memory", "parse_recipe"]

_MEMORY_UNITS = {
    "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)([a-zA-Z]*)$")


def parse_cpu(value: Any) -> float:
    """``"500m"`` / ``"0.5"`` / ``0.5`` → 0.5 cores. Raises ValueError with what is wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a CPU quantity")
    if isinstance(value, int | float):
        number = float(value)
    else:
        m = _QUANTITY.match(str(value).strip())
        if not m or m.group(2) not in ("", "m"):
            raise ValueError(f"{value!r} is not a CPU quantity (e.g. 500m, 0.5, 2)")
        number = float(m.group(1)) / (1000 if m.group(2) == "m" else 1)
    if number <= 0:
        raise ValueError(f"{value!r} must be more than 0")
    return number


def parse_memory(value: Any) -> float:
    """``"2Gi"`` / ``"512Mi"`` / bytes → MiB. Raises ValueError with what is wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a memory quantity")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        m = _QUANTITY.match(str(value).strip())
        if not m or m.group(2) not in _MEMORY_UNITS:
            raise ValueError(f"{value!r} is not a memory quantity (e.g. 512Mi, 2Gi)")
        number, unit = float(m.group(1)), m.group(2)
    mib = number * _MEMORY_UNITS[unit] / 2**20
    if mib <= 0:
        raise ValueError(f"{value!r} must be more than 0")
    return mib


def format_cpu(cores: float) -> str:
    """0.5 → ``"500m"``; 2.0 → ``"2"``."""
    milli = round(cores * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def format_memory(mib: float) -> str:
    """2048 → ``"2Gi"``; 600 → ``"600Mi"``."""
    m = round(mib)
    return f"{m // 1024}Gi" if m % 1024 == 0 else f"{m}Mi"


@dataclass(frozen=True)
class Recipe:
    """Per-replica resources and the autoscaling policy (CPU in cores, memory in MiB)."""

    cpu_request: float
    cpu_limit: float
    memory_request: float
    memory_limit: float
    min_replicas: int
    max_replicas: int
    target_utilization: int
    behavior: Behavior | None = None

    @property
    def hpa(self) -> HPASpec:
        """The HPA this recipe configures."""
        return HPASpec(self.max_replicas, self.min_replicas, self.target_utilization, self.behavior)

    def to_dict(self) -> dict[str, Any]:
        """The ``recipe.yaml`` mapping."""
        data: dict[str, Any] = {
            "resources": {
                "requests": {"cpu": format_cpu(self.cpu_request), "memory": format_memory(self.memory_request)},
                "limits": {"cpu": format_cpu(self.cpu_limit), "memory": format_memory(self.memory_limit)},
            },
            "autoscaling": {
                "minReplicas": self.min_replicas,
                "maxReplicas": self.max_replicas,
                "targetCPUUtilizationPercentage": self.target_utilization,
            },
        }
        if self.behavior is not None:
            data["autoscaling"]["behavior"] = behavior_to_dict(self.behavior)
        return data

    def describe(self) -> str:
        """One line: ``cpu 1/2, mem 2Gi/4Gi, replicas 1-5, target 40%`` (and the behavior, if any)."""
        text = (
            f"cpu {format_cpu(self.cpu_request)}/{format_cpu(self.cpu_limit)}, "
            f"mem {format_memory(self.memory_request)}/{format_memory(self.memory_limit)}, "
            f"replicas {self.min_replicas}-{self.max_replicas}, target {self.target_utilization}%"
        )
        if self.behavior is not None:
            down = self.behavior.scale_down
            if down is not None and down.stabilization_window_seconds is not None and self.behavior.scale_up is None:
                text += f", scale-down window {down.stabilization_window_seconds}s"
            else:
                text += ", custom behavior"
        return text


def behavior_to_dict(behavior: Behavior) -> dict[str, Any]:
    """``Behavior`` → the autoscaling/v2 ``behavior`` mapping (only the fields set)."""
    out: dict[str, Any] = {}
    for key, rules in (("scaleUp", behavior.scale_up), ("scaleDown", behavior.scale_down)):
        if rules is None:
            continue
        r: dict[str, Any] = {}
        if rules.stabilization_window_seconds is not None:
            r["stabilizationWindowSeconds"] = rules.stabilization_window_seconds
        if rules.select_policy is not None:
            r["selectPolicy"] = rules.select_policy
        if rules.policies is not None:
            r["policies"] = [
                {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds} for p in rules.policies
            ]
        out[key] = r
    return out


class _Reader:
    def __init__(self, loc: _yamlfile.Locator) -> None:
        self.loc = loc
        self.problems: list[Problem] = []

    def fail(self, path: tuple[str | int, ...], message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.append(self.loc.problem(path, message, hint, key=key))

    def mapping(self, data: Any, path: tuple[str | int, ...], allowed: tuple[str, ...]) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail(path, f"must be a mapping with {', '.join(allowed)}")
            return {}
        for k in data:
            if k not in allowed:
                self.fail((*path, str(k)), "unknown key", _yamlfile.did_you_mean(str(k), allowed), key=True)
        return data

    def integer(self, data: dict[str, Any], key: str, path: tuple[str | int, ...], lo: int, default: int | None) -> int:
        value = data.get(key, default)
        if value is None:
            self.fail((*path, key), "is missing", key=True)
            return lo
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            self.fail((*path, key), f"must be an integer >= {lo}, not {value!r}")
            return lo
        return value


def _rules(r: _Reader, data: Any, path: tuple[str | int, ...]) -> ScalingRules | None:
    if data is None:
        return None
    d = r.mapping(data, path, ("stabilizationWindowSeconds", "selectPolicy", "policies"))
    window = r.integer(d, "stabilizationWindowSeconds", path, 0, None) if "stabilizationWindowSeconds" in d else None
    if window is not None and window > 3600:
        r.fail((*path, "stabilizationWindowSeconds"), f"must be at most 3600, not {window}")
    select = d.get("selectPolicy")
    if select is not None and select not in ("Max", "Min", "Disabled"):
        r.fail((*path, "selectPolicy"), f"must be Max, Min or Disabled, not {select!r}")
        select = None
    policies: list[ScalingPolicy] | None = None
    if "policies" in d:
        raw = d["policies"]
        if not isinstance(raw, list) or not raw:
            r.fail((*path, "policies"), "must be a non-empty list of {type, value, periodSeconds}")
        else:
            policies = []
            for i, p in enumerate(raw):
                pp = (*path, "policies", i)
                pd = r.mapping(p, pp, ("type", "value", "periodSeconds"))
                kind: Literal["Pods", "Percent"] = "Pods"
                if pd.get("type") == "Percent":
                    kind = "Percent"
                elif pd.get("type") != "Pods":
                    r.fail((*pp, "type"), f"must be Pods or Percent, not {pd.get('type')!r}")
                value = r.integer(pd, "value", pp, 1, None)
                period = r.integer(pd, "periodSeconds", pp, 1, None)
                if period > 1800:
                    r.fail((*pp, "periodSeconds"), f"must be at most 1800, not {period}")
                policies.append(ScalingPolicy(kind, value, period))
    return ScalingRules(window, select, tuple(policies) if policies is not None else None)


def parse_recipe(data: Any, loc: _yamlfile.Locator) -> Recipe:
    """Check a parsed ``recipe.yaml``; raise SpecError with every problem found."""
    r = _Reader(loc)
    top = r.mapping(data, (), ("resources", "autoscaling", "model", "predicted"))  # as `recipe find` writes it
    if data is not None and not isinstance(data, dict):
        raise SpecError(r.problems)
    res = r.mapping(top.get("resources"), ("resources",), ("requests", "limits"))
    values: dict[str, float] = {}
    for group in ("requests", "limits"):
        g = r.mapping(res.get(group), ("resources", group), ("cpu", "memory"))
        for key, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            path: tuple[str | int, ...] = ("resources", group, key)
            if key not in g:
                if group == "requests":
                    r.fail(path, "is missing", "every replica needs a CPU and memory request", key=True)
                continue
            try:
                values[f"{group}.{key}"] = parse(g[key])
            except ValueError as exc:
                r.fail(path, str(exc))
    cpu_req = values.get("requests.cpu", 1.0)
    mem_req = values.get("requests.memory", 1.0)
    cpu_lim = values.get("limits.cpu", cpu_req)
    mem_lim = values.get("limits.memory", mem_req)
    if cpu_lim < cpu_req:
        r.fail(
            ("resources", "limits", "cpu"), f"limit {format_cpu(cpu_lim)} is below the request {format_cpu(cpu_req)}"
        )
    if mem_lim < mem_req:
        r.fail(("resources", "limits", "memory"), "limit is below the request")
    auto_keys = ("minReplicas", "maxReplicas", "targetCPUUtilizationPercentage", "behavior")
    auto = r.mapping(top.get("autoscaling"), ("autoscaling",), auto_keys)
    if "autoscaling" not in top:
        r.fail(
            ("autoscaling",), "is missing", "give minReplicas, maxReplicas, targetCPUUtilizationPercentage", key=True
        )
    lo = r.integer(auto, "minReplicas", ("autoscaling",), 1, 1)
    hi = r.integer(auto, "maxReplicas", ("autoscaling",), 1, None)
    if hi < lo:
        r.fail(("autoscaling", "maxReplicas"), f"{hi} is below minReplicas {lo}")
    target = r.integer(auto, "targetCPUUtilizationPercentage", ("autoscaling",), 1, 80)
    behavior = None
    if auto.get("behavior") is not None:
        b = r.mapping(auto["behavior"], ("autoscaling", "behavior"), ("scaleUp", "scaleDown"))
        behavior = Behavior(
            _rules(r, b.get("scaleUp"), ("autoscaling", "behavior", "scaleUp")),
            _rules(r, b.get("scaleDown"), ("autoscaling", "behavior", "scaleDown")),
        )
    if r.problems:
        raise SpecError(r.problems)
    return Recipe(cpu_req, cpu_lim, mem_req, mem_lim, lo, hi, target, behavior)


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe file."""
    data, loc = _yamlfile.load(path)
    return parse_recipe(data, loc)
