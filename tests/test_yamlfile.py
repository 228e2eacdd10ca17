from __future__ import annotations

from pathlib import Path

import pytest

from kubelab._yamlfile import did_you_mean, format_path, load, loads
from kubelab.errors import SpecError


def test_positions_of_keys_and_values() -> None:
    data, loc = loads("a: 1\nb:\n  - x: 2\n    y: [3, 4]\n", "f.yaml")
    assert data == {"a": 1, "b": [{"x": 2, "y": [3, 4]}]}
    assert loc.where(("b", 0, "y")) == (4, 8)
    assert loc.where(("b", 0, "y"), key=True) == (4, 5)
    assert loc.where(("b", 0, "y", 1)) == (4, 12)
    # unknown paths fall back to the nearest ancestor
    assert loc.where(("b", 0, "nope")) == (3, 5)
    assert str(loc.problem(("b", 0, "x"), "bad", "fix it")) == "f.yaml:3:8: b[0].x: bad; hint: fix it"


def test_syntax_error_has_position() -> None:
    with pytest.raises(SpecError) as err:
        loads("a: [1, 2\nb: 3\n", "s.yaml")
    assert "s.yaml:2:" in str(err.value) and "not valid YAML" in str(err.value)


def test_duplicate_keys_are_reported() -> None:
    with pytest.raises(SpecError) as err:
        loads("a: 1\nb: 2\na: 3\n", "d.yaml")
    assert "d.yaml:3:1: a: duplicate key" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load(tmp_path / "nope.yaml")


def test_helpers() -> None:
    assert format_path(("models", 0, "space", "max_depth")) == "models[0].space.max_depth"
    assert did_you_mean("modles", ["models", "metric"]) == "did you mean 'models'?"
    assert did_you_mean("zzz", ["models"]) is None
