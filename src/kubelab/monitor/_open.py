"""Build the right ``Target`` from the options a command takes (``kubelab monitor``, ``loadtest --monitor``)."""

from __future__ import annotations

from collections.abc import Sequence

from kubelab.errors import MonitorError
from kubelab.monitor._target import Target

__all__ = ["open_target"]


def open_target(*, pids: Sequence[int] = (), port: int | None = None, command: Sequence[str] | str | None = None,
                selector: str | None = None, namespace: str | None = None, kubeconfig: str | None = None,
                context: str | None = None, pid_option: str = "--pid") -> Target:
    """A ``LocalTarget`` (``pids``, ``port`` or ``command``) or a ``KubeTarget`` (``selector``, with
    ``namespace``, ``kubeconfig``, ``context``); exactly one kind of selection must be given. ``pid_option``
    is the caller's option for a pid, named in the hint when nothing listens on ``port``."""
    if sum(bool(x) for x in (pids, port is not None, command, selector)) != 1:
        raise MonitorError("give exactly one of --pid, --port, --selector, or a command after --")
    if (namespace or kubeconfig or context) and not selector:
        raise MonitorError("--namespace, --kubeconfig and --context go with --selector")
    if selector:
        from kubelab.kube import Cluster
        from kubelab.monitor._kube import KubeTarget

        return KubeTarget(Cluster(kubeconfig, context), selector, namespace)
    from kubelab.monitor._local import LocalTarget

    return LocalTarget(pids=pids, port=port, command=command or None, pid_option=pid_option)
