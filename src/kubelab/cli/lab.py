"""``kubelab lab``: write, check and price a lab definition file (``lab.yaml``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kubelab.cli._output import emit, emit_json, format_option

__all__ = ["lab"]


@click.group(epilog="""\b
Examples:
  kubelab lab init lab.yaml
  kubelab lab check lab.yaml
  kubelab lab cost lab.yaml --users 10
  kubelab lab schema > lab.schema.json""")
def lab() -> None:
    """One definition file for a team's lab on Kubernetes: node pools, JupyterHub, the tuning stack, model
    servers and a budget. Check it before you deploy, and know what it costs."""


@lab.command(short_help="Check a lab file: every problem at once, with where and how to fix.", epilog="""\b
Examples:
  kubelab lab check lab.yaml
  kubelab lab check lab.yaml --format json
  kubelab lab check lab.yaml --strict        # in CI: warnings fail too
  kubelab lab init - --provider gke | kubelab lab check -""")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1), for CI.")
@format_option("table", "json")
def check(file: str, strict: bool, fmt: str) -> None:
    """Check FILE (- for stdin): keys, types and quantities, then whether it can work (pods that fit their nodes, GPUs,
    spot nodes, timeouts, https and authentication). Prints every problem at once; exits 1 on errors (with
    --strict on warnings too), 0 otherwise."""
    from kubelab.errors import KubelabError
    from kubelab.lab import check_file, check_text

    report = check_text(sys.stdin.read()) if file == "-" else check_file(file)
    if fmt == "json":
        emit_json({"file": report.file, "ok": report.ok, "errors": len(report.errors),
                   "warnings": len(report.warnings),
                   "findings": [{"severity": f.severity, **_problem_dict(f.problem)} for f in report.findings]})
    else:
        _print_findings(report.findings)
    summary = _summary(report.file, len(report.errors), len(report.warnings))
    if not report.ok or (strict and report.warnings):
        raise KubelabError(summary)  # exit 1; the findings are above
    if fmt != "json":
        click.echo(summary, err=True)


def _print_findings(findings: Any) -> None:
    for finding in findings:
        color = "red" if finding.severity == "error" else "yellow"
        click.echo(click.style(f"{finding.severity}:", fg=color) + f" {finding.problem}")


def _problem_dict(problem: Any) -> dict[str, Any]:
    return {"file": problem.file, "line": problem.line, "column": problem.column, "path": problem.path,
            "message": problem.message, "hint": problem.hint}


def _summary(file: str, errors: int, warnings: int) -> str:
    if not errors and not warnings:
        return f"{file}: ok"
    parts = [f"{errors} error{'s' * (errors != 1)}" if errors else "",
             f"{warnings} warning{'s' * (warnings != 1)}" if warnings else ""]
    return f"{file}: " + ", ".join(p for p in parts if p)


@lab.command(short_help="Write a commented starter lab file that passes check.", epilog="""\b
Examples:
  kubelab lab init                 # writes lab.yaml here
  kubelab lab init labs/team.yaml --provider gke
  kubelab lab init - | less""")
@click.argument("path", default="lab.yaml", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--provider", type=click.Choice(["digitalocean", "gke", "eks"]), default="digitalocean",
              show_default=True, help="Whose machine types, spot policy and prices the starter uses.")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def init(path: str, provider: str, force: bool) -> None:
    """Write a commented starter lab definition to PATH (default lab.yaml; - for stdout). It uses every
    section and passes `kubelab lab check` as written: edit it from there."""
    from kubelab.errors import KubelabError
    from kubelab.lab import starter_text

    text = starter_text(provider)
    if path == "-":
        click.echo(text, nl=False)
        return
    target = Path(path)
    if target.exists() and not force:
        raise KubelabError(f"{path} already exists; use --force to overwrite it, or give another path")
    if not target.parent.is_dir():
        raise KubelabError(f"{target.parent} is not a directory; create it first")
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {path}; next: kubelab lab check {path}", err=True)


@lab.command(short_help="Print the JSON Schema of lab files, for editors.", epilog="""\b
Examples:
  kubelab lab schema > lab.schema.json
  # VS Code (YAML extension): first line of lab.yaml
  # yaml-language-server: $schema=./lab.schema.json""")
