"""kubelab: an ML platform for a small team, on a laptop or on Kubernetes.

The top level re-exports the Python API lazily, so ``import kubelab`` is cheap and has no side effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelab._lazy import lazy_exports

if TYPE_CHECKING:
    from kubelab.errors import KubelabError, SpecError

__version__ = "0.1.0"

__all__ = ["KubelabError", "SpecError", "__version__"]

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(("KubelabError", "SpecError"), ".errors"), __all__)
