"""Rendering a lab definition: Kubernetes manifests, JupyterHub values, Terraform, and their validation.

    >>> from kubelab.lab import load_lab
    >>> from kubelab.lab.render import render_to_directory
    >>> render_to_directory(load_lab("examples/lab.yaml"), Path("out"))      # doctest: +SKIP

``render_lab`` is pure (definition in, files as data out); ``render_to_directory`` writes them and keeps the
generated secrets across renders. ``validate_objects`` and ``validate_hub_values`` are the validation
harness the tests and ``kubelab lab render --validate`` use.
"""

from __future__ import annotations

from kubelab._labels import LAB_LABEL, MANAGED_BY_LABEL, SOURCE_ANNOTATION
from kubelab.lab.render._readme import helm_command
from kubelab.lab.render._render import Rendered, Sizing, render_lab
from kubelab.lab.render._secrets import SecretBank, read_secrets
from kubelab.lab.render._sizing import UserSize, start_timeout, user_size
from kubelab.lab.render._validate import (
    CHART_VERSION,
    KUBERNETES_VERSIONS,
    SchemaProblem,
    chart_defaults,
    merge_values,
    validate_hub_values,
    validate_objects,
)
from kubelab.lab.render._write import dump_yaml, render_to_directory, write_rendered

__all__ = [
    "CHART_VERSION",
    "KUBERNETES_VERSIONS",
    "LAB_LABEL",
    "MANAGED_BY_LABEL",
    "SOURCE_ANNOTATION",
    "Rendered",
    "SchemaProblem",
    "SecretBank",
    "Sizing",
    "UserSize",
    "chart_defaults",
    "dump_yaml",
    "helm_command",
    "merge_values",
    "read_secrets",
    "render_lab",
    "render_to_directory",
    "start_timeout",
    "user_size",
    "validate_hub_values",
    "validate_objects",
    "write_rendered",
]