def schema() -> None:
    """Print the JSON Schema of lab.yaml, for editors' completion and validation."""
    from kubelab.lab import json_schema

    emit_json(json_schema())


_COST_COLUMNS = ["pool", "size", "spot", "usd_per_node", "nodes", "idle", "typical", "peak"]
_SCENARIOS = ("idle", "typical", "peak")


def _cost_rows(report: Any) -> list[dict[str, Any]]:
    """One row per pool, then the fixed items and the total (USD a month, per scenario)."""
    rows: list[dict[str, Any]] = [
        {"pool": p.pool, "size": p.size, "spot": "yes" if p.spot else "no", "usd_per_node": f"{p.node_month:.2f}",
         "nodes": "/".join(str(p.nodes[s]) for s in _SCENARIOS), **{s: f"{p.cost[s]:.2f}" for s in _SCENARIOS}}
        for p in report.pools]
    rows += [{"pool": name.replace("_", " "), **{s: f"{value:.2f}" for s in _SCENARIOS}}
             for name, value in report.items.items()]
    rows.append({"pool": "total", **{s: f"{report.totals[s]:.2f}" for s in _SCENARIOS}})
    return rows


@lab.command(short_help="Monthly cost at idle, typical and peak use, against the budget.", epilog="""\b
Examples:
  kubelab lab cost lab.yaml
  kubelab lab cost lab.yaml --users 10
  kubelab lab cost lab.yaml --prices my-prices.yaml --format json
  kubelab lab cost lab.yaml --format csv > cost.csv""")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--users", type=click.IntRange(min=0), default=None,
              help="Users at peak [default: users.peak of FILE].")
@click.option("--prices", "prices", type=click.Path(dir_okay=False), default=None,
              help="A price file laid over the shipped catalog (same layout as kubelab/lab/prices.yaml).")
@format_option("table", "csv", "json")
def cost(file: str, users: int | None, prices: str | None, fmt: str) -> None:
    """Monthly cost of FILE per pool and in total: at idle (minimum nodes), at typical use and at peak, with
    volumes, the load balancer and the control-plane fee, from list prices with their source and date.
    Exits 1 when typical use is over the budget."""
    from kubelab.errors import KubelabError
    from kubelab.lab import cost_file

    report, findings = cost_file(file, prices, users)
    if fmt == "json":
        emit_json({**report.as_dict(), "findings": [{"severity": f.severity, **_problem_dict(f.problem)}
                                                    for f in findings]})
    else:
        if fmt == "table":
            n = report.users
            click.echo(f"{report.lab} on {report.provider}, USD a month; users: idle {n['idle']}, "
                       f"typical {n['typical']}, peak {n['peak']}")
        emit(_cost_rows(report), _COST_COLUMNS, fmt)
        if report.budget is not None and fmt == "table":
            click.echo(f"budget: {report.budget:.2f}")
        if fmt == "table":
            _print_findings(findings)
        else:
            for finding in findings:
                click.echo(f"{finding.severity}: {finding.problem}", err=True)
        for note in report.notes:
            click.echo(f"note: {note}", err=True)
        dates = sorted({s["date"] for s in report.sources})
        click.echo(f"prices: list prices as of {', '.join(dates)}; sources with --format json", err=True)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise KubelabError(f"{file}: over budget")


# --- kubelab lab render (lab-render branch): the command lives in its own module -----------------------------
from kubelab.cli._lab_render import render  # noqa: E402

lab.add_command(render)

# --- kubelab lab apply: render in memory, then the Kubernetes apply engine -------------------------------------
from kubelab.cli._lab_apply import apply  # noqa: E402

lab.add_command(apply)
