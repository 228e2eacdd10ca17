"""``kubelab recipe``: the cheapest deployment of a model that meets a latency objective.

``kubelab recipe MODEL …`` is short for ``kubelab recipe find MODEL …``: a group whose default
subcommand is ``find``, so the common case reads as one command while ``simulate`` and ``profile``
stay discoverable in ``kubelab recipe --help``. (A model file literally named ``simulate`` or
``profile`` needs the explicit ``find``.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from kubelab.cli._output import emit, emit_json, format_option, warn

__all__ = ["recipe"]


class _DefaultGroup(click.Group):
    """A group that runs ``find`` when the first argument is not one of its subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["find", *args]
        return super().parse_args(ctx, args)


@click.group(
    cls=_DefaultGroup,
    epilog="""\b
Examples:
  kubelab recipe model.onnx --slo-p99-ms 100 --load course --out recipe/
  kubelab recipe model.onnx --slo-p99-ms 200 --load sine:mean=40,amp=30,period=1h --duration 1d \\
      --profile-file profile.yaml --price-catalog prices.yaml --out recipe/
  kubelab recipe simulate recipe.yaml --load course --slo-p99-ms 100 --profile-file profile.yaml
  kubelab recipe profile model.onnx --out profile.yaml""",
)
def recipe() -> None:
    """Find the cheapest deployment (requests, limits, replicas, HPA target) of a model whose simulated p99
    latency meets an objective; simulate a hand-written recipe; profile a model server.

    `kubelab recipe MODEL ...` is short for `kubelab recipe find MODEL ...`."""


_SLO = click.option(
    "--slo-p99-ms",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="Latency objective: each minute's p99 must stay at or under this many milliseconds.",
)
_LOAD = click.option(
    "--load",
    "load_text",
    required=True,
    metavar="PROFILE",
    help="Load profile as for kubelab loadtest: course, constant:50@1h, step:10,50@10m, sine:..., spike:..., FILE.csv.",
)
_DURATION = click.option("--duration", help="Length of profiles that give none (e.g. 1h, 1d) [default 1h].")
_PROFILE_FILE = click.option(
    "--profile-file",
    type=click.Path(dir_okay=False),
    help="A server profile written by `kubelab recipe profile` (skips profiling).",
)
_SYNTHETIC = click.option(
    "--synthetic-profile",
    is_flag=True,
    help="Use a clearly labelled synthetic server profile instead of measuring one (demos, CI).",
)
_BALANCING = click.option(
    "--balancing",
    type=click.Choice(["round-robin", "least-connection"]),
    default="round-robin",
    show_default=True,
    help="How the Service spreads requests over ready replicas.",
)


def _schedule(load_text: str, duration: str | None) -> Any:
    from kubelab.load import parse_duration, parse_profile
    from kubelab.recipe._schedule import Schedule

    text = (duration or "1h").strip()
    if text.endswith("d") and text[:-1].replace(".", "", 1).isdigit():
        seconds = float(text[:-1]) * 86400
    else:
        seconds = parse_duration(text)
    return Schedule.from_profile(parse_profile(load_text, duration=seconds))


def _server_profile(profile_file: str | None, synthetic: bool, model: str | None) -> Any:
    from kubelab.recipe._server import load_profile, synthetic_profile

    if profile_file and synthetic:
        raise click.UsageError("give --profile-file or --synthetic-profile, not both")
    if profile_file:
        return load_profile(profile_file)
    if synthetic:
        warn("using a synthetic server profile: the recipe fits a made-up server, not your model")
        return synthetic_profile()
    if model is None:
        raise click.UsageError("give --profile-file FILE (from `kubelab recipe profile`) or --synthetic-profile")
    if not Path(model).is_file():
        raise click.BadParameter(
            f"{model}: file not found (it is profiled when no --profile-file is given)", param_hint="'MODEL'"
        )
    from kubelab.recipe._profile import profile_model

    click.echo(f"profiling {model} (several minutes; pass --profile-file to reuse a profile) ...", err=True)
    return profile_model(model, progress=lambda text: click.echo(f"  {text}", err=True))


