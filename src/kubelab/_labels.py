"""The labels and annotation kubelab puts on what it applies (shared with the lab renderer)."""

from __future__ import annotations

__all__ = ["CREATE_ONLY_ANNOTATION", "LAB_LABEL", "MANAGED_BY", "MANAGED_BY_LABEL", "SOURCE_ANNOTATION",
           "lab_selector"]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubelab"
LAB_LABEL = "kubelab.dev/lab"
# The definition key an object came from, e.g. "workers.resources"; messages about the object name it.
SOURCE_ANNOTATION = "kubelab.dev/source"
# "true" on an object applied only when it does not exist yet: generated secrets (a database password that a
# re-render would generate anew must not replace the one the database was initialised with).
CREATE_ONLY_ANNOTATION = "kubelab.dev/create-only"


def lab_selector(lab: str) -> str:
    """The label selector of every object a previous apply of ``lab`` made (what pruning considers)."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{LAB_LABEL}={lab}"
