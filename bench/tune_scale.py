"""tune at scale: kubelab's RabbitMQ + PostgreSQL path, side by side with Celery + RabbitMQ.

Measures, on the shared servers (127.0.0.1:5672 guest/guest, 127.0.0.1:5432 postgres), in a database and on
queues of its own:
- overhead: no-op trials through RabbitMQ + PostgreSQL with 2 worker processes, ms per trial (enqueue to last
  result, workers already started), and Celery (acks_late, prefetch 1, no result backend) on the same broker;
- result writes per second from those 2 workers, into a store holding 100,000 trials;
- ``results --top 10`` on the 100,000 stored trials: p95 of the query (Python API) and of the whole command;
- efficiency from 1 to 2 workers on 50 ms trials: T1 / (2 × T2);
- re-dispatch delay after ``kill -9`` of the worker running a trial: kill to the next attempt's start.

    python bench/tune_scale.py [--runs 3] [--trials 2000] [--redispatch 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import ROOT, machine, median, table

sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))

from tests.servers import SHARED_AMQP, amqp_queue, delete_queues, postgres_database  # noqa: E402

import kubelab.tune  # noqa: E402
from kubelab.store import get_store  # noqa: E402

FNS = """
import time
def noop(params, dataset):
    return 0.0
def sleep(params, dataset):
    time.sleep(params["sleep"])
    return float(params["x"])
"""


def p95(values: list[float]) -> float:
    return float(statistics.quantiles(values, n=20)[-1]) if len(values) >= 2 else values[0]


def spec(d: Path, name: str, n: int, fn: str = "noop", **fixed: float) -> Path:
    (d / "fns.py").write_text(FNS)
    fixed_text = ", ".join(f"{k}: {v}" for k, v in fixed.items())
    path = d / f"{name}.yaml"
    space = f"{{x: {{range: [0, {n - 1}]}}}}"
    path.write_text(f"study: {name}\ndataset: {{builtin: diabetes}}\nsearch: {{method: grid}}\n"
                    f"models: [{{function: fns:{fn}, fixed: {{{fixed_text}}}, space: {space}}}]\n")
    return path


@contextmanager
def kubelab_workers(d: Path, broker: str, store: str, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = d / f"w{len(procs)}.log"
        p = subprocess.Popen([sys.executable, "-m", "kubelab", "tune", "worker", "--broker", broker, "--store", store],
                             cwd=d, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        procs.append(p)
        deadline = time.monotonic() + 60
        while "slot(s) on" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        return p

    for _ in range(count):
        start()
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def wait_done(store: str, name: str, n: int, timeout: float = 900) -> float:
    s = get_store(store)
    study = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        study = study or s.get_study(name)
        if study is not None:
            c = s.counts(study.id)
            if c["done"] + c["failed"] >= n:
                return time.perf_counter()
        time.sleep(0.02)
    raise RuntimeError(f"{name}: not done after {timeout} s")


def run_kubelab(d: Path, broker: str, store: str, name: str, n: int, workers: int, fn: str = "noop",
                **fixed: float) -> tuple[float, float]:
    """Seconds from enqueue to the last result, and result writes per second (from the stored finish times)."""
    path = spec(d, name, n, fn, **fixed)
    with kubelab_workers(d, broker, store, workers):
        t0 = time.perf_counter()
        kubelab.tune.run(path, store=store, broker=broker, workers=0, wait=False)
        t1 = wait_done(store, name, n)
    s = get_store(store)
    study = s.get_study(name)
    assert study is not None
    rows = s._q("SELECT MIN(finished_at), MAX(finished_at) FROM kubelab_trials WHERE study_id = ?",  # type: ignore[attr-defined]
                (study.id,))
    spread = float(rows[0][1]) - float(rows[0][0])
    return t1 - t0, n / spread if spread > 0 else float("nan")


CELERY_APP = """
import time
from celery import Celery
app = Celery("bench", broker={broker!r})
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True,
                task_default_queue={queue!r}, broker_connection_retry_on_startup=True)
@app.task
def noop(x, path):
    with open(path, "a") as f:
        f.write("1\\n")
