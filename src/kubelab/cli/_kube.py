"""CLI pieces shared by commands that talk to Kubernetes: the connection options and apply progress."""

from __future__ import annotations

from typing import Any

import click

from kubelab.cli._output import F

__all__ = ["ApplyPrinter", "kube_options"]


def kube_options(f: F) -> F:
    """``--kubeconfig`` and ``--context`` (passed on as ``kubeconfig`` and ``kube_context``)."""
    f = click.option("--context", "kube_context", metavar="NAME",
                     help="Kubeconfig context [default: the current one].")(f)
    return click.option("--kubeconfig", type=click.Path(dir_okay=False), metavar="FILE",
                        help="Kubeconfig file [env KUBECONFIG; default ~/.kube/config].")(f)


class ApplyPrinter:
    """Prints each ``kubelab.kube.ApplyEvent`` on stderr: ``created  Deployment lab/workers  (workers)``."""

    _STYLE = {"created": "green", "configured": "yellow", "pruned": "red", "ready": "green", "waiting": "cyan"}

    def __init__(self, dry_run: bool = False) -> None:
        self._suffix = " (dry run)" if dry_run else ""

    def __call__(self, event: Any) -> None:
        action = click.style(f"{event.action:<10}", fg=self._STYLE.get(event.action))
        source = f"  ({event.source})" if event.source else ""
        detail = f"  {event.detail}" if event.detail else ""
        suffix = self._suffix if event.action in ("created", "configured", "pruned") else ""
        click.echo(f"{action} {event.ref}{source}{detail}{suffix}", err=True)
