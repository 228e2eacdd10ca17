from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory with the test objectives module beside where specs are written."""
    shutil.copy(HERE / "trial_fns.py", tmp_path / "trial_fns.py")
    return tmp_path


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path
