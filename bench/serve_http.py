"""Benchmark of ``kubelab serve`` against a plain FastAPI app (and MLServer when installed), side by side.

A 100-tree XGBoost model (depth 6) on 20 features, single-row JSON requests. Each server runs pinned to
core 0 (``taskset -c 0``), the load comes from core 1. Per server and run:

- start-up: from process start to the first 200 of its readiness endpoint; idle memory (RSS, with children);
- wrk (closed loop, 1 thread) at 1…64 connections, 3 s each: p50/p99 at 1 connection (a lone user), the
  highest rate, and the highest rate whose p99 ≤ 10 ms (0 when no step met that);
- latency at half the max rate (the p99-capped one when there is one), 8 s each, two ways: wrk paced (32
  connections, each pausing 32/target s after an answer: closed loop, so stalls are under-counted) and
  ``kubelab loadtest --rate`` (open loop, latency from each request's scheduled time; its generator's own
  worst lateness is reported as gen_late_max_ms; compare half_rate, what it achieved, to the target).

Servers are interleaved within each run (same load on the machine for all), medians over ``--runs``. Run
as root, servers and load get ``nice -n -10`` on a shared machine.

    python bench/serve_http.py --runs 3                      # needs wrk (apt-get install -y wrk) and fastapi
    python bench/serve_http.py --mlserver /tmp/mlserver-venv # also MLServer, installed in its own venv
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, machine, median, table  # noqa: E402

N_FEATURES, TREES = 20, 100
CONNECTIONS = (1, 2, 4, 8, 16, 32, 64)
# the machine is shared: as root, give the servers and the load a higher priority than the other work on it
NICE = ["nice", "-n", "-10"] if os.geteuid() == 0 else []


def build_model(tmp: Path) -> tuple[Path, list[float]]:
    import numpy as np
    import xgboost as xgb

    from kubelab.serve import Metadata, write_metadata

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, N_FEATURES))
    y = x @ rng.normal(size=N_FEATURES) + np.sin(x[:, 0] * 3) + rng.normal(scale=0.1, size=len(x))
    path = tmp / "model.ubj"
    xgb.XGBRegressor(n_estimators=TREES, max_depth=6, n_jobs=2).fit(x, y).save_model(str(path))
    sample = [round(float(v), 4) for v in x[0]]
    write_metadata(path, Metadata(feature_names=tuple(f"x{i}" for i in range(N_FEATURES)), sample=tuple(sample)))
    return path, sample


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def servers(model: Path, mlserver: str | None, tmp: Path) -> dict[str, dict[str, Any]]:
    py = sys.executable
    out: dict[str, dict[str, Any]] = {
        "kubelab": {"cmd": [py, "-m", "kubelab", "serve", str(model)], "path": "/predict"},
        "fastapi": {"cmd": [py, "-m", "uvicorn", "bench.serve_fastapi_app:app", "--loop", "uvloop", "--http",
                            "httptools", "--no-access-log", "--log-level", "warning"], "path": "/predict",
                    "env": {"BENCH_MODEL": str(model)}},
    }
    if mlserver:
        folder = tmp / "mlserver"
        folder.mkdir(exist_ok=True)
        shutil.copy(model, folder / "model.ubj")
        (folder / "settings.json").write_text(json.dumps({"parallel_workers": 0, "metrics_endpoint": None}))
        (folder / "model-settings.json").write_text(json.dumps({
            "name": "model", "implementation": "mlserver_xgboost.XGBoostModel",
            "parameters": {"uri": "./model.ubj"}}))
        out["mlserver"] = {"cmd": [str(Path(mlserver) / "bin" / "mlserver"), "start", str(folder)],
                           "path": "/v2/models/model/infer", "ready": "/v2/health/ready", "v2": True,
                           "port_args": False}
    return out


def _body(sample: list[float], v2: bool) -> str:
    if v2:
        return json.dumps({"inputs": [{"name": "input-0", "shape": [1, N_FEATURES], "datatype": "FP32",
                                       "data": sample}]})
    return json.dumps({"instances": [sample]})


def _rss(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


class Server:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.port = _port() if spec.get("port_args", True) else 8080
        args = ["--port", str(self.port)] if spec.get("port_args", True) else []
        env = {**os.environ, **spec.get("env", {}), "MLSERVER_HTTP_PORT": str(self.port)}
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([*NICE, "taskset", "-c", "0", *spec["cmd"], *args], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        ready = f"http://127.0.0.1:{self.port}{spec.get('ready', '/readyz')}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{spec['cmd']} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(ready, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.02)
        self.startup_s = time.perf_counter() - self.t0
        time.sleep(1)
        self.idle_mib = _rss(self.proc.pid)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    if found is None:  # wrk prints "-nanus" when no request completed
        return math.inf
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[found.group(2)]


def _percentile(out: str, q: int) -> float:
    """A "Latency Distribution" line of wrk's output (anchored: "+/- Stdev" cells end in % too); inf if none."""
    found = re.search(rf"^\s+{q}%\s+(\S+)\s*$", out, re.M)
    return _ms(found.group(1)) if found else math.inf


