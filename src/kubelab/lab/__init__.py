"""Lab definitions (``lab.yaml``): the typed model, its loader and checks, node capacity and cost.

    >>> import kubelab.lab
    >>> lab = kubelab.lab.load_lab("examples/lab.yaml")          # doctest: +SKIP
    >>> [p.name for p in lab.pools]                               # doctest: +SKIP

The model lives in ``_model.py`` (its docstring draws the tree); quantities in ``_quantity.py``.
"""

from __future__ import annotations

from kubelab.lab._capacity import NodeCapacity, NodeSize, SizeCatalog, load_sizes
from kubelab.lab._check import Finding, Report, check_file, check_lab
from kubelab.lab._cost import DEFAULT_REQUESTS, HUB_REQUESTS, CostReport, PoolCost, cost_file, estimate_cost
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
from kubelab.lab._prices import Price, PriceCatalog, load_prices, unit_prices
from kubelab.lab._quantity import Quantity, QuantityError, format_bytes, parse_cpu, parse_memory, parse_quantity
from kubelab.lab._schema import json_schema, starter_text
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
