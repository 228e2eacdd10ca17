"""The local monitor against loads that report their own truth: readings within 10 %."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen

import psutil
import pytest

from kubelab.errors import MonitorError
from kubelab.monitor import LocalTarget, Monitor, open_target
from tests.monitor.conftest import self_reported_cpu

Spawn = Callable[..., Popen[str]]


def wait_for_log(log: Path, lines: int = 3) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= lines:
            return
        time.sleep(0.02)
    raise AssertionError("the burner did not start")


@pytest.mark.parametrize("duty", [1.0, 0.5])
def test_cpu_of_a_burner(spawn: Spawn, tmp_path: Path, duty: float) -> None:
    log = tmp_path / "burn.log"
    burner = spawn("burn", str(duty), str(log))
    wait_for_log(log)
    monitor = Monitor(LocalTarget(pids=[burner.pid]), interval=0.5, duration=3)
    start = time.time()
    samples = monitor.run()
    end = time.time()
    time.sleep(0.15)  # let the burner log past ``end``
    truth = self_reported_cpu(log, start, end)
    measured = sum(s.cpu_use_core for s in samples if s.cpu_use_core is not None) / len(samples)
    assert len(samples) == 6 and [s.time for s in samples] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert truth > 0.1  # the machine gave it something to measure
    assert measured == pytest.approx(truth, rel=0.10)
    assert {s.n_replica for s in samples} == {1}


def test_memory_of_a_hog(spawn: Spawn) -> None:
    hog = spawn("hog", "200")
    assert hog.stdout is not None and hog.stdin is not None
    assert hog.stdout.readline().strip() == "ready"
    target = LocalTarget(pids=[hog.pid])
    target.prime()
    before = target.read().mem_use_kib
    hog.stdin.write("go\n")
    hog.stdin.flush()
    assert hog.stdout.readline().strip() == "done"
    after = target.read().mem_use_kib
    assert before is not None and after is not None
    assert after - before == pytest.approx(200 * 1024, rel=0.10)


def test_children_are_replicas_and_their_memory_counts(spawn: Spawn) -> None:
    parent = spawn("workers", "3", "40")
    assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
    target = LocalTarget(pids=[parent.pid])
    target.prime()
    sample = target.read()
    assert sample.n_replica == 3
    assert sample.mem_use_kib is not None and sample.mem_use_kib >= 3 * 40 * 1024
    assert target.describe() == f"pid {parent.pid}"


def test_multiprocessing_helpers_are_not_replicas(spawn: Spawn) -> None:
    parent = spawn("spawnpool", "3")
    assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
    target = LocalTarget(pids=[parent.pid])
    target.prime()
    tree = psutil.Process(parent.pid).children()
    assert any("resource_tracker" in " ".join(p.cmdline()) for p in tree)  # the helper is there
    assert target.read().n_replica == 3


def test_port_finds_the_listening_process() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        target = LocalTarget(port=port)
        assert target.describe() == f"port {port} (pid {os.getpid()})"


def test_port_of_a_preforking_server_counts_each_worker(spawn: Spawn) -> None:
    server = spawn("server", "4")
    assert server.stdout is not None
    port = int(server.stdout.readline())
    target = open_target(port=port)
    assert target.describe() == f"port {port} (pid {server.pid})"  # the workers hold the socket too
    target.prime()
    assert target.read().n_replica == 4


def test_open_target_needs_exactly_one_selection() -> None:
    with pytest.raises(MonitorError, match="give exactly one of --pid, --port, --selector, or a command after --"):
        open_target()
    with pytest.raises(MonitorError, match="give exactly one of"):
        open_target(pids=[1], selector="app=web")
    with pytest.raises(MonitorError, match="--namespace, --kubeconfig and --context go with --selector"):
        open_target(pids=[os.getpid()], namespace="lab")


def test_a_launched_command_is_stopped_on_close() -> None:
    target = LocalTarget(command=[sys.executable, "-c", "import time; time.sleep(60)"])
    assert target.alive
    target.close()
    assert not target.alive


def test_sampling_ends_when_the_processes_exit() -> None:
    target = LocalTarget(command=[sys.executable, "-c", "import time; time.sleep(0.5)"])
    samples = Monitor(target, interval=0.1, duration=30).run()
    assert samples and samples[-1].time < 30  # it ended with the process, not at the duration
    assert not target.alive


def test_background_sampling(spawn: Spawn, tmp_path: Path) -> None:
    log = tmp_path / "burn.log"
    burner = spawn("burn", "0.5", str(log))
    wait_for_log(log)
    with Monitor(LocalTarget(pids=[burner.pid]), interval=0.1) as monitor:
        time.sleep(0.55)
    times = [r.time for r in monitor.rows]
    assert times and times == sorted(set(times)) and all(round(t * 10, 6).is_integer() for t in times)
    assert list(monitor.rows[0].as_row()) == ["time", "n_replica", "cpu_req_core", "mem_req_KB", "cpu_lim_core",
                                              "mem_lim_KB", "cpu_use_core", "mem_use_KB"]


def test_errors_say_what_to_do() -> None:
    with pytest.raises(MonitorError, match=r"no process with pid 999999999; hint: check it with `ps -p 999999999`"):
        LocalTarget(pids=[999999999])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with pytest.raises(MonitorError, match=f"^no process listens on TCP port {free}; hint: start the server first, "
                                           "or pass --pid$"):
        LocalTarget(port=free)
    with pytest.raises(MonitorError, match=f"^no process listens on TCP port {free}; hint: start the server first, "
                                           "or pass --monitor-pid$"):  # the option of the command the user ran
        LocalTarget(port=free, pid_option="--monitor-pid")
    with pytest.raises(MonitorError, match="give exactly one of --pid, --port or a command"):
        LocalTarget(pids=[os.getpid()], port=80)
    with pytest.raises(MonitorError, match="cannot launch no-such-command-kubelab --flag: No such file or directory"):
        LocalTarget(command="no-such-command-kubelab --flag")
    with pytest.raises(MonitorError, match="interval must be more than 0 seconds, not 0"):
        Monitor(LocalTarget(pids=[os.getpid()]), interval=0)
    with pytest.raises(MonitorError, match="duration must be more than 0 seconds, not -1"):
        Monitor(LocalTarget(pids=[os.getpid()]), duration=-1)
