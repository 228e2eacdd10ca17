"""``kubelab lab render``: a checked definition → manifests, JupyterHub values, Terraform and a README."""

from __future__ import annotations

from pathlib import Path

import click

from kubelab.cli._output import emit_json, format_option, warn

__all__ = ["render"]


@click.command(short_help="Write manifests, JupyterHub values and Terraform for a lab file.", epilog="""\b
Examples:
  kubelab lab render lab.yaml --out deploy/
  kubelab lab render lab.yaml --out deploy/ --force        # again, keeping deploy/secrets/
  kubelab lab render lab.yaml --out deploy/ --validate     # also check every file against its schema
  kubelab lab render lab.yaml --out deploy/ --format json""")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Directory to write: manifests/, secrets/, jupyterhub/values.yaml, terraform/, README.md.")
@click.option("--force", is_flag=True,
              help="Render into DIR although it is not empty (files of an earlier render are replaced; its "
                   "generated secrets are kept).")
@click.option("--validate", is_flag=True,
              help="Check every object against the Kubernetes 1.30-1.35 schemas and the values against the "
                   "chart's schema before writing (needs kubelab[lab]).")
@format_option("table", "json")
def render(file: str, out: str, force: bool, validate: bool, fmt: str) -> None:
    """Render FILE into DIR: Kubernetes manifests (namespace, RabbitMQ, PostgreSQL, tuning workers with
    KEDA, models with HPA, network policies), generated secrets, JupyterHub Helm values with sizes and
    timeouts derived from the node pools, Terraform for DigitalOcean, and a README with the commands that
    apply them. FILE is checked first; errors stop the render, warnings are printed."""
    from kubelab.lab import check_file
    from kubelab.lab.render import helm_command, render_to_directory

    report = check_file(file)
    for finding in report.warnings:
        warn(str(finding.problem))
    lab = report.raise_for_errors()
    target = Path(out)
    rendered = render_to_directory(lab, target, force=force, validate=validate)
    files = sorted([*rendered.manifests, *rendered.secrets, *rendered.texts]
                   + (["jupyterhub/values.yaml"] if rendered.hub_values is not None else []))
    generated = [f"{secret}/{key}" for secret, key in rendered.generated]
    if fmt == "json":
        emit_json({"out": str(target), "files": files, "objects": len(rendered.objects()),
                   "generated_secrets": generated, "validated": validate,
                   "helm": helm_command(lab) if rendered.hub_values is not None else None})
        return
    for name in files:
        click.echo(str(target / name))
    if generated:
        click.echo(f"new secrets drawn: {', '.join(generated)} (kept in {target / 'secrets'}; render into the "
                   "same directory again to keep them)", err=True)
    click.echo(f"{len(rendered.objects())} objects{' validated' if validate else ''}; "
               f"next: see {target / 'README.md'}", err=True)
