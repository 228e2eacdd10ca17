"""``kubelab loadtest --monitor``: the options, which target they name, and the ``resources`` summary block.

The sampling itself is ``kubelab.monitor.Monitor`` on a target from ``open_target``; this module only maps the
load test's options onto them (a bare ``--monitor`` is the server behind the URL, found by its port when the URL
is on this machine) and condenses the samples into the summary's ``resources`` block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from kubelab.cli._kube import kube_options
from kubelab.cli._output import F
from kubelab.cli.monitor import Duration

if TYPE_CHECKING:
    from kubelab.monitor import Sample, Target

__all__ = ["RESOURCE_UNITS", "monitor_options", "monitor_target", "resources_block"]

#: Units of the ``resources`` block's keys (for the table).
RESOURCE_UNITS = {"interval_s": "s", "cpu_use_core_mean": "cores", "cpu_use_core_max": "cores",
                  "mem_use_KB_max": "KiB"}


def monitor_options(f: F) -> F:
    """``--monitor`` and its ``--monitor-*`` options, ``--kubeconfig`` and ``--context``."""
    options = [
        click.option("--monitor", "monitor", is_flag=True,
                     help="Also sample the server's CPU, memory and replicas (as kubelab monitor does): the "
                          "process on the URL's port (a URL on this machine) unless --monitor-port, --monitor-pid "
                          "or --monitor-selector says otherwise; any --monitor-* option implies --monitor."),
        click.option("--monitor-port", type=click.IntRange(1, 65535), metavar="PORT",
                     help="Monitor the local process listening on PORT, workers included."),
        click.option("--monitor-pid", "monitor_pids", type=click.IntRange(min=1), multiple=True, metavar="PID",
                     help="Monitor local process PID and its children (repeat)."),
        click.option("--monitor-selector", metavar="SELECTOR",
                     help="Monitor Kubernetes pods by label selector, e.g. app=ml-app (usage from the metrics API)."),
        click.option("--monitor-namespace", metavar="NS", help="Namespace of --monitor-selector [default: the "
                                                               "context's]."),
        kube_options,
        click.option("--monitor-interval", type=Duration(), default=None, metavar="DURATION",
                     help="Time between resource samples: 1s, 500ms, … [default: 1s]."),
        click.option("--monitor-out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
                     help="The samples as kubelab monitor's CSV (the seed's columns)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def monitor_target(url: str, *, monitor: bool, port: int | None, pids: Sequence[int], selector: str | None,
                   namespace: str | None, kubeconfig: str | None, kube_context: str | None, interval: float | None,
                   out: str | None) -> Target | None:
    """The ``kubelab.monitor`` target the options name, or None when none asks for monitoring.

    Raises:
        click.UsageError: Options that contradict each other, or a bare ``--monitor`` on a remote URL.
        MonitorError, ClusterError: The target cannot be found (nothing on the port, no such pid, …).
    """
    from kubelab.errors import MonitorError
    from kubelab.monitor import open_target

    chosen = [name for name, given in (("--monitor-port", port is not None), ("--monitor-pid", bool(pids)),
                                       ("--monitor-selector", bool(selector))) if given]
    if len(chosen) > 1:
        raise click.UsageError(f"give one of --monitor-port, --monitor-pid or --monitor-selector, not "
                               f"{' and '.join(chosen)}")
    if (namespace or kubeconfig or kube_context) and not selector:
        raise click.UsageError("--monitor-namespace, --kubeconfig and --context go with --monitor-selector")
    if not (monitor or chosen or interval is not None or out):
        return None
    if not chosen:
        port = _loopback_port(url)
        try:
            return open_target(port=port, pid_option="--monitor-pid")
        except MonitorError as exc:
            raise MonitorError(f"--monitor (port {port} of the URL): {exc}") from None
    return open_target(pids=pids, port=port, selector=selector, namespace=namespace, kubeconfig=kubeconfig,
                       context=kube_context, pid_option="--monitor-pid")


def _loopback_port(url: str) -> int:
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise click.UsageError(f"--monitor alone monitors the server on this machine behind the URL, but {host!r} "
                               "is not a loopback address; give --monitor-pid, --monitor-port or --monitor-selector")
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # an out-of-range port: build_request says what is wrong with the URL
        raise click.UsageError(f"--monitor: {url!r} has no valid port; give --monitor-port") from None


def resources_block(target: Target, interval: float, samples: Sequence[Sample]) -> dict[str, Any]:
    """The summary's ``resources``: what was monitored, and mean/max CPU, max memory and max replicas."""
    from kubelab.monitor import summarize

    stats = {row["column"]: row for row in summarize(samples)}
    cpu = stats["cpu_use_core"]
    return {"target": target.describe(), "interval_s": interval, "samples": len(samples),
            "cpu_use_core_mean": cpu["mean"], "cpu_use_core_max": None if cpu["max"] is None else round(cpu["max"], 3),
            "mem_use_KB_max": stats["mem_use_KB"]["max"], "n_replica_max": stats["n_replica"]["max"]}
