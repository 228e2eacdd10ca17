"""Requests and limits from cgroups: v1 and v2 layouts written to a directory, and a real v1 group."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import Popen

import pytest

from kubelab.monitor import LocalTarget, Monitor, cgroup_resources
from tests.monitor.conftest import self_reported_cpu
from tests.monitor.test_local import wait_for_log


def write(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text + "\n")


def test_v1_limits_take_the_tightest_ancestor(tmp_path: Path) -> None:
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    write(proc, {"42/cgroup": "4:memory:/kubepods/pod1/c1\n3:cpu,cpuacct:/kubepods/pod1/c1\n0::/"})
    write(root, {
        "cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000",
        "cpu/kubepods/pod1/cpu.cfs_quota_us": "150000", "cpu/kubepods/pod1/cpu.cfs_period_us": "100000",
        "cpu/kubepods/pod1/c1/cpu.cfs_quota_us": "200000", "cpu/kubepods/pod1/c1/cpu.cfs_period_us": "100000",
        "cpu/kubepods/pod1/c1/cpu.shares": "512",
        "memory/memory.limit_in_bytes": "9223372036854771712",
        "memory/kubepods/pod1/c1/memory.limit_in_bytes": str(512 << 20),
        "memory/kubepods/pod1/c1/memory.soft_limit_in_bytes": str(256 << 20),
    })
    got = cgroup_resources(42, proc=proc, root=root)
    assert (got.cpu_lim_core, got.cpu_req_core) == (1.5, 0.5)
    assert (got.mem_lim_bytes, got.mem_req_bytes) == (512 << 20, 256 << 20)
    assert got.cpu_group == str(root / "cpu/kubepods/pod1/c1")


def test_v1_defaults_read_as_unset(tmp_path: Path) -> None:
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    write(proc, {"7/cgroup": "4:memory:/user\n1:cpu:/user"})
    write(root, {"cpu/user/cpu.cfs_quota_us": "-1", "cpu/user/cpu.cfs_period_us": "100000",
                 "cpu/user/cpu.shares": "1024", "memory/user/memory.limit_in_bytes": "9223372036854771712",
                 "memory/user/memory.soft_limit_in_bytes": "9223372036854771712"})
    got = cgroup_resources(7, proc=proc, root=root)
    assert (got.cpu_lim_core, got.cpu_req_core, got.mem_lim_bytes, got.mem_req_bytes) == (None, None, None, None)


def test_v2(tmp_path: Path) -> None:
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    write(proc, {"9/cgroup": "0::/kubepods.slice/pod2"})
    write(root, {"cgroup.controllers": "cpu memory",
                 "kubepods.slice/pod2/cpu.max": "50000 100000", "kubepods.slice/pod2/cpu.weight": "20",
                 "kubepods.slice/pod2/memory.max": str(1 << 30), "kubepods.slice/pod2/memory.min": str(1 << 29),
                 "kubepods.slice/cpu.max": "max 100000", "kubepods.slice/memory.max": "max"})
    got = cgroup_resources(9, proc=proc, root=root)
    assert got.cpu_lim_core == 0.5
    # Kubernetes writes weight 20 for a 500m request: 1 + (512 - 2) * 9999 / 262142 = 20.45 → 20.
    assert got.cpu_req_core == pytest.approx(0.5, rel=0.05)
    assert (got.mem_lim_bytes, got.mem_req_bytes) == (1 << 30, 1 << 29)


def test_no_cgroup_file(tmp_path: Path) -> None:
    got = cgroup_resources(1, proc=tmp_path, root=tmp_path)
    assert (got.cpu_group, got.cpu_lim_core, got.mem_lim_bytes) == (None, None, None)


@pytest.fixture
def v1_groups() -> Iterator[tuple[Path, Path]]:
    """A real cgroup v1 cpu group (quota 0.25 core) and memory group (256 MiB); skips where impossible."""
    cpu_root, mem_root = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/memory")
    if not (cpu_root / "cpu.cfs_quota_us").exists() or not (mem_root / "memory.limit_in_bytes").exists():
        pytest.skip("no cgroup v1 cpu and memory hierarchies mounted at /sys/fs/cgroup")
    name = f"kubelab-test-{uuid.uuid4().hex[:8]}"
    cpu, mem = cpu_root / name, mem_root / name
    try:
        cpu.mkdir()
        mem.mkdir()
        (cpu / "cpu.cfs_period_us").write_text("100000")
        (cpu / "cpu.cfs_quota_us").write_text("25000")
        (mem / "memory.limit_in_bytes").write_text(str(256 << 20))
    except OSError as exc:
        for d in (cpu, mem):
            if d.exists():
                d.rmdir()
        pytest.skip(f"cannot create cgroups here ({exc.strerror}): needs root and writable cgroup v1 mounts")
    yield cpu, mem
    for d in (cpu, mem):
        for _ in range(50):
            try:
                d.rmdir()
                break
            except OSError:  # the killed process is still leaving the group
                time.sleep(0.05)


def test_real_v1_group_limits_and_throttled_use(v1_groups: tuple[Path, Path],
                                                spawn: Callable[..., Popen[str]], tmp_path: Path) -> None:
    cpu, mem = v1_groups
    log = tmp_path / "burn.log"
    burner = spawn("burn", "1", str(log))
    for group in (cpu, mem):
        (group / "cgroup.procs").write_text(str(burner.pid))
    wait_for_log(log)
    monitor = Monitor(LocalTarget(pids=[burner.pid]), interval=0.5, duration=2)
    start = time.time()
    samples = monitor.run()
    end = time.time()
    time.sleep(0.15)
    assert {(s.cpu_lim_core, s.mem_lim_kib) for s in samples} == {(0.25, 256 * 1024)}
    assert {(s.cpu_req_core, s.mem_req_kib) for s in samples} == {(None, None)}
    used = sum(s.cpu_use_core or 0 for s in samples) / len(samples)
    assert used == pytest.approx(self_reported_cpu(log, start, end), rel=0.10)
    assert used == pytest.approx(0.25, rel=0.15)  # the quota holds it there
    assert os.getpid() not in {int(p) for p in (cpu / "cgroup.procs").read_text().split()}
