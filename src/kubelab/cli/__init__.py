"""The ``kubelab`` command: a thin front over the library, one module per command group.

Subcommands are imported only when run, so ``kubelab --help`` stays instant. Exit codes: 0 success,
1 a user error (message, no traceback; ``KUBELAB_DEBUG=1`` shows it), 2 bad usage.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys

import click

from kubelab import __version__

__all__ = ["main"]

# name -> ("module:attribute", one-line help). A module that is not there yet is simply not listed.
COMMANDS: dict[str, tuple[str, str]] = {
    "tune": ("kubelab.cli.tune:tune", "Search hyper-parameters (grid, random, TPE) over local or remote workers."),
    "serve": ("kubelab.cli.serve:serve", "Serve a model over HTTP (JSON and the Open Inference Protocol)."),
    "loadtest": ("kubelab.cli.loadtest:loadtest", "Load-test an HTTP endpoint and report honest percentiles."),
    "monitor": ("kubelab.cli.monitor:monitor", "Sample CPU and memory of a server or of Kubernetes pods."),
    "recipe": ("kubelab.cli.recipe:recipe", "Find the cheapest deployment that meets a latency objective."),
    "lab": ("kubelab.cli.lab:lab", "Check, render, price and apply a lab definition file."),
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (target, _) in COMMANDS.items() if _module_exists(target)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry[0]):
            return None
        module, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    epilog="""\b
Examples:
  kubelab tune run examples/turbofan-small.yaml
  kubelab tune results turbofan-small --top 5
  kubelab tune run spec.yaml --broker amqp://guest:guest@localhost/ --store postgresql://localhost/kubelab

Set KUBELAB_DEBUG=1 to see tracebacks.""",
)
@click.version_option(__version__, prog_name="kubelab")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def cli(verbose: int) -> None:
    """kubelab: an ML platform for a small team, on a laptop or on Kubernetes."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kubelab`` console script; returns the exit code (``ctx.exit(n)`` gives ``n``)."""
    from kubelab.errors import KubelabError

    try:
        result = cli.main(args=argv, prog_name="kubelab", standalone_mode=False)
        return result if isinstance(result, int) and not isinstance(result, bool) else 0
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KubelabError as exc:
        if os.environ.get("KUBELAB_DEBUG"):
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