"""


def run_celery(d: Path, n: int) -> float:
    queue = f"bench.celery.{uuid.uuid4().hex[:8]}"
    (d / "celery_bench.py").write_text(CELERY_APP.format(broker=SHARED_AMQP, queue=queue))
    done = d / f"{queue}.done"
    log = d / "celery.log"
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_bench", "worker", "--pool", "prefork",
                               "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat",
                               "-l", "info", "-Q", queue], cwd=d, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        sys.path.insert(0, str(d))
        import celery_bench  # type: ignore[import-not-found]

        t0 = time.perf_counter()
        for i in range(n):
            celery_bench.noop.delay(i, str(done))
        while not done.exists() or done.read_text().count("\n") < n:
            time.sleep(0.02)
        return time.perf_counter() - t0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        sys.modules.pop("celery_bench", None)
        delete_queues(SHARED_AMQP, queue)


def seed_100k(store: str) -> str:
    """A study with 100,000 finished trials (inserted in bulk: this measures reads, not writes)."""
    s = get_store(store)
    study = s.create_study("big", "{}", "d", "maximize", "grid", 100_000)
    s.add_trials(study.id, ((i, 0, "m", json.dumps({"x": i})) for i in range(100_000)))
    s._x("UPDATE kubelab_trials SET status = 'done', attempts = 1, duration_s = 0.01, "  # type: ignore[attr-defined]
         "value = MOD(number * 7919, 100003) / 100003.0 WHERE study_id = ?", (study.id,))
    s._x("ANALYZE kubelab_trials")  # type: ignore[attr-defined] # autovacuum would, after a real study's writes
    return "big"


def bench_top(store: str, runs: int = 30) -> tuple[float, float, float]:
    """p95 ms of the query on an open store, of the API call given a URL (connects), of the whole command."""
    opened = get_store(store)
    query = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = kubelab.tune.results("big", opened, top=10)
        query.append((time.perf_counter() - t) * 1e3)
        assert len(rows) == 10
    api = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = kubelab.tune.results("big", store, top=10)
        api.append((time.perf_counter() - t) * 1e3)
        assert len(rows) == 10
    cli = []
    for _ in range(max(20, runs)):  # the console script, as a user runs it (see also bench/cli_startup.py)
        t = time.perf_counter()
        out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kubelab"), "tune", "results", "big",
                              "--top", "10", "--store", store], capture_output=True, text=True)
        cli.append((time.perf_counter() - t) * 1e3)
        assert out.returncode == 0, out.stderr
    return p95(query), p95(api), p95(cli)


def bench_redispatch(d: Path, broker: str, store: str, reps: int) -> list[float]:
    """Each time: a one-trial study (2 s), two idle workers; kill -9 the one that takes it; the delay until
    the other starts the trial's next attempt (start times are the store's, on this machine's clock)."""
    delays = []
    s = get_store(store)
    for rep in range(reps):
        name = f"redispatch{rep}"
        path = spec(d, name, 1, "sleep", sleep=2.0)
        with kubelab_workers(d, broker, store, 2) as procs:
            kubelab.tune.run(path, store=store, broker=broker, workers=0, wait=False)
            study = s.get_study(name)
            assert study is not None
            while True:
                row = s._q("SELECT worker, started_at FROM kubelab_trials WHERE study_id = ? AND number = 0",  # type: ignore[attr-defined]
                           (study.id,))[0]
                if row[0]:
                    break
                time.sleep(0.005)
            victim = int(row[0].rsplit(":", 2)[1])
            os.kill(victim, signal.SIGKILL)
            killed = time.time()
            while True:
                again = s._q("SELECT worker, started_at FROM kubelab_trials WHERE study_id = ? AND number = 0",  # type: ignore[attr-defined]
                             (study.id,))[0]
                if again[0] != row[0]:
                    delays.append(float(again[1]) - killed)
                    break
                time.sleep(0.005)
            wait_done(store, name, 1)
            assert all(p.pid == victim or p.poll() is None for p in procs)
    return delays


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--eff-trials", type=int, default=200)
    ap.add_argument("--redispatch", type=int, default=10)
    ap.add_argument("--no-celery", action="store_true")
    args = ap.parse_args()
    if not args.no_celery and importlib.util.find_spec("celery") is None:
        print("celery is not installed (pip install celery): measuring kubelab alone", file=sys.stderr)
        args.no_celery = True
    load_start = os.getloadavg()[0]
    rows: list[dict[str, str]] = []
    with postgres_database() as store, tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        seed_100k(store)
        overhead, writes, celery, eff = [], [], [], []
        for run in range(args.runs):  # interleaved, so load changes hit both tools alike
            with amqp_queue(lease=30) as broker:
                wall, rate = run_kubelab(d, broker, store, f"noop{run}", args.trials, 2)
            overhead.append(wall / args.trials * 1e3)
            writes.append(rate)
            if not args.no_celery:
                celery.append(run_celery(d, args.trials) / args.trials * 1e3)
            with amqp_queue(lease=30) as broker:
                t1, _ = run_kubelab(d, broker, store, f"eff1_{run}", args.eff_trials, 1, "sleep", sleep=0.05)
            with amqp_queue(lease=30) as broker:
                t2, _ = run_kubelab(d, broker, store, f"eff2_{run}", args.eff_trials, 2, "sleep", sleep=0.05)
            eff.append(t1 / (2 * t2))
        query_p95, api_p95, cli_p95 = bench_top(store)
        with amqp_queue(lease=3) as broker:
            delays = bench_redispatch(d, broker, store, args.redispatch)
    rows.append({"measure": f"no-op trials, 2 workers, ms per trial ({args.trials} trials)",
                 "kubelab": f"{median(overhead):.2f}",
                 "peer": f"Celery {median(celery):.2f}" if celery else "—",
                 "ratio": f"{median(overhead) / median(celery):.2f}×" if celery else "—",
                 "runs": ", ".join(f"{x:.2f}" for x in overhead) + (
                     " / Celery " + ", ".join(f"{x:.2f}" for x in celery) if celery else "")})
    rows.append({"measure": "result writes/s from 2 workers (store holds 100,000 trials)",
                 "kubelab": f"{median(writes):.0f}", "runs": ", ".join(f"{x:.0f}" for x in writes)})
    rows.append({"measure": f"efficiency 1 → 2 workers, {args.eff_trials} × 50 ms trials, T1 / (2 × T2)",
                 "kubelab": f"{median(eff):.3f}", "runs": ", ".join(f"{x:.3f}" for x in eff)})
    rows.append({"measure": "results --top 10 on 100,000 trials, p95 ms: query / API call with a URL / command",
                 "kubelab": f"{query_p95:.1f} / {api_p95:.1f} / {cli_p95:.0f}"})
    rows.append({"measure": f"re-dispatch after kill -9, s ({len(delays)} kills): median / p95",
                 "kubelab": f"{median(delays):.2f} / {p95(delays):.2f}",
                 "runs": ", ".join(f"{x:.2f}" for x in delays)})
    print(f"# tune at scale ({machine()}; load at start {load_start:.2f})\n")
    print(table(rows, ["measure", "kubelab", "peer", "ratio", "runs"]))


if __name__ == "__main__":
    main()
