"""The profiler against a real local server that burns a known amount of CPU per request."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubelab.recipe._cpulimit import CpuLimit
from kubelab.recipe._profile import ProfileError, http_driver, kubelab_load_driver, profile_server

SERVER = [sys.executable, str(Path(__file__).with_name("burn_server.py")), "{port}", "20"]


@pytest.mark.slow
def test_profile_burn_server() -> None:
    profile = profile_server(SERVER, allowances=(0.5, 1.0), path="/test", window_s=1.0, max_windows=5)
    half, one = profile.points
    assert (half.cpu, one.cpu) == (0.5, 1.0)
    # 20 ms of CPU per request (CPU time, so other load on the machine does not change it) ...
    for point in (half, one):
        assert point.cpu_per_request == pytest.approx(0.020, rel=0.5)
        # ... and a request cannot take less wall time than its CPU time
        assert point.service_mean >= 0.9 * point.cpu_per_request
    if profile.method.startswith("cgroup"):
        # measured once with the quota lifted too (how much faster depends on what else runs: this server
        # has no extra CPU weight), never faster than its CPU time; one core: the quota is never reached
        assert profile.cfs_period == 0.1 and profile.free_quantiles is not None
        assert profile.free_quantiles[0] >= 0.9 * half.cpu_per_request
        assert profile.cfs(1.0) is None
        # the quota caps throughput at cores / CPU per request, however idle the machine is
        assert half.capacity <= 0.5 / half.cpu_per_request * 1.15
        assert one.capacity <= 1.0 / one.cpu_per_request * 1.15
    assert 0 < profile.startup_seconds < 30
    assert profile.memory_mib > 5


@pytest.mark.slow
def test_kubelab_load_driver_agrees_with_the_thread_driver() -> None:
    import subprocess
    import time

    from kubelab.recipe._profile import _free_port

    port = _free_port()
    server = subprocess.Popen([a.replace("{port}", str(port)) for a in SERVER])
    try:
        time.sleep(1.0)
        url = f"http://127.0.0.1:{port}/test"
        ours = kubelab_load_driver(url, 1, 2.0)
        threads = http_driver(url, 1, 2.0)
    finally:
        server.terminate()
        server.wait()
    # the same server, one request at a time: both see about 20 ms of CPU per request and agree on the median
    assert len(ours) > 10 and len(threads) > 10
    assert sorted(ours)[len(ours) // 2] == pytest.approx(sorted(threads)[len(threads) // 2], rel=0.5)


def test_server_that_dies_is_reported() -> None:
    command = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no model'); sys.exit(3)", "{port}"]
    with pytest.raises(ProfileError, match="exited with code 3 before ready.*boom: no model"):
        profile_server(command, allowances=(1.0,), window_s=0.5)


def test_local_replica_that_dies_is_reported() -> None:
    from kubelab.recipe._local import LocalReplicas

    command = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no model'); sys.exit(3)", "{port}"]
    with pytest.raises(ProfileError, match=r"server on port \d+ .* exited with code 3 before ready\n.*boom: no model"):
        with LocalReplicas(command, 2, 0.5):
            pass
    with pytest.raises(ValueError, match="replicas must be >= 1, not 0"):
        LocalReplicas(command, 0, 0.5)


def test_cpu_limit_method_is_named() -> None:
    limit = CpuLimit(0.5)
    try:
        assert limit.kind in ("cgroup v2 cpu.max", "cgroup v1 cfs quota", "cpu affinity (whole cores)")
        assert limit.wrap(["true"])[0] == "sh"
    finally:
        limit.close()
    if limit.cgroup is None:
        assert limit.kind == "cpu affinity (whole cores)"
