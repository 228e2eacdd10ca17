"""Objective functions the tune tests run in real worker processes (copied beside each test's spec)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def _log(params: dict[str, Any]) -> None:
    log = params.get("log")
    if log:
        with open(log, "a") as f:  # one line per execution, appended atomically
            f.write(f"{params['x']}\n")


def noop(params: dict[str, Any], dataset: Any) -> float:
    return float(params["x"])


def sleepy(params: dict[str, Any], dataset: Any) -> dict[str, Any]:
    _log(params)
    time.sleep(params.get("sleep", 0.05))
    return {"value": -float(params["x"]) ** 2, "pid": os.getpid()}


def quadratic(params: dict[str, Any], dataset: Any) -> float:
    return -((params["x"] - 0.3) ** 2) - (params["y"] - 0.7) ** 2 + (0.1 if params.get("c") == "b" else 0.0)


def misbehave(params: dict[str, Any], dataset: Any) -> float:
    """x selects a way to fail: 0 fine, 1 raise, 2 abort, 3 segfault, 4 memory blow-up, 5 hang, 6 NaN."""
    x = params["x"]
    if x == 1:
        raise ValueError("bagging_fraction should be in (0, 1], got 1.2")
    if x == 2:
        os.abort()
    if x == 3:
        import ctypes

        ctypes.string_at(0)
    if x == 4:
        hog = bytearray(0)
        while True:
            hog += bytearray(64 * 2**20)
            time.sleep(0.01)
    if x == 5:
        time.sleep(3600)
    if x == 6:
        return float("nan")
    return 1.0


def hog_in_child(params: dict[str, Any], dataset: Any) -> float:
    """Start a process that takes ``params["mb"]`` MiB and holds it (writing its pid to ``params["pid"]``)."""
    import subprocess
    import sys

    code = ("import os, sys, time; b = bytearray(int(sys.argv[1]) * 2**20); "
            "open(sys.argv[2], 'w').write(str(os.getpid())); time.sleep(120)")
    subprocess.run([sys.executable, "-c", code, str(params["mb"]), params["pid"]], check=False)
    return 0.0


def threads(params: dict[str, Any], dataset: Any) -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    pools = {p["internal_api"]: p["num_threads"] for p in threadpool_info()}
    return {"value": float(os.environ["OMP_NUM_THREADS"]), "kubelab": os.environ["KUBELAB_THREADS"],
            "pools": pools}


def uses_dataset(params: dict[str, Any], dataset: Any) -> dict[str, Any]:
    return {"value": float(dataset.X.shape[0]), "features": len(dataset.feature_names)}


def marker(params: dict[str, Any], dataset: Any) -> float:
    Path(params["dir"], f"{params['x']}.{os.getpid()}.{time.monotonic_ns()}").touch()
    time.sleep(params.get("sleep", 0.0))
    return float(params["x"])


def poison(params: dict[str, Any], dataset: Any) -> float:
    """Kills the worker running it (its parent process) when x is params['poison']; otherwise like sleepy."""
    _log(params)
    if params["x"] == params["poison"]:
        import signal

        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)
    time.sleep(params.get("sleep", 0.0))
    return float(params["x"])


def long_first(params: dict[str, Any], dataset: Any) -> float:
    """Trial 0 runs ``long`` seconds (past the broker's consumer timeout), the others ``sleep``."""
    _log(params)
    time.sleep(params["long"] if params["x"] == 0 else params.get("sleep", 0.0))
    return float(params["x"])

