"""Which cluster to talk to: ``--kubeconfig`` > ``KUBECONFIG`` > ``~/.kube/config`` > in-cluster account."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelab.errors import ClusterError

__all__ = ["ClusterConfig", "load_config"]

_SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class ClusterConfig:
    """A resolved connection: the lightkube ``SingleConfig`` plus where it came from (for messages)."""

    single: Any  # lightkube.config.kubeconfig.SingleConfig
    source: str  # the kubeconfig path, or "in-cluster service account"
    context: str
    server: str
    namespace: str


def _candidates(kubeconfig: str | None, environ: Mapping[str, str]) -> tuple[list[Path], str]:
    if kubeconfig:
        return [Path(kubeconfig).expanduser()], "--kubeconfig"
    env = environ.get("KUBECONFIG", "")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p], "KUBECONFIG"
    home = environ.get("HOME") or str(Path.home())
    return [Path(home) / ".kube" / "config"], "the default location"


def load_config(kubeconfig: str | None = None, context: str | None = None, *,
                environ: Mapping[str, str] | None = None) -> ClusterConfig:
    """Resolve the kubeconfig file and context; every failure says which file and what to do.

    Args:
        kubeconfig: An explicit kubeconfig path (``--kubeconfig``); else ``KUBECONFIG`` (the first file of
            the list that exists), else ``~/.kube/config``, else the in-cluster service account.
        context: A context name (``--context``); else the file's ``current-context``.
        environ: The environment to read (default ``os.environ``).
    """
    import yaml
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.core.exceptions import ConfigError

    env = os.environ if environ is None else environ
    paths, origin = _candidates(kubeconfig, env)
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        if origin == "the default location" and (_SERVICE_ACCOUNT / "token").is_file():
            single = KubeConfig.from_service_account(_SERVICE_ACCOUNT).get()
            assert single is not None
            return ClusterConfig(single, "in-cluster service account", "in-cluster", single.cluster.server,
                                 single.namespace)
        shown = os.pathsep.join(str(p) for p in paths)
        raise ClusterError(f"kubeconfig {shown} (from {origin}) not found; hint: pass --kubeconfig FILE, set "
                           "KUBECONFIG, or create ~/.kube/config (your cluster provider's CLI writes one)")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"kubeconfig {path}: cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), list) \
            or not isinstance(data.get("contexts"), list):
        raise ClusterError(f"kubeconfig {path}: not a kubeconfig (it needs 'clusters' and 'contexts' lists); "
                           "hint: check the file, or point --kubeconfig at the right one")
    try:
        config = KubeConfig.from_dict(data, fname=path)
    except (KeyError, TypeError, ValueError) as exc:
        raise ClusterError(f"kubeconfig {path}: malformed entry ({exc})") from None
    names = sorted(config.contexts)
    try:
        single = config.get(context_name=context)
    except ConfigError:
        if context is None:
            raise ClusterError(f"kubeconfig {path}: no current-context set; hint: pass --context, one of: "
                               f"{', '.join(names) or '(none)'}") from None
        raise ClusterError(f"kubeconfig {path}: no context {context!r}; hint: use one of: "
                           f"{', '.join(names) or '(none)'}") from None
    except KeyError as exc:
        raise ClusterError(f"kubeconfig {path}: context {context or config.current_context!r} refers to "
                           f"{exc} which the file does not define") from None
    assert single is not None
    return ClusterConfig(single, str(path), single.context_name, single.cluster.server, single.namespace)
