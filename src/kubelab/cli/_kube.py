"""CLI pieces shared by commands that talk to Kubernetes: the connection options and apply progress."""

from __future__ import annotations

from typing import Any

import click

from kubelab.cli._output import F

__all__ = ["ApplyPrinter", "kube_options", "run_apply"]


def kube_options(f: F) -> F:
    """``--kubeconfig`` and ``--context`` (passed on as ``kubeconfig`` and ``kube_context``)."""
    f = click.option("--context", "kube_context", metavar="NAME",
                     help="Kubeconfig context [default: the current one].")(f)
    return click.option("--kubeconfig", type=click.Path(dir_okay=False), metavar="FILE",
                        help="Kubeconfig file [env KUBECONFIG; default ~/.kube/config].")(f)


class ApplyPrinter:
    """Prints each ``kubelab.kube.ApplyEvent`` on stderr: ``created  Deployment lab/workers  (workers)``."""

    _STYLE = {"created": "green", "configured": "yellow", "pruned": "red", "kept": "magenta", "ready": "green",
              "waiting": "cyan"}

    def __init__(self, dry_run: bool = False) -> None:
        self._suffix = " (dry run)" if dry_run else ""

    def __call__(self, event: Any) -> None:
        action = click.style(f"{event.action:<10}", fg=self._STYLE.get(event.action))
        source = f"  ({event.source})" if event.source else ""
        detail = f"  {event.detail}" if event.detail else ""
        suffix = self._suffix if event.action in ("created", "configured", "pruned") else ""
        click.echo(f"{action} {event.ref}{source}{detail}{suffix}", err=True)


_COUNTED = ("created", "configured", "unchanged", "pruned")


def run_apply(objects: list[dict[str, Any]], *, lab: str, kubeconfig: str | None = None,
              kube_context: str | None = None, dry_run: bool = False, force: bool = False, prune: bool = True,
              wait: bool = True, timeout: float = 300.0, fmt: str = "table") -> Any:
    """What an ``apply`` command does after it has its objects: connect, apply with progress on stderr,
    and a summary on stdout (``table``: one line of counts; ``json``: counts and every step).

    Returns the ``ApplyResult``; failures raise ``ApplyFailed``/``ClusterError`` (the CLI prints them).
    """
    from kubelab.cli._output import emit_json
    from kubelab.kube import Cluster, apply

    with Cluster(kubeconfig, kube_context) as cluster:
        click.echo(f"applying {len(objects)} objects of lab {lab} to {cluster.config.server} (context "
                   f"{cluster.config.context}){' as a server-side dry run' if dry_run else ''}", err=True)
        result = apply(cluster, objects, lab=lab, dry_run=dry_run, force=force, prune=prune, wait=wait,
                       timeout=timeout, on_progress=ApplyPrinter(dry_run))
    counts = {action: result.count(action) for action in _COUNTED}
    if fmt == "json":
        emit_json({"lab": lab, "dry_run": dry_run, **counts,
                   "steps": [{"action": e.action, "object": e.ref, "source": e.source, "detail": e.detail}
                             for e in result.events]})
    else:
        verb = "would be " if dry_run else ""
        click.echo(f"{lab}: " + ", ".join(f"{n} {verb}{action}" for action, n in counts.items()))
    return result
