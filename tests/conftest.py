from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``kubelab ARGS`` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("KUBELAB_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "kubelab", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``cli(*args)`` runs kubelab in a temporary working directory."""
    def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
        return run_cli(args, cwd=tmp_path, env=env, timeout=timeout)
    return _run
