"""``kubelab monitor`` as a user runs it: CSV, summaries, and every argument a user can get wrong."""

from __future__ import annotations

import csv
import io
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from kubelab.kube import Cluster, apply
from kubelab.monitor import COLUMNS
from tests.kube.conftest import deployment, namespace
from tests.kube.fake_apiserver import FakeKubeAPI

Cli = Callable[..., CompletedProcess[str]]
SLEEPER = ["--", sys.executable, "-c", "import time; time.sleep(20)"]
HEADER = "time,n_replica,cpu_req_core,mem_req_KB,cpu_lim_core,mem_lim_KB,cpu_use_core,mem_use_KB"


def test_csv_rows_to_stdout(cli: Cli) -> None:
    result = cli("monitor", "--interval", "200ms", "--duration", "0.6", *SLEEPER)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER and tuple(lines[0].split(",")) == COLUMNS
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["time"] for r in rows] == ["0.200", "0.400", "0.600"]
    assert all(r["n_replica"] == "1" and int(r["mem_use_KB"]) > 1000 for r in rows)
    assert "monitoring command" in result.stderr


def test_out_file_and_json_summary(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "usage.csv"
    result = cli("monitor", "-i", "0.2s", "-d", "0.4s", "--out", str(out), "--format", "json", *SLEEPER)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["samples"] == 2 and summary["interval_s"] == 0.2
    assert summary["summary"]["n_replica"] == {"mean": 1, "min": 1, "max": 1, "samples": 2}
    assert [r["time"] for r in summary["rows"]] == [0.2, 0.4]
    assert out.read_text().splitlines()[0] == HEADER and len(out.read_text().splitlines()) == 3
    assert "t=0.2s replicas=1" in result.stderr  # progress goes to stderr when rows do not go to stdout


def test_table_summary(cli: Cli) -> None:
    result = cli("monitor", "-i", "0.2", "-d", "0.2", "--format", "table", *SLEEPER)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["COLUMN", "MEAN", "MIN", "MAX", "SAMPLES"]
    assert result.stdout.splitlines()[1].split() == ["n_replica", "1", "1", "1", "1"]


def test_kubernetes_pods(cli: Cli, tmp_path: Path) -> None:
    with FakeKubeAPI() as fake:
        kubeconfig = fake.kubeconfig(tmp_path / "kc")
        with Cluster(str(kubeconfig), environ={}) as cluster:
            apply(cluster, [namespace("lab"), deployment("web", replicas=2)], lab="t", poll=0.05)
        for pod in fake.objects("v1", "Pod", "lab"):
            fake.set_pod_metrics("lab", pod["metadata"]["name"], {"main": ("100m", "32Mi")})
        result = cli("monitor", "--selector", "app=web", "-n", "lab", "--kubeconfig", str(kubeconfig),
                     "-i", "0.1", "-d", "0.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["0.100,2,1.000,1048576,1.000,1048576,0.200,65536",
                                              "0.200,2,1.000,1048576,1.000,1048576,0.200,65536"]


def test_usage_errors_exit_2(cli: Cli) -> None:
    cases = [
        (["--interval", "0", *SLEEPER], "Invalid value for '-i' / '--interval': '0' must be more than zero"),
        (["--duration", "soon", *SLEEPER], "'soon' is not a duration (examples: 5, 5s, 500ms, 2m, 1h)"),
        (["--pid", "1", "--selector", "app=web"], "give exactly one of --pid, --port, --selector, or a command"),
        ([], "give exactly one of --pid, --port, --selector, or a command after --"),
        (["--pid", "1", "--namespace", "lab"], "--namespace, --kubeconfig and --context go with --selector"),
        (["--port", "70000"], "Invalid value for '--port': 70000 is not in the range 1<=x<=65535"),
    ]
    for args, message in cases:
        result = cli("monitor", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)


def test_user_errors_exit_1(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    cases = [
        (["--pid", "999999999"], "error: no process with pid 999999999; hint: check it with `ps -p 999999999`"),
        (["--port", str(free)], f"error: no process listens on TCP port {free}; hint: start the server first, or "
                                f"pass --pid\n"),
        (["--selector", "app=web", "--kubeconfig", str(tmp_path / "nope")],
         f"error: kubeconfig {tmp_path / 'nope'} (from --kubeconfig) not found; hint: pass --kubeconfig FILE"),
        (["--out", str(tmp_path / "no" / "dir.csv"), *SLEEPER],
         f"error: cannot write {tmp_path / 'no' / 'dir.csv'}: No such file or directory"),
    ]
    with FakeKubeAPI() as fake:
        kubeconfig = fake.kubeconfig(tmp_path / "kc")
        cases += [
            (["--selector", "app=web", "--kubeconfig", str(kubeconfig), "--context", "prod"],
             f"error: kubeconfig {kubeconfig}: no context 'prod'; hint: use one of: fake"),
            (["--selector", "app=web", "--kubeconfig", str(kubeconfig), "-n", "lab"],
             "error: no pods match app=web in namespace lab; hint: check with kubectl get pods -n lab -l app=web"),
            (["--selector", "app=a=b", "--kubeconfig", str(kubeconfig)],
             "error: selector 'app=a=b': 'app=a=b' is not a selector term"),
        ]
        for args, message in cases:
            result = cli("monitor", *args)
            assert result.returncode == 1, (args, result.stderr)
            assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_ctrl_c_stops_with_a_summary_and_stops_the_command(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess

    import psutil

    proc = subprocess.Popen([sys.executable, "-m", "kubelab", "monitor", "-i", "0.1", "--format", "table", *SLEEPER],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if k != "KUBELAB_DEBUG"})
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("monitoring command")
    launched = int(first.split("(pid ")[1].split(")")[0])
    assert proc.stderr.readline().startswith("t=0.1s replicas=1")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert out.splitlines()[0].split() == ["COLUMN", "MEAN", "MIN", "MAX", "SAMPLES"]
    assert not psutil.pid_exists(launched) or psutil.Process(launched).status() == psutil.STATUS_ZOMBIE
