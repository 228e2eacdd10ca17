"""The JSON Schema of ``lab.yaml``, for editors."""

from __future__ import annotations

from typing import Any

from kubelab.lab._model import Lab

__all__ = ["SCHEMA_ID", "json_schema"]

SCHEMA_ID = "https://kubelab.dev/schemas/lab-v1.json"


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a ``kubelab/v1`` Lab, generated from the pydantic models."""
    schema = Lab.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **schema, "title": "kubelab lab definition (kubelab/v1 Lab)"}
