"""The labels and annotations kubelab puts on Kubernetes objects: the lab renderer writes them, apply reads them.

Every rendered object carries ``app.kubernetes.io/managed-by: kubelab`` and ``kubelab.dev/lab: <lab>``
(labels: how ``kubelab lab apply`` finds what it owns and prunes), and ``kubelab.dev/source: <key path>`` (an
annotation: the definition key the object came from, named in failure messages).
"""

from __future__ import annotations

__all__ = ["COMPONENT_LABEL", "CREATE_ONLY_ANNOTATION", "LAB_LABEL", "MANAGED_BY", "MANAGED_BY_LABEL", "NAME_LABEL",
           "SOURCE_ANNOTATION", "lab_selector"]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubelab"
LAB_LABEL = "kubelab.dev/lab"
COMPONENT_LABEL = "app.kubernetes.io/component"
NAME_LABEL = "app.kubernetes.io/name"
SOURCE_ANNOTATION = "kubelab.dev/source"
"""The definition key an object came from, e.g. ``workers.resources``; messages about the object name it."""
CREATE_ONLY_ANNOTATION = "kubelab.dev/create-only"
"""``"true"`` on an object apply creates when it does not exist yet and never overwrites: the generated Secrets
(a database password that a re-render draws anew must not replace the one the database was initialised with)."""


def lab_selector(lab: str) -> str:
    """The label selector of every object a previous apply of ``lab`` made (what pruning considers)."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{LAB_LABEL}={lab}"
