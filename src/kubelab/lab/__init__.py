"""Lab definitions (``lab.yaml``): the typed model, its loader and checks, node capacity and cost.

    >>> import kubelab.lab
    >>> lab = kubelab.lab.load_lab("examples/lab.yaml")          # doctest: +SKIP
    >>> [p.name for p in lab.pools]                               # doctest: +SKIP

The model lives in ``_model.py`` (its docstring draws the tree); quantities in ``_quantity.py``.

Exports are imported on first use: ``kubelab lab check`` does not pay for the price catalog's models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubelab.lab._capacity import NodeCapacity, NodeSize, SizeCatalog, load_sizes
    from kubelab.lab._check import Finding, Report, check_file, check_lab, check_text
    from kubelab.lab._cost import CostReport, PoolCost, cost_file, estimate_cost
    from kubelab.lab._loader import load_lab, loads_lab, parse_lab
    from kubelab.lab._model import (
        POOL_LABEL,
        Auth,
        Broker,
        Budget,
        CpuScaling,
        CpuSpec,
        Cull,
        GitHubAuth,
        Gpu,
        Https,
        Lab,
        LdapAuth,
        MemorySpec,
        Metadata,
        ModelDeployment,
        NativeAuth,
        Pool,
        Profile,
        Provider,
        QueueScaling,
        ResourceList,
        Resources,
        SecretRef,
        Stateful,
        Storage,
        Store,
        Taint,
        Tuning,
        Users,
        Workbench,
        Workers,
    )
    from kubelab.lab._packing import DEFAULT_REQUESTS, HUB_REQUESTS
    from kubelab.lab._prices import Price, PriceCatalog, load_prices, unit_prices
    from kubelab.lab._quantity import Quantity, QuantityError, format_bytes, parse_cpu, parse_memory, parse_quantity
    from kubelab.lab._schema import json_schema
    from kubelab.lab._starter import STARTER_PROVIDERS, starter_text
    from kubelab.lab._types import parse_duration

_EXPORTS = {
    "Auth": "_auth",
    "Broker": "_model",
    "Budget": "_model",
    "CostReport": "_cost",
    "CpuScaling": "_model",
    "CpuSpec": "_model",
    "Cull": "_model",
    "DEFAULT_REQUESTS": "_packing",
    "Finding": "_check",
    "GitHubAuth": "_auth",
    "Gpu": "_model",
    "HUB_REQUESTS": "_packing",
    "Https": "_model",
    "Lab": "_model",
    "LdapAuth": "_auth",
    "MemorySpec": "_model",
    "Metadata": "_model",
    "ModelDeployment": "_model",
    "NativeAuth": "_auth",
    "NodeCapacity": "_capacity",
    "NodeSize": "_capacity",
    "POOL_LABEL": "_model",
    "Pool": "_model",
    "PoolCost": "_cost",
    "Price": "_prices",
    "PriceCatalog": "_prices",
    "Profile": "_model",
    "Provider": "_model",
    "Quantity": "_quantity",
    "QuantityError": "_quantity",
    "QueueScaling": "_model",
    "Report": "_check",
    "ResourceList": "_model",
    "Resources": "_model",
    "STARTER_PROVIDERS": "_starter",
    "SecretRef": "_auth",
    "SizeCatalog": "_capacity",
    "Stateful": "_model",
    "Storage": "_model",
    "Store": "_model",
    "Taint": "_model",
    "Tuning": "_model",
    "Users": "_model",
    "Workbench": "_model",
    "Workers": "_model",
    "check_file": "_check",
    "check_lab": "_check",
    "check_text": "_check",
    "cost_file": "_cost",
    "estimate_cost": "_cost",
    "format_bytes": "_quantity",
    "json_schema": "_schema",
    "load_lab": "_loader",
    "load_prices": "_prices",
    "load_sizes": "_capacity",
    "loads_lab": "_loader",
    "parse_cpu": "_quantity",
    "parse_duration": "_types",
    "parse_lab": "_loader",
    "parse_memory": "_quantity",
    "parse_quantity": "_quantity",
    "starter_text": "_starter",
    "unit_prices": "_prices",
}

__all__ = [
    "Auth",
    "Broker",
    "Budget",
    "CostReport",
    "CpuScaling",
    "CpuSpec",
    "Cull",
    "DEFAULT_REQUESTS",
    "Finding",
    "GitHubAuth",
    "Gpu",
    "HUB_REQUESTS",
    "Https",
    "Lab",
    "LdapAuth",
    "MemorySpec",
    "Metadata",
    "ModelDeployment",
    "NativeAuth",
    "NodeCapacity",
    "NodeSize",
    "POOL_LABEL",
    "Pool",
    "PoolCost",
    "Price",
    "PriceCatalog",
    "Profile",
    "Provider",
    "Quantity",
    "QuantityError",
    "QueueScaling",
    "Report",
    "ResourceList",
    "Resources",
    "STARTER_PROVIDERS",
    "SecretRef",
    "SizeCatalog",
    "Stateful",
    "Storage",
    "Store",
    "Taint",
    "Tuning",
    "Users",
    "Workbench",
    "Workers",
    "check_file",
    "check_lab",
    "check_text",
    "cost_file",
    "estimate_cost",
    "format_bytes",
    "json_schema",
    "load_lab",
    "load_prices",
    "load_sizes",
    "loads_lab",
    "parse_cpu",
    "parse_duration",
    "parse_lab",
    "parse_memory",
    "parse_quantity",
    "starter_text",
    "unit_prices",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kubelab.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kubelab.lab.{module}"), name)
    globals()[name] = value
    return value
