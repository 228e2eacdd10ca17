"""The whole check, as CI runs it: servers up, ruff, mypy (strict on src/), then the test suite.

Usage: python scripts/test.py [pytest arguments...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from services import ensure_all  # noqa: E402


def step(name: str, cmd: list[str]) -> None:
    start = time.monotonic()
    print(f"==> {name}: {' '.join(cmd)}", flush=True)
    code = subprocess.call(cmd, cwd=ROOT)
    verdict = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"==> {name}: {verdict} in {time.monotonic() - start:.1f}s", flush=True)
    if code != 0:
        sys.exit(code)


def main() -> None:
    problems = ensure_all()
    if problems:
        for p in problems:
            print(f"services: {p}", file=sys.stderr)
        sys.exit(1)
    py = sys.executable
    step("ruff", [py, "-m", "ruff", "check", "src", "tests", "bench", "scripts"])
    step("mypy", [py, "-m", "mypy"])
    os.environ.setdefault("KUBELAB_TEST_SERVICES", "1")
    step("pytest", [py, "-m", "pytest", "-q", "-ra", *sys.argv[1:]])


if __name__ == "__main__":
    main()
