"""Generated secrets that are made once and then kept: never a default password, never a silent rotation.

Passwords and tokens are drawn from ``secrets.token_urlsafe`` (192 bits) the first time a lab is rendered
into a directory, written as Secret manifests to ``DIR/secrets/`` (mode 0600, and ``DIR/.gitignore`` keeps
them out of git), and read back on every later render into the same directory, so rendering twice, or
after editing the definition, gives the same passwords: a broker or database already deployed keeps
working. Rendering into a new directory makes new ones; copy ``secrets/`` along to keep them. Secrets are
written by kubelab rather than left to the cluster because the URLs the workers use embed the password.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubelab.errors import RenderError

__all__ = ["SecretBank", "read_secrets"]


def _token() -> str:
    return secrets.token_urlsafe(24)


class SecretBank:
    """Secret values by (secret name, key): the ones already rendered, or new random ones."""

    def __init__(self, existing: dict[str, dict[str, str]] | None = None,
                 token: Callable[[], str] = _token) -> None:
        self._values = {name: dict(data) for name, data in (existing or {}).items()}
        self._token = token
        self.generated: list[tuple[str, str]] = []
        """(secret, key) pairs drawn in this render: new secrets the user has not deployed yet."""

    def random(self, secret: str, key: str) -> str:
        """The value of ``key`` in ``secret``: kept from an earlier render, or drawn now."""
        data = self._values.setdefault(secret, {})
        if not data.get(key):
            data[key] = self._token()
            self.generated.append((secret, key))
        return data[key]


def read_secrets(directory: Path) -> dict[str, dict[str, str]]:
    """The Secrets an earlier render wrote to ``directory`` (``{name: {key: value}}``; empty if none).

    Raises:
        RenderError: a file there is not a readable Secret manifest; it is never silently replaced.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    found: dict[str, dict[str, str]] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc: Any = yaml.load(path.read_text(), Loader=loader)
            if not isinstance(doc, dict) or doc.get("kind") != "Secret":
                raise ValueError("not a Kubernetes Secret")
            name = str(doc["metadata"]["name"])
            data = {str(k): str(v) for k, v in (doc.get("stringData") or {}).items()}
            for k, v in (doc.get("data") or {}).items():
                data[str(k)] = base64.b64decode(str(v), validate=True).decode()
        except (OSError, yaml.YAMLError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise RenderError(f"{path}: cannot read the secret kept from an earlier render ({exc}); "
                               "hint: fix or delete the file (deleting it makes a new password, which breaks "
                               "a deployed lab until it is applied again)") from None
        found[name] = data
    return found
