from __future__ import annotations

import subprocess
import sys


def test_help_lists_commands_and_examples(cli):  # type: ignore[no-untyped-def]
    result = cli("--help")
    assert result.returncode == 0
    assert "tune" in result.stdout
    assert "Examples:" in result.stdout


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from kubelab.cli import main\n"
            "try: main(['tune', '--help'])\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('numpy', 'sklearn', 'optuna', 'sqlite3', 'pydantic', 'rich') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_unknown_command_is_usage_error(cli):  # type: ignore[no-untyped-def]
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "No such command 'frobnicate'" in result.stderr


def test_version(cli):  # type: ignore[no-untyped-def]
    result = cli("--version")
    assert result.returncode == 0 and "kubelab, version" in result.stdout