_PRICE_HELP = (
    "YAML/JSON with cpu_core_hour, memory_gib_hour, or a kubelab price catalog (as for `lab cost --prices`) "
    "[default: a DigitalOcean s-2vcpu-2gb-amd node's list price in kubelab's catalog]."
)


def _prices(price_catalog: str | None) -> Any:
    from kubelab.recipe._cost import load_prices

    return load_prices(price_catalog)


@recipe.command(
    epilog="""\b
Examples:
  kubelab recipe find model.onnx --slo-p99-ms 100 --load course --out recipe/
  kubelab recipe find model.onnx --slo-p99-ms 100 --load course --synthetic-profile --out demo/ --format json
  kubelab recipe find model.onnx --slo-p99-ms 100 --load course --profile-file p.yaml --compare mine.yaml --out r/""",
)
@click.argument("model")
@_SLO
@_LOAD
@_DURATION
@click.option(
    "--out", type=click.Path(file_okay=False), required=True, help="Directory for recipe.yaml, manifests, report.html."
)
@click.option(
    "--price-catalog",
    type=click.Path(dir_okay=False),
    help=_PRICE_HELP,
)
@_PROFILE_FILE
@_SYNTHETIC
@_BALANCING
@click.option(
    "--image",
    default="kubelab:latest",
    show_default=True,
    help="Container image with kubelab and the model under /models/.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Simulate each candidate with this many random seeds; feasible only if all meet the objective.",
)
@click.option("--cpu-requests", default="0.25,0.5,0.75,1,1.5,2", show_default=True, help="CPU requests to try (cores).")
@click.option(
    "--limit-ratios", default="1,1.5,2", show_default=True, help="CPU limits to try, as multiples of the request."
)
@click.option(
    "--targets",
    default="30,40,50,60,70,80,90",
    show_default=True,
    help="HPA target utilisations to try (% of the request; above 100 only pays with limits above requests, "
    "and leans on free node CPU: see burst_cores).",
)
@click.option("--min-replicas", default="1,2,3", show_default=True, help="Minimum replica counts to try.")
@click.option(
    "--compare",
    "compare",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="RECIPE",
    help="A hand-written recipe file to simulate beside the recommendation in report.html (repeatable).",
)
@click.option(
    "--scale-down-windows",
    default="default,60",
    show_default=True,
    help="Scale-down stabilisation windows to try (s); 'default' = no behavior (the controller's 300 s).",
)
@format_option("table", "json")
def find(
    model: str,
    slo_p99_ms: float,
    load_text: str,
    duration: str | None,
    out: str,
    price_catalog: str | None,
    profile_file: str | None,
    synthetic_profile: bool,
    balancing: str,
    image: str,
    seeds: int,
    cpu_requests: str,
    limit_ratios: str,
    targets: str,
    min_replicas: str,
    scale_down_windows: str,
    compare: tuple[str, ...],
    fmt: str,
) -> None:
    """Profile MODEL (or read --profile-file), search recipes over the --load profile and write the cheapest
    one whose p99 meets --slo-p99-ms in at least 99 % of one-minute windows: recipe.yaml, Deployment,
    Service and HPA manifests (schema-checked) and report.html."""
    from kubelab.recipe._manifests import render, validate
    from kubelab.recipe._output import write_manifests, write_recipe, write_report
    from kubelab.recipe._recipe import load_recipe
    from kubelab.recipe._search import SearchSpace, search
    from kubelab.recipe._sim import SimConfig, simulate

    space = SearchSpace(
        cpu_requests=_numbers(cpu_requests, "--cpu-requests", float),
        limit_ratios=_numbers(limit_ratios, "--limit-ratios", float, at_least=1.0),
        targets=_numbers(targets, "--targets", int, at_least=1),
        min_replicas=_numbers(min_replicas, "--min-replicas", int, at_least=1),
        scale_down_windows=_windows(scale_down_windows),
    )
    started = time.perf_counter()
    others = [(Path(f).name, load_recipe(f)) for f in compare]  # check them before the long part
    prices = _prices(price_catalog)
    schedule = _schedule(load_text, duration)
    profile = _server_profile(profile_file, synthetic_profile, model)
    config = SimConfig(slo_p99=slo_p99_ms / 1000, balancing=balancing)  # type: ignore[arg-type]
    last = [0.0]

    def progress(done: int, total: int, best: Any) -> None:
        now = time.perf_counter()
        if now - last[0] >= 2 or done == total:
            last[0] = now
            cheapest = f"best so far: {best.recipe.describe()}" if best else "no feasible recipe yet"
            click.echo(f"simulated {done}/{total} candidates; {cheapest}", err=True)

    result = search(profile, schedule, prices, config, space=space, seeds=range(seeds), progress=progress)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile.save(out_dir / "profile.yaml")
    runners = result.runners_up()
    if result.best is None or result.best_run is None:
        rows = [c.row() for c in sorted(result.candidates, key=lambda c: (c.violation_fraction, c.cost))[:5]]
        _emit_candidates(rows, fmt)
        raise click.ClickException(
            f"no recipe in the search space meets p99 <= {slo_p99_ms:g} ms in 99 % of windows "
            "(closest shown above); hint: relax --slo-p99-ms, or a faster server profile is needed"
        )
    documents = render(result.best.recipe, model, image=image, startup_seconds=profile.startup_seconds)
    validate(documents)
    write_recipe(out_dir / "recipe.yaml", result.best_run, prices, model=model, load=load_text)
    write_manifests(out_dir, documents)
    write_report(
        out_dir / "report.html",
        f"Recipe for {model}",
        [
            ("recommended", result.best_run),
            *((name, simulate(plan, profile, schedule, config)) for name, plan in others),
        ],
        prices,
        profile,
        candidates=[result.best, *runners],
        subtitle=f"load {load_text}, objective p99 <= {slo_p99_ms:g} ms",
    )
    elapsed = time.perf_counter() - started
    rows = [{"rank": "best", **result.best.row()}] + [{"rank": "runner-up", **c.row()} for c in runners]
    if fmt == "json":
        emit_json({"recipe": result.best.recipe.to_dict(), "out": str(out_dir), "seconds": elapsed, "candidates": rows})
    else:
        _emit_candidates(rows, fmt)
        click.echo(
            f"wrote {out_dir}/recipe.yaml, deployment.yaml, service.yaml, hpa.yaml, report.html "
            f"({len(result.candidates)} candidates simulated in {elapsed:.0f} s)",
            err=True,
        )
        click.echo(
            f"create the server's token before applying: kubectl create secret generic "
            f"{documents[0]['metadata']['name']}-token --from-literal=token=$(openssl rand -hex 24)",
            err=True,
        )


