"""``kubelab serve`` as a process: startup errors, micro-batching, load shedding, SIGTERM, several workers."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kubelab.serve._server import is_loopback, warn_exposed
from tests.serve.conftest import N_FEATURES, Client, ServerProcess, metric

ROW = {"instances": [[0.5] * N_FEATURES]}


def _metrics(client: Client) -> str:
    return client.request("GET", "/metrics")[2].decode()


def _wait_for(predicate: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _in_background(client: Client, n: int) -> tuple[ThreadPoolExecutor, list[Any]]:
    pool = ThreadPoolExecutor(n)
    return pool, [pool.submit(client.json, "POST", "/predict", ROW) for _ in range(n)]


@pytest.mark.parametrize(("setup", "message"), [
    (lambda d: None, "no such file"),
    (lambda d: (d / "model.ubj").write_text("garbage"), "not a valid xgboost model"),
])
def test_bad_model_file_exits_1(cli, tmp_path: Path, setup: Any, message: str) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    result = cli("serve", "model.ubj", "--port", "0")
    assert result.returncode == 1 and result.stderr.startswith("error: model.ubj: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_format_and_pickle_exit_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "model.pt").write_bytes(b"x")
    result = cli("serve", "model.pt")
    assert result.returncode == 1 and "error: model.pt: unknown model format '.pt'" in result.stderr
    (tmp_path / "model.pkl").write_bytes(b"x")
    result = cli("serve", "model.pkl")
    assert result.returncode == 1 and "pass --allow-pickle only for a file you made yourself" in result.stderr
    result = cli("serve", "model.pkl", "--allow-pickle")
    assert "warning: model.pkl: loading a pickle runs any code it holds" in result.stderr
    assert result.returncode == 1 and "not a valid sklearn model" in result.stderr


def test_metadata_that_contradicts_the_model_exits_1(cli, tmp_path: Path, xgb_model: Path) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(xgb_model, tmp_path / "m.ubj")
    (tmp_path / "m.meta.json").write_text(json.dumps({"feature_names": ["a", "b"]}))
    result = cli("serve", "m.ubj")
    assert result.returncode == 1
    assert f"2 feature names for a model that takes {N_FEATURES} features; fix feature_names" in result.stderr


def test_port_in_use_exits_1(cli, xgb_model: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", str(xgb_model), "--port", str(port))
    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use; pick another with --port" \
        in result.stderr


def test_exposed_host_warns_without_token() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert warn_exposed("127.0.0.1", None) == ()
    assert "WITHOUT AUTHENTICATION" in warn_exposed("0.0.0.0", None)[0]
    assert "needs the token" in warn_exposed("0.0.0.0", "t")[0]


def test_concurrent_requests_share_predict_calls(tmp_path: Path, xgb_model: Path) -> None:
    with ServerProcess(xgb_model, "--max-batch", "8", "--max-wait-ms", "3000", cwd=tmp_path) as server:
        client = server.wait_ready()
        assert "; predicted by onnxruntime for batches of <= 64 rows, xgboost above) on http://" in server.stderr
        pool, futures = _in_background(client, 8)
        answers = [f.result(timeout=60) for f in futures]
        pool.shutdown()
        assert all(status == 200 and len(body["predictions"]) == 1 for status, body in answers)
        text = _metrics(client)
        assert metric(text, "kubelab_serve_batch_size_sum") == 8
        assert metric(text, "kubelab_serve_batch_size_count") < 8  # fewer predict calls than requests
        assert server.terminate() == 0


def test_full_queue_answers_503_then_sigterm_answers_the_queued(tmp_path: Path, xgb_model: Path) -> None:
    with ServerProcess(xgb_model, "--max-queue", "2", "--max-wait-ms", "60000", cwd=tmp_path) as server:
        client = server.wait_ready()
        pool, queued = _in_background(client, 2)
        _wait_for(lambda: metric(_metrics(client), "kubelab_serve_queue_depth") == 2)
        status, headers, body = client.request("POST", "/predict", ROW)
        assert status == 503 and headers["retry-after"] == "1"
        assert json.loads(body)["error"] == "overloaded: 2 requests are queued; retry shortly"
        assert metric(_metrics(client), "kubelab_serve_shed_total") == 1
        assert server.terminate() == 0  # without SIGTERM they would wait 60 s for company
        assert [f.result(timeout=10)[0] for f in queued] == [200, 200]
        pool.shutdown()
        assert "stopped" in server.stderr


def test_sigterm_stops_accepting_and_finishes_in_flight(tmp_path: Path, xgb_model: Path) -> None:
    with ServerProcess(xgb_model, "--max-wait-ms", "1500", cwd=tmp_path) as server:
        client = server.wait_ready()
        pool, in_flight = _in_background(client, 1)
        _wait_for(lambda: metric(_metrics(client), "kubelab_serve_queue_depth") == 1)
        server.proc.send_signal(15)
        refused = threading.Event()

        def probe() -> None:
            while not refused.is_set() and server.proc.poll() is None:
                try:
                    socket.create_connection((client.host, client.port), timeout=1).close()
                except OSError:
                    refused.set()
                time.sleep(0.01)

        prober = threading.Thread(target=probe)
        prober.start()
        status, body = in_flight[0].result(timeout=30)
        prober.join(30)
        pool.shutdown()
        assert status == 200 and len(body["predictions"]) == 1
        assert refused.is_set(), "the server kept accepting connections after SIGTERM"
        assert server.proc.wait(30) == 0


@pytest.mark.slow
def test_two_workers_report_metrics_for_both(tmp_path: Path, xgb_model: Path) -> None:
    with ServerProcess(xgb_model, "--workers", "2", cwd=tmp_path) as server:
        client = server.wait_ready()
        for _ in range(20):
            assert client.request("POST", "/predict", ROW)[0] == 200
        text = _metrics(client)
        assert metric(text, "kubelab_serve_requests_total", 'code="200",endpoint="/predict"') == 20
        assert metric(text, "kubelab_serve_batch_size_sum") == 20
        assert server.terminate() == 0
