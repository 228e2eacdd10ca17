"""Kubernetes quantities for lab files: the shared parser of ``kubelab._quantity``, under its old name."""

from __future__ import annotations

from kubelab._quantity import Quantity, QuantityError, format_bytes, parse_cpu, parse_memory, parse_quantity

__all__ = ["Quantity", "QuantityError", "format_bytes", "parse_cpu", "parse_memory", "parse_quantity"]
