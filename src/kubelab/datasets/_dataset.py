"""Datasets a study trains on: built-in (turbofan, diabetes), a CSV with a target column, or C-MAPSS files.

A ``Dataset`` loads on first use, so objectives that never touch it cost nothing, and each worker process
loads it once per study.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelab.errors import DatasetError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["BUILTINS", "Dataset", "DatasetSpec"]

BUILTINS = ("turbofan", "diabetes")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from: exactly one of ``builtin`` or ``path``."""

    builtin: str | None = None
    path: str | None = None
    target: str | None = None
    format: str = "csv"  # csv | cmapss
    options: dict[str, Any] = field(default_factory=dict)  # e.g. turbofan units, seed

    def describe(self) -> str:
        return f"builtin:{self.builtin}" if self.builtin else f"{self.format}:{self.path}"


class Dataset:
    """Features ``X``, label ``y``, ``feature_names``, and a held-out ``X_test``/``y_test`` when known."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec

    @cached_property
    def _data(self) -> tuple[Any, Any, list[str], Any, Any]:
        return _load(self.spec)

    @property
    def X(self) -> npt.NDArray[np.float64]:  # noqa: N802 - the scikit-learn name
        return self._data[0]  # type: ignore[no-any-return]

    @property
    def y(self) -> npt.NDArray[np.float64]:
        return self._data[1]  # type: ignore[no-any-return]

    @property
    def feature_names(self) -> list[str]:
        return self._data[2]

    @property
    def X_test(self) -> npt.NDArray[np.float64] | None:  # noqa: N802
        return self._data[3]  # type: ignore[no-any-return]

    @property
    def y_test(self) -> npt.NDArray[np.float64] | None:
        return self._data[4]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Dataset({self.spec.describe()})"


def _load(spec: DatasetSpec) -> tuple[Any, Any, list[str], Any, Any]:
    from kubelab.datasets import _turbofan

    if spec.builtin == "turbofan":
        rows = _turbofan.generate(units=int(spec.options.get("units", 100)), seed=int(spec.options.get("seed", 0)))
        x, _, names = _turbofan.prepare(rows)
        return x, _turbofan.rul(rows), names, None, None
    if spec.builtin == "diabetes":
        from sklearn.datasets import load_diabetes

        bunch = load_diabetes()
        return bunch.data, bunch.target.astype(float), list(bunch.feature_names), None, None
    if spec.builtin is not None:
        raise DatasetError(f"unknown builtin dataset '{spec.builtin}'; choose one of: {', '.join(BUILTINS)}")
    assert spec.path is not None
    if spec.format == "cmapss":
        train, test, truth = _turbofan.read_cmapss(spec.path)
        x, x_test, names = _turbofan.prepare(train, test)
        return x, _turbofan.rul(train), names, x_test, truth
    return _read_csv(Path(spec.path), spec.target)


def _read_csv(path: Path, target: str | None) -> tuple[Any, Any, list[str], None, None]:
    import numpy as np

    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if not header or not rows:
        raise DatasetError(f"{path}: empty CSV; expected a header row and at least one data row")
    header = [h.strip() for h in header]
    if target not in header:
        raise DatasetError(f"{path}: no column '{target}' (the target); columns are: {', '.join(header)}")
    values = np.empty((len(rows), len(header)))
    for i, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise DatasetError(f"{path}:{i}: {len(row)} fields, the header has {len(header)}")
        for j, cell in enumerate(row):
            text = cell.strip()
            try:
                values[i - 2, j] = float(text) if text else np.nan
            except ValueError:
                raise DatasetError(
                    f"{path}:{i}: column '{header[j]}' holds '{text}', not a number; encode categories as numbers"
                ) from None
    t = header.index(target)
    y = values[:, t]
    if np.isnan(y).any():
        raise DatasetError(f"{path}: the target column '{target}' has empty cells")
    return np.delete(values, t, axis=1), y, [h for h in header if h != target], None, None
