"""Make sure the servers the tests talk to are up on loopback: PostgreSQL (5432) and RabbitMQ (5672).

Starts what is installed but stopped; says what to install when a server is missing. Used by
scripts/test.py; run it alone with ``python scripts/services.py``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time

INSTALL_HINT = "install it with: apt-get install -y rabbitmq-server postgresql (Debian/Ubuntu)"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return True
        time.sleep(0.5)
    return False


def ensure_postgres() -> str | None:
    if port_open(5432):
        return None
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions or not shutil.which("pg_ctlcluster"):
        return f"PostgreSQL is not running on 127.0.0.1:5432 and is not installed; {INSTALL_HINT}"
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)
    return None if wait_port(5432, 30) else "PostgreSQL did not start on 127.0.0.1:5432 within 30 s"


def ensure_rabbitmq() -> str | None:
    if port_open(5672):
        return None
    if not shutil.which("rabbitmq-server"):
        return f"RabbitMQ is not running on 127.0.0.1:5672 and is not installed; {INSTALL_HINT}"
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    return None if wait_port(5672, 60) else "RabbitMQ did not start on 127.0.0.1:5672 within 60 s"


# command-line tools the tests run for real, and the Debian package that provides each. (terraform is not in
# Debian: tests/lab/test_render_terraform.py runs `terraform fmt -check` where it is installed, and says so.)
TOOLS: dict[str, str] = {
    "siege": "siege",  # loadtest: tests/load/test_siege.py
    "wrk": "wrk",  # loadtest: bench/loadtest_rate.py
    # tune at scale: private RabbitMQ and PostgreSQL instances for the tests that restart or stop them
    "rabbitmq-server": "rabbitmq-server",
    "pg_ctlcluster": "postgresql",
    "runuser": "util-linux",
}


def ensure_tools() -> str | None:
    """Install missing tools with apt-get when we are root (CI), else say what to install."""
    missing = sorted({pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)})
    if not missing:
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"services: installing {' '.join(missing)} with apt-get", file=sys.stderr, flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False)
        missing = sorted({pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)})
    return f"missing tools; install with: apt-get install -y {' '.join(missing)}" if missing else None


def ensure_all() -> list[str]:
    return [msg for msg in (ensure_postgres(), ensure_rabbitmq(), ensure_tools()) if msg]


if __name__ == "__main__":
    problems = ensure_all()
    for p in problems:
        print(f"services: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)