def wrk(url: str, body: str, connections: int, seconds: int, tmp: Path,
        pause_ms: float = 0) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms (inf when some requests timed out).

    ``pause_ms``: each connection waits that long after an answer before its next request (wrk's ``delay``),
    which paces the load at about connections / pause.
    """
    script = tmp / "post.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(body)}\n" +
                      (f"function delay() return {pause_ms:.3f} end\n" if pause_ms else ""))
    out = subprocess.run([*NICE, "taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50, p99 = _percentile(out, 50), _percentile(out, 99)
    timeouts = re.search(r"timeout (\d+)", out)
    if timeouts and int(timeouts.group(1)):  # requests wrk gave up on (2 s) are not in its percentiles
        p99 = math.inf
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} errors at {connections} connections")
    return rps, p50, p99


def openloop(url: str, body: str, rate: float, seconds: int, tmp: Path) -> dict[str, float]:
    """kubelab's own open-loop generator (``kubelab loadtest --rate``) on core 1."""
    body_file = tmp / "body.json"
    body_file.write_text(body)
    out = subprocess.run([*NICE, "taskset", "-c", "1", sys.executable, "-m", "kubelab", "loadtest", url, "-X", "POST",
                          "--body", str(body_file), "--rate", f"{rate:.0f}", "-t", f"{seconds}s", "--format", "json"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    result = json.loads(out)
    return {"rate": result["achieved_rate"], "p50_ms": result["latency_ms"]["p50"],
            "p99_ms": result["latency_ms"]["p99"], "late_max_ms": result["max_schedule_lag_ms"]}


def measure(name: str, spec: dict[str, Any], sample: list[float], tmp: Path) -> dict[str, Any]:
    server = Server(spec)
    try:
        url = f"http://127.0.0.1:{server.port}{spec['path']}"
        body = _body(sample, spec.get("v2", False))
        wrk(url, body, 8, 2, tmp)  # warm-up
        sweep = {c: wrk(url, body, c, 3, tmp) for c in CONNECTIONS}
        ok = [rps for rps, _, p99 in sweep.values() if p99 <= 10.0]
        max_rps = max(rps for rps, _, _ in sweep.values())
        capped = max(ok) if ok else 0.0
        target = max(50.0, (capped or max_rps) / 2)
        paced = wrk(url, body, 32, 8, tmp, pause_ms=32_000 / target)
        half = openloop(url, body, target, 8, tmp)
        return {"server": name, "startup_s": round(server.startup_s, 2), "idle_mib": round(server.idle_mib, 1),
                "c1_p50_ms": sweep[1][1], "c1_p99_ms": sweep[1][2],
                "max_rps": round(max_rps), "max_rps_p99_10ms": round(capped), "half_target": round(target),
                "paced_rate": round(paced[0]), "paced_p50_ms": paced[1], "paced_p99_ms": paced[2],
                "half_rate": half["rate"], "p50_ms": half["p50_ms"], "p99_ms": half["p99_ms"],
                "gen_late_max_ms": half["late_max_ms"],
                "sweep": {c: [round(r), p50, p99] for c, (r, p50, p99) in sweep.items()}}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mlserver", metavar="VENV", help="A virtual environment with mlserver-xgboost installed.")
    parser.add_argument("--only", nargs="*", help="Servers to run (default: all).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-serve-") as t:
        tmp = Path(t)
        model, sample = build_model(tmp)
        specs = servers(model, args.mlserver, tmp)
        if args.only:
            specs = {k: v for k, v in specs.items() if k in args.only}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
        loads = []
        for run in range(args.runs):
            loads.append(os.getloadavg()[0])
            for name, spec in specs.items():
                try:
                    result = measure(name, spec, sample, tmp)
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    print(f"run {run + 1} {name}: FAILED {exc}", file=sys.stderr, flush=True)
                    continue
                runs[name].append(result)
                print(f"run {run + 1} {name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    keys = ["startup_s", "idle_mib", "c1_p50_ms", "c1_p99_ms", "max_rps", "max_rps_p99_10ms", "half_target",
            "paced_rate", "paced_p50_ms", "paced_p99_ms", "half_rate", "p50_ms", "p99_ms", "gen_late_max_ms"]
    rows = [{"server": name, **{k: round(median([r[k] for r in rs]), 3) for k in keys}}
            for name, rs in runs.items() if rs]
    base = runs.get("fastapi", [])
    for r in rows:  # ratios within each run (same moment, same machine load), then their median
        for key, column in (("max_rps", "max_vs_fastapi"), ("max_rps_p99_10ms", "capped_vs_fastapi")):
            ratios = [a[key] / b[key] for a, b in zip(runs[r["server"]], base, strict=False) if a[key] and b[key]]
            r[column] = f"{median(ratios):.2f}x ({len(ratios)} runs)" if ratios else "n/a"
    print(f"{machine()}; load average at the runs' starts: {', '.join(f'{v:.2f}' for v in loads)}")
    print(table(rows, ["server", *keys, "max_vs_fastapi", "capped_vs_fastapi"]))
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
