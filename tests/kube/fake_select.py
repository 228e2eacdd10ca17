"""Label and field selectors as the fake API server understands them: ``k=v``, ``k!=v``, ``k``, ``!k``."""

from __future__ import annotations

import re
from typing import Any


class SelectorError(ValueError):
    """A selector the fake cannot parse (the server answers 400)."""


_SELECTOR_TERM = re.compile(r"^(!?)([A-Za-z0-9_./-]+)(?:\s*(!=|==|=)\s*([A-Za-z0-9_.-]*))?$")


def parse_selector(text: str, what: str) -> dict[str, tuple[str, str | None]]:
    """``k=v,k!=v,k,!k`` → {key: (op, value)}; set syntax is refused with 400."""
    out: dict[str, tuple[str, str | None]] = {}
    for term in (t.strip() for t in text.split(",") if t.strip()):
        m = _SELECTOR_TERM.match(term)
        if m is None:
            raise SelectorError(f"unable to parse requirement: {what} {term!r} (the fake supports "
                                               "k=v, k!=v, k and !k only)")
        neg, key, op, value = m.groups()
        out[key] = ("!" if neg else "exists", None) if op is None else ("!=" if op == "!=" else "=", value)
    return out


def matches(labels: dict[str, str], selector: dict[str, tuple[str, str | None]]) -> bool:
    for key, (op, value) in selector.items():
        if op == "=" and labels.get(key) != value:
            return False
        if (op == "!=" and labels.get(key) == value) or (op == "!" and key in labels):
            return False
        if op == "exists" and key not in labels:
            return False
    return True


def matches_fields(obj: dict[str, Any], selector: dict[str, tuple[str, str | None]]) -> bool:
    for dotted, (op, value) in selector.items():
        node: Any = obj
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        text = "" if node is None else str(node)
        if (op == "=" and text != value) or (op == "!=" and text == value):
            return False
    return True
