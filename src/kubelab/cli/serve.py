"""``kubelab serve``: serve a model file over HTTP (JSON, the Open Inference Protocol v2, a page to try it)."""

from __future__ import annotations

import click

__all__ = ["serve"]


@click.command(epilog="""\b
Examples:
  kubelab serve model.ubj
  kubelab serve model.ubj --port 9000 --workers 2 --max-wait-ms 1
  kubelab serve model.skops --name churn --host 0.0.0.0 --token "$(openssl rand -hex 16)"
  curl -s localhost:8080/predict -d '{"instances": [[1, 2, 3]]}'""")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--name", help="Model name in /v2/models/{name} [default: the file name without suffix].")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="KUBELAB_SERVE_HOST",
              help="Address to listen on; anything but loopback wants --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("-w", "--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes on the one port (each loads the model).")
@click.option("--max-batch", type=click.IntRange(min=1), default=64, show_default=True,
              help="Most rows one predict call takes.")
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="How long a request may wait for others to share its batch (0: only those already queued).")
@click.option("--max-queue", type=click.IntRange(min=1), default=256, show_default=True,
              help="Requests waiting per worker before new ones get 503 with Retry-After.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=1 << 20, show_default=True,
              help="Largest request body; bigger ones get 413.")
@click.option("--token", envvar="KUBELAB_SERVE_TOKEN", metavar="SECRET",
              help="Require 'Authorization: Bearer SECRET' on all but the health checks [env KUBELAB_SERVE_TOKEN].")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads of each predict call.")
@click.option("--allow-pickle", is_flag=True,
              help="Load .pkl/.pickle/.joblib files, which run any code they hold: only for files you made.")
@click.option("--trust", "trusted", multiple=True, metavar="TYPE",
              help="A type a .skops file may hold beyond what skops trusts (repeatable).")
def serve(model: str, name: str | None, host: str, port: int, workers: int, max_batch: int, max_wait_ms: float,
          max_queue: int, max_body_bytes: int, token: str | None, threads: int,
          allow_pickle: bool, trusted: tuple[str, ...]) -> None:
    """Serve MODEL (.json/.ubj XGBoost, .txt LightGBM, .cbm CatBoost, .onnx, .skops scikit-learn) over HTTP.

    POST /predict {"instances": [[...]]} answers {"predictions": [...]}; /v2/models/NAME/infer speaks the
    Open Inference Protocol (KServe, MLServer); /healthz, /readyz, /metrics (Prometheus), /test (the
    sample row) and / (a page to try the model). Concurrent requests share predict calls (micro-batching);
    a full queue answers 503. SIGTERM stops gracefully: in-flight requests finish, exit 0.
    """
    from pathlib import Path

    from kubelab.cli._output import warn
    from kubelab.serve._app import ServeOptions
    from kubelab.serve._model import PICKLE_SUFFIXES
    from kubelab.serve._server import (
        ServerConfig,
        bind,
        build_app,
        describe,
        load,
        model_name,
        run_server,
        warn_exposed,
    )

    options = ServeOptions(name=model_name(model, name), max_batch=max_batch, max_wait_s=max_wait_ms / 1000,
                           max_queue=max_queue, max_body_bytes=max_body_bytes, token=token)
    config = ServerConfig(model=model, options=options, host=host, port=port, workers=workers,
                          allow_pickle=allow_pickle, trusted=trusted, threads=threads)
    if allow_pickle and Path(model).suffix.lower() in PICKLE_SUFFIXES:
        warn(f"{model}: loading a pickle runs any code it holds (--allow-pickle); serve only files you made, "
             "and prefer skops (.skops) or the model's own format")
    loaded = load(config)
    app = build_app(config, loaded)  # checks the metadata against the model before anything listens
    for message in warn_exposed(host, token):
        warn(message)
    sock = bind(host, port)
    run_server(config, sock, app if workers == 1 else None,
               on_start=lambda: click.echo(describe(config, loaded, sock), err=True))
    click.echo("stopped", err=True)
