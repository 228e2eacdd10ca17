"""The commented starter definition that ``kubelab lab init`` writes, for each provider.

``starter.yaml`` is a ``string.Template``; each provider fills in sizes that exist in its catalog, its spot
policy and a budget above the starter's peak cost, so every variant passes ``check`` and ``cost`` silently
(tested).
"""

from __future__ import annotations

from importlib import resources
from string import Template

from kubelab.errors import KubelabError

__all__ = ["STARTER_PROVIDERS", "starter_text"]

_COMMENT_COLUMN = 36  # the templated lines are "key: $value$pad #": the comment starts one column after

STARTER_PROVIDERS: dict[str, dict[str, str]] = {
    "digitalocean": {
        "provider": "digitalocean", "region": "fra1",
        "ha_comment": "a highly available control plane costs $40 a month on DigitalOcean",
        "small": "s-2vcpu-4gb", "workers": "c-4", "spot": "false",
        "spot_comment": "DigitalOcean has no spot droplets; on gke/eks spot: true saves 60-90 %",
        "gpu_size": "gpu-4000adax1-20gb", "gpu_type": "nvidia-rtx-4000-ada", "gpu_name": "NVIDIA RTX 4000 Ada",
        "gpu_cpu_limit": "6", "gpu_memory_limit": "16Gi", "budget": "1200",
    },
    "gke": {
        "provider": "gke", "region": "us-central1",
        "ha_comment": "true: a regional control plane, for the same fee as a zonal one",
        "small": "e2-standard-2", "workers": "e2-standard-4", "spot": "true",
        "spot_comment": "Spot VMs: 60-91 % cheaper, reclaimable at any time (fine for tuning)",
        "gpu_size": "g2-standard-4", "gpu_type": "nvidia-l4", "gpu_name": "NVIDIA L4",
        "gpu_cpu_limit": "3", "gpu_memory_limit": "12Gi", "budget": "1000",
    },
    "eks": {
        "provider": "eks", "region": "us-east-1",
        "ha_comment": "EKS control planes are always highly available",
        "small": "t3.large", "workers": "c5.xlarge", "spot": "true",
        "spot_comment": "Spot instances: much cheaper, reclaimable at any time (fine for tuning)",
        "gpu_size": "g4dn.xlarge", "gpu_type": "nvidia-tesla-t4", "gpu_name": "NVIDIA T4",
        "gpu_cpu_limit": "3", "gpu_memory_limit": "12Gi", "budget": "1000",
    },
}
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
