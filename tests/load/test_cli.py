"""``kubelab loadtest`` as a user runs it: real server on 127.0.0.1, real files, messages checked."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.load.conftest import Serve

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_json_summary_has_siege_keys_and_percentiles(cli: Cli, serve: Serve) -> None:
    port = serve()
    run = cli("loadtest", f"http://127.0.0.1:{port}/", "-c", "2", "-n", "50", "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    for key in ("transactions", "availability", "elapsed_time", "data_transferred", "response_time",
                "transaction_rate", "throughput", "concurrency", "successful_transactions", "failed_transactions",
                "longest_transaction", "shortest_transaction", "target_rate", "achieved_rate", "errors"):
        assert key in data, key
    assert set(data["latency_ms"]) == {"p50", "p90", "p99", "p999", "max"}
    assert data["transactions"] == data["successful_transactions"] == 50
    assert data["target_rate"] is None and data["data_transferred"] == pytest.approx(100 / 1e6, abs=1e-3)


def test_files_and_table(cli: Cli, serve: Serve, tmp_path: Path) -> None:
    port = serve("--status", "500")
    log = tmp_path / "siege.log"
    run = cli("loadtest", f"http://127.0.0.1:{port}/x", "--profile", "step:20,40@1s", "--csv", "iv.csv",
              "--log", str(log), "--html", "report.html")
    assert run.returncode == 0, run.stderr
    assert "transactions" in run.stdout and "latency_p99" in run.stdout and "errors[http 500]" in run.stdout
    rows = list(csv.DictReader((tmp_path / "iv.csv").open()))
    assert [r["target_rate"] for r in rows[:2]] == ["20.0", "40.0"]
    assert json.loads(rows[0]["errors"]) == {"http 500": int(rows[0]["transactions"])}
    lines = log.read_text().splitlines()
    assert [c.strip() for c in lines[0].split(",")] == ["Date & Time", "Trans", "Elap Time", "Data Trans",
                                                         "Resp Time", "Trans Rate", "Throughput", "Concurrent",
                                                         "OKAY", "Failed"]
    assert len(lines) == 3  # one row per step of the profile
    # transactions count in the step in which they complete (as in siege): the request due exactly at the
    # boundary may leave up to 0.5 ms early and be answered before it, so one may cross; none is lost
    first, second = (int(line.split(",")[1]) for line in lines[1:])
    assert first + second == 60 and abs(first - 20) <= 1
    assert [int(line.split(",")[8]) for line in lines[1:]] == [0, 0]  # HTTP 500: no OKAY
    page = (tmp_path / "report.html").read_text()
    assert page.count("<svg") == 3 and "Latency percentiles per interval" in page and "http 500" in page


def test_multipart_upload_reaches_the_server(cli: Cli, serve: Serve, tmp_path: Path) -> None:
    dump = tmp_path / "last-request"
    port = serve("--dump", str(dump))
    (tmp_path / "cat.jpg").write_bytes(b"\xff\xd8JPEG")
    run = cli("loadtest", f"http://127.0.0.1:{port}/predict", "-X", "POST", "--file", "file=cat.jpg", "-n", "3",
              "-H", "Authorization: Bearer t0k")
    assert run.returncode == 0, run.stderr
    raw = dump.read_bytes()
    assert raw.startswith(b"POST /predict HTTP/1.1\r\n") and b"Authorization: Bearer t0k\r\n" in raw
    assert b'name="file"; filename="cat.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8JPEG\r\n' in raw


@pytest.mark.parametrize(("args", "message"), [
    (["http//127.0.0.1/"], "error: URL 'http//127.0.0.1/': not an http:// URL"),
    (["http://127.0.0.1:1/", "--rate", "5", "-c", "3"], "error: give --rate (open loop) or --concurrency"),
    (["http://127.0.0.1:1/", "--rate", "5", "-d", "1"], "error: --delay is for the closed loop: give --concurrency"),
    (["http://127.0.0.1:1/", "--profile", "course", "-c", "5"], "error: the course profile brings its own users"),
    (["http://127.0.0.1:1/", "--profile", "sine:mean=5"], "error: bad profile 'sine:mean=5': missing amp, period"),
    (["http://127.0.0.1:1/", "--profile", "nope.csv"], "error: profile file nope.csv: No such file or directory"),
    (["http://127.0.0.1:1/", "-X", "POST", "--body", "missing.json"],
     "error: body file missing.json: No such file or directory"),
    (["http://127.0.0.1:1/", "--file", "cat.jpg"], "error: 2 problems:\n  file 'cat.jpg' is not field=path"),
])
def test_user_errors(cli: Cli, args: list[str], message: str) -> None:
    run = cli("loadtest", *args)
    assert run.returncode == 1 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["http://127.0.0.1:1/", "-t", "soon"], "Invalid value for '-t' / '--duration': bad duration 'soon'"),
    (["http://127.0.0.1:1/", "--rate", "0"], "Invalid value for '-r' / '--rate'"),
    (["http://127.0.0.1:1/", "-c", "0"], "Invalid value for '-c' / '--concurrency'"),
    ([], "Missing argument 'URL'"),
])
def test_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    run = cli("loadtest", *args)
    assert run.returncode == 2 and message in run.stderr, run.stderr


def test_unwritable_output_file(cli: Cli, serve: Serve) -> None:
    port = serve()
    run = cli("loadtest", f"http://127.0.0.1:{port}/", "-n", "2", "--csv", "no/such/dir/x.csv")
    assert run.returncode == 1 and "error: cannot write no/such/dir/x.csv: No such file or directory" in run.stderr


def test_course_replayed_600_times_faster(cli: Cli, serve: Serve, tmp_path: Path) -> None:
    """Seed 001's 30 one-minute siege runs in 3 s: one siege log row and one CSV interval per minute."""
    port = serve()
    run = cli("loadtest", f"http://127.0.0.1:{port}/", "--profile", "course", "--time-scale", "600", "--log",
              "course.log", "--csv", "course.csv", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["elapsed_time"] == pytest.approx(3.0, abs=0.1)
    rows = list(csv.DictReader((tmp_path / "course.csv").open()))
    users = [int(r["users"]) for r in rows[:30]]
    assert users == [20] * 15 + [30] * 5 + [20] * 10
    lines = (tmp_path / "course.log").read_text().splitlines()
    assert len(lines) == 31
    okay = sum(int(line.split(",")[8]) for line in lines[1:])
    assert okay == json.loads(run.stdout)["successful_transactions"] > 0


def test_ctrl_c_keeps_what_was_measured(serve: Serve, tmp_path: Path) -> None:
    import os
    import signal
    import sys
    import time

    port = serve()
    env = {k: v for k, v in os.environ.items() if k != "KUBELAB_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "kubelab", "loadtest", f"http://127.0.0.1:{port}/", "--rate",
                             "100", "-t", "60s", "--format", "json"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert data["interrupted"] is True and data["transactions"] > 0 and data["failed_transactions"] == 0
    assert "Interrupted; the numbers above cover the time until then." in err


def test_json_body_reaches_the_server(cli: Cli, serve: Serve, tmp_path: Path) -> None:
    dump = tmp_path / "last-request"
    port = serve("--dump", str(dump))
    (tmp_path / "features.json").write_text('{"features": [1.5, 2.5]}')
    run = cli("loadtest", f"http://127.0.0.1:{port}/predict", "-X", "POST", "--body", "features.json", "-n", "2")
    assert run.returncode == 0, run.stderr
    head, _, body = dump.read_bytes().partition(b"\r\n\r\n")
    assert head.startswith(b"POST /predict HTTP/1.1\r\n") and b"Content-Type: application/json" in head
    assert json.loads(body) == {"features": [1.5, 2.5]}
