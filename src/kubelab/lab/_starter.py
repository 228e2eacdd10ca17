"""The commented starter definition that ``kubelab lab init`` writes, for each provider.

``starter.yaml`` is a ``string.Template``; each provider fills in sizes that exist in its catalog, its spot
policy and a budget above the starter's peak cost, so every variant passes ``check`` and ``cost`` silently
(tested).
"""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import NamedTuple

from kubelab.errors import KubelabError

__all__ = ["STARTER_PROVIDERS", "starter_text"]

_COMMENT_COLUMN = 36  # the templated lines are "key: $value$pad #": the comment starts one column after

class _Values(NamedTuple):
    """What the template takes from a provider, in the order of each row of ``_PROVIDERS``."""

    region: str
    small: str  # the core, users and serving pools
    workers: str
    spot: str
    gpu_size: str
    gpu_type: str
    gpu_name: str
    gpu_cpu_limit: str
    gpu_memory_limit: str
    budget: str  # USD a month, above the starter's peak cost
    ha_comment: str
    spot_comment: str


_PROVIDERS = {
    "digitalocean": _Values("fra1", "s-2vcpu-4gb", "c-4", "false", "gpu-4000adax1-20gb", "nvidia-rtx-4000-ada",
                            "NVIDIA RTX 4000 Ada", "6", "16Gi", "1200",
                            "a highly available control plane costs $40 a month on DigitalOcean",
                            "DigitalOcean has no spot droplets; on gke/eks spot: true saves 60-90 %"),
    "gke": _Values("us-central1", "e2-standard-2", "e2-standard-4", "true", "g2-standard-4", "nvidia-l4", "NVIDIA L4",
                   "3", "12Gi", "1000", "true: a regional control plane, for the same fee as a zonal one",
                   "Spot VMs: 60-91 % cheaper, reclaimable at any time (fine for tuning)"),
    "eks": _Values("us-east-1", "t3.large", "c5.xlarge", "true", "g4dn.xlarge", "nvidia-tesla-t4", "NVIDIA T4",
                   "3", "12Gi", "1000", "EKS control planes are always highly available",
                   "Spot instances: much cheaper, reclaimable at any time (fine for tuning)"),
}

STARTER_PROVIDERS: dict[str, dict[str, str]] = {
    name: {"provider": name, **values._asdict()} for name, values in _PROVIDERS.items()}
"""Values of the starter's template per provider (``kubelab lab init --provider``)."""

_PADDED = {"provider": len("  name: "), "small": len("    size: "), "spot": len("    spot: "),
           "budget": len("  monthly: ")}


def starter_text(provider: str = "digitalocean") -> str:
    """The commented starter definition for ``provider``; it passes ``kubelab lab check`` as written.

    Raises:
        KubelabError: no starter for that provider.
    """
    values = STARTER_PROVIDERS.get(provider)
    if values is None:
        raise KubelabError(f"no starter for provider '{provider}'; choose one of: {', '.join(STARTER_PROVIDERS)}")
    pads = {f"pad_{k}": " " * max(1, _COMMENT_COLUMN - indent - len(values[k])) for k, indent in _PADDED.items()}
    template = resources.files("kubelab.lab").joinpath("starter.yaml").read_text(encoding="utf-8")
    return Template(template).substitute(values, **pads)