def _numbers(text: str, option: str, kind: Any, *, at_least: float = 0.0) -> tuple[Any, ...]:
    try:
        values = tuple(kind(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers", param_hint=option) from None
    bad = [v for v in values if v < at_least or (at_least == 0.0 and v <= 0)]
    if bad:
        limit = f">= {at_least:g}" if at_least else "> 0"
        raise click.BadParameter(f"every value must be {limit}, not {bad[0]}", param_hint=option)
    return values


def _windows(text: str) -> tuple[int | None, ...]:
    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "default":
            values.append(None)
        elif part.isdigit() and int(part) <= 3600:
            values.append(int(part))
        else:
            raise click.BadParameter(
                f"{part!r} is not 'default' or a number of seconds from 0 to 3600", param_hint="--scale-down-windows"
            )
    return tuple(values)


def _emit_candidates(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        emit_json(rows)
    else:
        columns = [
            c
            for c in (
                "rank",
                "recipe",
                "cost",
                "cpu_core_hours",
                "violations_pct",
                "worst_p99_ms",
                "burst_cores",
                "feasible",
            )
            if any(c in r for r in rows)
        ]
        emit(rows, columns, fmt)


@recipe.command(
    epilog="""\b
Examples:
  kubelab recipe simulate recipe.yaml --load course --slo-p99-ms 100 --profile-file profile.yaml
  kubelab recipe simulate recipe.yaml --load step:5,40,5@10m --slo-p99-ms 150 --synthetic-profile --out sim/""",
)
@click.argument("recipe_file", metavar="RECIPE", type=click.Path(dir_okay=False))
@_SLO
@_LOAD
@_DURATION
@_PROFILE_FILE
@_SYNTHETIC
@_BALANCING
@click.option("--price-catalog", type=click.Path(dir_okay=False), help=_PRICE_HELP)
@click.option("--out", type=click.Path(file_okay=False), help="Also write report.html here.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@format_option("table", "json")
def simulate(
    recipe_file: str,
    slo_p99_ms: float,
    load_text: str,
    duration: str | None,
    profile_file: str | None,
    synthetic_profile: bool,
    balancing: str,
    price_catalog: str | None,
    out: str | None,
    seed: int,
    fmt: str,
) -> None:
    """Simulate a hand-written RECIPE (requests, limits, min/max replicas, target, behavior) over a load
    profile and print each minute: p50/p99, throughput, replicas, reserved CPU, whether the objective held."""
    from kubelab.recipe._output import write_report
    from kubelab.recipe._recipe import load_recipe
    from kubelab.recipe._sim import SimConfig
    from kubelab.recipe._sim import simulate as run

    plan = load_recipe(recipe_file)
    prices = _prices(price_catalog)
    schedule = _schedule(load_text, duration)
    profile = _server_profile(profile_file, synthetic_profile, None)
    config = SimConfig(slo_p99=slo_p99_ms / 1000, balancing=balancing, seed=seed)  # type: ignore[arg-type]
    result = run(plan, profile, schedule, config)
    cost = prices.cost(result.cpu_core_hours, result.memory_gib_hours)
    summary = {
        "recipe": plan.describe(),
        "windows_violating_pct": round(100 * result.violation_fraction, 2),
        "cpu_core_hours": round(result.cpu_core_hours, 4),
        "memory_gib_hours": round(result.memory_gib_hours, 4),
        "cost": round(cost, 6),
        "currency": prices.currency,
    }
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_report(
            Path(out) / "report.html",
            f"Simulation of {recipe_file}",
            [("recipe", result)],
            prices,
            profile,
            subtitle=f"load {load_text}, objective p99 <= {slo_p99_ms:g} ms",
        )
    if fmt == "json":
        emit_json({"summary": summary, "minutes": result.rows()})
        return
    columns = ["minute", "requests", "failed", "p50_ms", "p99_ms", "throughput", "replicas", "cpu_reserved", "violated"]
    emit(result.rows(), columns, fmt)
    click.echo(" ".join(f"{k}={v}" for k, v in summary.items()), err=True)


@recipe.command(
    epilog="""\b
Examples:
  kubelab recipe profile model.onnx --out profile.yaml
  kubelab recipe profile model.onnx --cpus 0.5,1,2 --out profile.json""",
)
@click.argument("model")
@click.option(
    "--out", type=click.Path(dir_okay=False), required=True, help="Where to write the profile (.yaml or .json)."
)
@click.option("--cpus", default="0.25,0.5,1,2", show_default=True, help="CPU allowances to measure, in cores.")
def profile(model: str, out: str, cpus: str) -> None:
    """Measure MODEL served by `kubelab serve`: service-time distribution and capacity at each CPU allowance
    (cgroup CPU quota where allowed, else CPU affinity), memory footprint, time to ready."""
    from kubelab.recipe._profile import profile_model

    try:
        allowances = tuple(float(c) for c in cpus.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{cpus!r} is not a comma-separated list of cores, e.g. 0.5,1,2", param_hint="--cpus"
        ) from None
    if any(c <= 0 for c in allowances):
        raise click.BadParameter("every allowance must be more than 0 cores", param_hint="--cpus")
    if not Path(model).is_file():
        raise click.BadParameter(f"{model}: file not found", param_hint="'MODEL'")
    result = profile_model(model, allowances=allowances, progress=lambda text: click.echo(text, err=True))
    result.save(out)
    click.echo(f"wrote {out} (allowances enforced with {result.method})", err=sys.stderr.isatty())
