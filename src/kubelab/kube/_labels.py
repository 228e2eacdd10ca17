"""The labels and annotation kubelab puts on what it applies (shared with the lab renderer)."""

from __future__ import annotations

__all__ = ["LAB_LABEL", "MANAGED_BY", "MANAGED_BY_LABEL", "SOURCE_ANNOTATION", "lab_selector"]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubelab"
LAB_LABEL = "kubelab.dev/lab"
# The definition key an object came from, e.g. "workers.resources"; messages about the object name it.
SOURCE_ANNOTATION = "kubelab.dev/source"


def lab_selector(lab: str) -> str:
    """The label selector of every object a previous apply of ``lab`` made (what pruning considers)."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{LAB_LABEL}={lab}"
