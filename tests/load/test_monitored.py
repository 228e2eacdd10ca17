"""``kubelab loadtest --monitor``: a load test with the server's CPU, memory and replicas sampled beside it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kubelab.kube import Cluster, apply
from tests.kube.conftest import deployment, namespace
from tests.kube.fake_apiserver import FakeKubeAPI
from tests.load.conftest import Serve

Cli = Callable[..., subprocess.CompletedProcess[str]]
HEADER = "time,n_replica,cpu_req_core,mem_req_KB,cpu_lim_core,mem_lim_KB,cpu_use_core,mem_use_KB"


def test_monitor_port_csv_json_and_html(cli: Cli, serve: Serve, tmp_path: Path) -> None:
    port = serve("--workers", "2")
    run = cli("loadtest", f"http://127.0.0.1:{port}/", "-c", "4", "-t", "2.5s", "--monitor-port", str(port),
              "--monitor-interval", "500ms", "--monitor-out", "usage.csv", "--html", "report.html", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert f"monitoring port {port} (pid " in run.stderr
    lines = (tmp_path / "usage.csv").read_text().splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(lines))
    assert [r["time"] for r in rows] == ["0.500", "1.000", "1.500", "2.000", "2.500"][:len(rows)]
    assert len(rows) >= 4
    assert all(r["n_replica"] == "2" for r in rows)  # the two workers, not the parent that forked them
    assert all(int(r["mem_use_KB"]) > 2 * 5_000 for r in rows)  # two Python processes' resident memory
    assert all(float(r["cpu_use_core"]) > 0.01 for r in rows[1:])  # the workers answer requests all along
    resources = json.loads(run.stdout)["resources"]
    assert resources["target"].startswith(f"port {port} (pid ")
    assert resources["samples"] == len(rows) and resources["interval_s"] == 0.5 and resources["n_replica_max"] == 2
    assert resources["mem_use_KB_max"] == max(int(r["mem_use_KB"]) for r in rows)
    assert resources["cpu_use_core_max"] == max(float(r["cpu_use_core"]) for r in rows)
    assert 0.01 < resources["cpu_use_core_mean"] <= resources["cpu_use_core_max"]
    page = (tmp_path / "report.html").read_text()
    assert "Resources" in page and "cpu_use_core" in page and "mem_use_KB" in page and "n_replica" in page
    assert page.count("<svg") == 4 + 3  # latency, rate, users, errors; then CPU, memory, replicas


def test_bare_monitor_follows_the_url_port(cli: Cli, serve: Serve) -> None:
    port = serve()
    run = cli("loadtest", f"http://localhost:{port}/", "-c", "2", "-t", "1.5s", "--monitor")
    assert run.returncode == 0, run.stderr
    table = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()[1:]}
    assert table["resources.n_replica_max"] == ["1"]  # a single-process server
    assert table["resources.interval_s"] == ["1", "s"]  # a load test samples every second by default
    assert table["resources.samples"] == ["1"]
    assert float(table["resources.cpu_use_core_max"][0]) > 0 and table["resources.cpu_use_core_max"][1] == "cores"


def test_monitor_kubernetes_pods(cli: Cli, serve: Serve, tmp_path: Path) -> None:
    port = serve()
    with FakeKubeAPI() as fake:
        kubeconfig = fake.kubeconfig(tmp_path / "kc")
        with Cluster(str(kubeconfig), environ={}) as cluster:
            apply(cluster, [namespace("lab"), deployment("web", replicas=3)], lab="t", poll=0.05)
        for pod in fake.objects("v1", "Pod", "lab"):
            fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": ("250m", "64Mi")})
        run = cli("loadtest", f"http://127.0.0.1:{port}/", "-n", "20", "-c", "1", "-d", "0.1",
                  "--monitor-selector", "app=web", "--monitor-namespace", "lab", "--kubeconfig", str(kubeconfig),
                  "--monitor-interval", "0.2", "--format", "json")
    assert run.returncode == 0, run.stderr
    resources = json.loads(run.stdout)["resources"]
    assert resources["samples"] >= 1 and resources["n_replica_max"] == 3
    assert resources["cpu_use_core_max"] == 0.75 and resources["mem_use_KB_max"] == 3 * 64 * 1024


def test_monitored_process_that_exits_midway(cli: Cli, serve: Serve) -> None:
    port = serve()
    # The process outlives the command's start-up (about a second) and ends well before the 5 s test does.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"]) as short:
        run = cli("loadtest", f"http://127.0.0.1:{port}/", "-c", "1", "-d", "0.05", "-t", "5s",
                  "--monitor-pid", str(short.pid), "--monitor-interval", "0.5s", "--format", "json")
    assert run.returncode == 0, run.stderr
    samples = json.loads(run.stdout)["resources"]["samples"]
    assert 1 <= samples < 10  # 10: a sample every 0.5 s for the whole 5 s
    last = re.search(rf"warning: pid {short.pid} exited during the test: no resource samples after ([\d.]+) s",
                     run.stderr)
    assert last is not None, run.stderr
    assert samples * 0.5 <= float(last.group(1)) < 5


def test_bad_monitor_arguments(cli: Cli, serve: Serve, free_port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port}/"
    usage = [  # exit 2, before anything runs
        (["--monitor-port", "80", "--monitor-pid", "1"],
         "give one of --monitor-port, --monitor-pid or --monitor-selector, not --monitor-port and --monitor-pid"),
        (["--monitor-pid", "1", "--monitor-namespace", "lab"],
         "--monitor-namespace, --kubeconfig and --context go with --monitor-selector"),
        (["--monitor-interval", "0"], "Invalid value for '--monitor-interval': '0' must be more than zero"),
        (["--monitor-interval", "soon"], "'soon' is not a duration (examples: 5, 5s, 500ms, 2m, 1h)"),
        (["--monitor-port", "70000"], "Invalid value for '--monitor-port': 70000 is not in the range 1<=x<=65535"),
    ]
    for args, message in usage:
        run = cli("loadtest", url, "-n", "1", *args)
        assert run.returncode == 2 and message in run.stderr, (args, run.stderr)
    run = cli("loadtest", "http://10.1.2.3:8000/", "-n", "1", "--monitor")
    assert run.returncode == 2
    assert ("--monitor alone monitors the server on this machine behind the URL, but '10.1.2.3' is not a loopback "
            "address; give --monitor-pid, --monitor-port or --monitor-selector") in run.stderr
    user = [  # exit 1: the target is not there (found before the load starts, so nothing is sent)
        (url, ["--monitor"], f"error: --monitor (port {free_port} of the URL): no process listens on TCP port "
                             f"{free_port}; hint: start the server first, or pass --monitor-pid\n"),
        (url, ["--monitor-port", str(free_port)], f"error: no process listens on TCP port {free_port}; hint: start "
                                                  "the server first, or pass --monitor-pid\n"),
        (url, ["--monitor-pid", "999999999"], "error: no process with pid 999999999; hint: check it with `ps -p"),
        (url, ["--monitor-selector", "app=web", "--kubeconfig", str(tmp_path / "nope")],
         f"error: kubeconfig {tmp_path / 'nope'} (from --kubeconfig) not found"),
    ]
    port = serve()
    run = cli("loadtest", f"http://127.0.0.1:{port}/", "-n", "1", "--monitor", "--format", "json")
    assert run.returncode == 0 and json.loads(run.stdout)["resources"]["samples"] == 0, run.stderr
    assert "warning: no resource samples: the test took less than one --monitor-interval (1 s)" in run.stderr
    user.append((f"http://127.0.0.1:{port}/", ["--monitor", "--monitor-out", str(tmp_path / "no" / "u.csv")],
                 f"error: cannot write {tmp_path / 'no' / 'u.csv'}: No such file or directory"))
    for target, args, message in user:
        run = cli("loadtest", target, "-n", "1", *args)
        assert run.returncode == 1 and message in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr
