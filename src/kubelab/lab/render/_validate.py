"""The validation harness: rendered Kubernetes objects and JupyterHub values against their real schemas.

Used by the tests and by ``kubelab lab render --validate`` as a self-check.

- **Kubernetes objects** are checked against the strict JSON schemas that ``kubernetes-validate`` ships (one
  directory per Kubernetes minor version, 1.25 to 1.37 in kubernetes-validate 1.37; "strict" forbids unknown
  fields), with the same validator it uses (JSON Schema 2020-12). The schemas are loaded once per version and
  kept: checking the 19 built-in objects of a full lab again takes ~75 ms here, against ~1.2 s through
  ``kubernetes_validate.validate`` per object (it re-reads a 1.2 MB file every call). The tests run both.
- **Custom resources** (KEDA's ``ScaledObject`` and ``TriggerAuthentication``, ``keda.sh/v1alpha1``) have no
  schema in kubernetes-validate (its ``validate`` raises ``SchemaNotFoundError``; its command line only warns
  and lets them pass). kubelab ships its own strict schemas, written from the KEDA 2.16 reference
  (``data/keda-2.16/``): every field of the spec, with ``metadata`` checked as a real ObjectMeta. What they do
  not check is trigger-specific ``metadata`` beyond the RabbitMQ trigger's keys.
- **JupyterHub values** are merged over the chart's own ``values.yaml`` (Helm's rule: maps merge, everything
  else replaces) and checked with the chart's ``values.schema.yaml`` (draft 7), as ``helm install`` does.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from kubelab._deps import require
from kubelab.errors import RenderError

__all__ = [
    "CHART_VERSION",
    "KUBERNETES_VERSIONS",
    "SchemaProblem",
    "chart_defaults",
    "merge_values",
    "validate_hub_values",
    "validate_objects",
]

KUBERNETES_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")
"""The Kubernetes versions every rendered object is checked against (``--validate`` checks all of them)."""

CHART_VERSION = "4.4.0"
"""The zero-to-jupyterhub chart version the values are written for, and whose schema is shipped."""

_CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
}
_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"


@dataclass(frozen=True)
class SchemaProblem:
    """One object (or the values file) that fails its schema: where, against which version, and why."""

    what: str
    version: str
    path: str
    message: str

    def __str__(self) -> str:
        at = f" at {self.path}" if self.path else ""
        return f"{self.what} (Kubernetes {self.version}){at}: {self.message}"


def _data_file(*parts: str) -> Any:
    return resources.files("kubelab.lab").joinpath("data", *parts)


def _kv_schema_dir(version: str) -> Any:
    require("kubernetes_validate", "lab")
    base = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    directory = base.joinpath(f"v{version}.0-local-strict")
    if not directory.is_dir():
        raise RenderError(f"the installed kubernetes-validate has no schemas for Kubernetes {version}; "
                          "hint: pip install -U 'kubelab[lab]'")
    return directory


@functools.cache
def _registry(version: str) -> Any:
    referencing = require("referencing", "lab")
    directory = _kv_schema_dir(version)
    definitions = json.loads(directory.joinpath("_definitions.json").read_text())
    registry = referencing.Registry().with_resource(_DEFINITIONS_ID, referencing.Resource.from_contents(definitions))
    return registry


@functools.cache
def _validator(version: str, api_version: str, kind: str) -> Any:
    jsonschema = require("jsonschema", "lab")
    crd = _CRD_SCHEMAS.get((api_version, kind))
    if crd is not None:
        schema = json.loads(_data_file("keda-2.16", crd).read_text())
    else:
        # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        path = _kv_schema_dir(version).joinpath(f"{kind.lower()}-{group_version}.json")
        if not path.is_file():
            return None
        schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=_registry(version))


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def validate_objects(objects: Iterable[Mapping[str, Any]],
                     versions: Iterable[str] = KUBERNETES_VERSIONS) -> list[SchemaProblem]:
    """Every problem of ``objects`` against the strict schemas of each Kubernetes ``versions`` (all of them).

    An object of a kind with no schema (neither built in nor a shipped CRD schema) is itself a problem:
    nothing is passed unchecked.
    """
    problems: list[SchemaProblem] = []
    objects = list(objects)
    for version in versions:
        for obj in objects:
            validator = _validator(version, str(obj.get("apiVersion")), str(obj.get("kind")))
            if validator is None:
                problems.append(SchemaProblem(_name(obj), version, "", "no schema for this kind and apiVersion"))
                continue
            for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
                path = ".".join(str(p) for p in error.absolute_path)
                problems.append(SchemaProblem(_name(obj), version, path, error.message))
    return problems


@functools.cache
def _chart_file(name: str) -> Any:
    import yaml

    return yaml.safe_load(_data_file(f"z2jh-{CHART_VERSION}", name).read_text())


def chart_defaults() -> dict[str, Any]:
    """The chart's ``values.yaml`` (a fresh copy each call)."""
    return copy.deepcopy(_chart_file("values.yaml"))  # type: ignore[no-any-return]


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of a values file over the chart defaults: maps merge key by key; ``null`` deletes."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def validate_hub_values(values: Mapping[str, Any]) -> list[SchemaProblem]:
    """Problems of ``values`` merged over the chart's defaults, against the chart's ``values.schema.yaml``."""
    jsonschema = require("jsonschema", "lab")
    validator = jsonschema.Draft7Validator(_chart_file("values.schema.yaml"))
    merged = merge_values(chart_defaults(), values)
    return [SchemaProblem(f"jupyterhub values (chart {CHART_VERSION})", "-",
                          ".".join(str(p) for p in e.absolute_path), e.message)
            for e in sorted(validator.iter_errors(merged), key=lambda e: list(map(str, e.absolute_path)))]
