"""Lab definitions (``lab.yaml``): the typed model, its loader and checks, node capacity and cost.

    >>> import kubelab.lab
    >>> lab = kubelab.lab.load_lab("examples/lab.yaml")          # doctest: +SKIP
    >>> [p.name for p in lab.pools]                               # doctest: +SKIP

The model lives in ``_model.py`` (its docstring draws the tree); quantities in ``kubelab._quantity``, the
parser shared with kube, monitor and recipe.

Exports are imported on first use: ``kubelab lab check`` does not pay for the price catalog's models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelab._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("Auth", "GitHubAuth", "LdapAuth", "NativeAuth", "SecretRef"), "._auth"),
    **dict.fromkeys(("NodeCapacity", "NodeSize", "SizeCatalog", "load_sizes"), "._capacity"),
    **dict.fromkeys(("Finding", "Report", "check_file", "check_lab", "check_text"), "._check"),
    **dict.fromkeys(("CostReport", "PoolCost", "cost_file", "estimate_cost"), "._cost"),
    **dict.fromkeys(("load_lab", "loads_lab", "parse_lab"), "._loader"),
    **dict.fromkeys(("POOL_LABEL", "Broker", "Budget", "CpuScaling", "CpuSpec", "Cull", "Gpu", "Https", "Lab",
                     "MemorySpec", "Metadata", "ModelDeployment", "Pool", "Profile", "Provider", "QueueScaling",
                     "ResourceList", "Resources", "Stateful", "Storage", "Store", "Taint", "Tuning", "Users",
                     "Workbench", "Workers"), "._model"),
    **dict.fromkeys(("DEFAULT_REQUESTS", "HUB_REQUESTS"), "._packing"),
    **dict.fromkeys(("Price", "PriceCatalog", "load_prices", "unit_prices"), "._prices"),
    **dict.fromkeys(("Quantity", "QuantityError", "format_bytes", "parse_cpu", "parse_memory", "parse_quantity"),
                    "._quantity"),
    "json_schema": "._schema",
    **dict.fromkeys(("STARTER_PROVIDERS", "starter_text"), "._starter"),
    "parse_duration": "._types",
}, __all__)
