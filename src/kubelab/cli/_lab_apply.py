"""``kubelab lab apply``: check a lab file, render it in memory and server-side apply it to a cluster."""

from __future__ import annotations

from pathlib import Path

import click

from kubelab.cli._kube import kube_options, run_apply
from kubelab.cli._output import format_option, warn

__all__ = ["apply"]


@click.command(short_help="Apply a lab to a Kubernetes cluster: server-side apply, prune, rollout, diagnosis.",
               epilog="""\b
Examples:
  kubelab lab apply lab.yaml --dry-run                 # what would change (server-side dry run)
  kubelab lab apply lab.yaml                           # apply, prune what left the file, wait for rollout
  kubelab lab apply lab.yaml --secrets deploy/secrets  # with the passwords `lab render` drew before
  kubelab lab apply lab.yaml --context prod --no-wait --format json""")
@click.argument("file", type=click.Path(dir_okay=False))
@kube_options
@click.option("--dry-run", is_flag=True, help="Server-side dry run: the API server checks everything, changes nothing.")
@click.option("--secrets", "secrets_dir", type=click.Path(file_okay=False, exists=True), default=None,
              metavar="DIR", help="Use the secrets `kubelab lab render` kept in DIR (DIR/secrets) instead of "
                                  "drawing new ones for Secrets the cluster does not have yet.")
@click.option("--force-conflicts", "force", is_flag=True,
              help="Take over fields another field manager owns (kubectl edit, another tool).")
@click.option("--no-prune", is_flag=True, help="Keep objects of an earlier apply that are no longer in FILE.")
@click.option("--no-wait", is_flag=True, help="Return once applied; do not wait for rollouts.")
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True,
              help="Seconds to wait for Deployments and StatefulSets to become ready.")
@format_option("table", "json")
def apply(file: str, kubeconfig: str | None, kube_context: str | None, dry_run: bool, secrets_dir: str | None,
          force: bool, no_prune: bool, no_wait: bool, timeout: float, fmt: str) -> None:
    """Check FILE, render it (as `kubelab lab render` does, nothing written) and apply every object with
    server-side apply (field manager kubelab). A second apply of the same file changes nothing; objects an
    earlier apply made that FILE no longer has are pruned; rollouts are followed, and what keeps a pod from
    running (no node with enough memory, quota, image pull, crash loop, unbound volume) is reported with
    the definition key it came from. Generated Secrets are created once and never overwritten.

    The JupyterHub chart and the cluster's node pools are not applied here: FILE's `lab render` README says
    how (helm, terraform)."""
    from kubelab.lab import check_file
    from kubelab.lab.render import SecretBank, read_secrets, render_lab

    report = check_file(file)
    for finding in report.warnings:
        warn(str(finding.problem))
    lab = report.raise_for_errors()
    bank = SecretBank(read_secrets(Path(secrets_dir))) if secrets_dir else SecretBank()
    rendered = render_lab(lab, bank=bank)
    run_apply(rendered.objects(), lab=lab.metadata.name, kubeconfig=kubeconfig, kube_context=kube_context,
              dry_run=dry_run, force=force, prune=not no_prune, wait=not no_wait, timeout=timeout, fmt=fmt)
