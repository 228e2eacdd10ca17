"""Field types shared by the lab definition models: quantities, durations, names and secret references.

Each type is an ``Annotated`` pydantic type whose validator raises ``FieldError`` (a ``ValueError`` with a
``hint``), so the loader can turn it into ``lab.yaml:line:col: key.path: message; hint: …``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, PlainValidator, WithJsonSchema

from kubelab.lab._quantity import Quantity, QuantityError, parse_cpu, parse_memory

__all__ = ["Cpu", "DnsName", "Duration", "FieldError", "Hostname", "Memory", "Version", "parse_duration"]


class _Model(BaseModel):
    """Base of every definition model: frozen, unknown keys forbidden, fields by name or alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class FieldError(ValueError):
    """A value that is wrong, with a hint; ``field`` names a sub-key when a model-level rule fails."""

    def __init__(self, message: str, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.field = field


def _quantity(parse: Any) -> Any:
    def validate(raw: Any) -> Quantity:
        if isinstance(raw, Quantity):
            return raw
        try:
            return parse(raw)  # type: ignore[no-any-return]
        except QuantityError as exc:
            raise FieldError(str(exc), exc.hint) from None

    return validate


_QUANTITY_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string",
         "pattern": r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$"},
    ]
}

Cpu = Annotated[
    Quantity,
    PlainValidator(_quantity(parse_cpu)),
    PlainSerializer(str),
    WithJsonSchema({**_QUANTITY_SCHEMA, "description": "CPU cores: 2, 0.5 or 500m"}),
]
"""CPU as a Kubernetes quantity; ``.value`` is in cores."""

Memory = Annotated[
    Quantity,
    PlainValidator(_quantity(parse_memory)),
    PlainSerializer(str),
    WithJsonSchema({**_QUANTITY_SCHEMA, "description": "bytes: 1Gi (2^30), 1G (10^9), 800Mi, 1.4G"}),
]
"""Memory or storage as a Kubernetes quantity; ``.value`` is in bytes."""

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(raw: Any) -> int:
    """``90`` (seconds), ``"90s"``, ``"10m"``, ``"1h30m"``, ``"2d"`` → seconds."""
    if isinstance(raw, bool):
        raise FieldError("expected a duration such as 10m, 1h or 90s")
    if isinstance(raw, int):
        if raw < 0:
            raise FieldError(f"{raw} is negative", "a duration is zero or more seconds")
        return raw
    if isinstance(raw, str):
        m = _DURATION.match(raw.strip())
        if m and any(m.groups()):
            d, h, mi, s = (int(g or 0) for g in m.groups())
            return ((d * 24 + h) * 60 + mi) * 60 + s
    raise FieldError(f"'{raw}' is not a duration", "write seconds (600) or units d, h, m, s: 10m, 1h30m, 90s")


Duration = Annotated[
    int,
    PlainValidator(parse_duration),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0},
                              {"type": "string", "pattern": r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"}],
                    "description": "seconds, or 10m, 1h30m, 90s"}),
]
"""A duration in seconds, written as seconds or with d/h/m/s units."""

_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _dns_name(raw: Any) -> str:
    if not isinstance(raw, str) or not _DNS.match(raw) or len(raw) > 63:
        fixed = re.sub(r"[^a-z0-9-]+", "-", str(raw).lower()).strip("-")[:63] or "lab"
        raise FieldError(f"'{raw}' is not a valid Kubernetes name",
                         f"lower-case letters, digits and '-', at most 63 characters, e.g. '{fixed}'")
    return raw


DnsName = Annotated[str, PlainValidator(_dns_name),
                    WithJsonSchema({"type": "string", "pattern": _DNS.pattern, "maxLength": 63})]
"""A Kubernetes object name (DNS-1123 label)."""


_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _hostname(raw: Any) -> str:
    if not isinstance(raw, str) or not _HOST.match(raw):
        bare = re.sub(r"^[a-z]+://", "", str(raw)).split("/")[0].split(":")[0].lower()
        hint = f"write the host name only: {bare}" if bare != raw and _HOST.match(bare) else \
            "a DNS name such as lab.example.org"
        raise FieldError(f"'{raw}' is not a host name", hint)
    return raw


Hostname = Annotated[str, PlainValidator(_hostname),
                     WithJsonSchema({"type": "string", "pattern": _HOST.pattern})]
"""A fully qualified DNS name (``lab.example.org``), without scheme, port or path."""


def _version(raw: Any) -> Any:
    if isinstance(raw, float):
        raise FieldError(f"{raw} was read as a number",
                         "write the version as a quoted string, e.g. kubernetes: '1.31' (YAML reads 1.30 as 1.3)")
    if not isinstance(raw, str) or not re.match(r"^1\.[0-9]{2}$", raw):
        raise FieldError(f"'{raw}' is not a Kubernetes minor version", "write it as '1.31' (quoted)")
    return raw


Version = Annotated[str, BeforeValidator(_version),
                    WithJsonSchema({"type": "string", "pattern": r"^1\.[0-9]{2}$"})]
"""A Kubernetes minor version such as ``'1.31'``."""
