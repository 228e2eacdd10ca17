"""NASA C-MAPSS turbofan data: a deterministic synthetic generator in the exact FD001 text format, and a
reader for the real files (train/test/RUL) with the seed's preparation.

FD001 format: one row per engine cycle, 26 space-separated columns: unit, cycle, three operational
settings, 21 sensors. Label: remaining useful life, RUL = max(cycle) - cycle per unit. The seed prepares it by
z-scoring every column with the training statistics and dropping zero-variance columns (19 features left).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kubelab.errors import DatasetError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["COLUMNS", "generate", "prepare", "read_cmapss", "rul", "write_cmapss"]

COLUMNS = ["unit", "cycle", "op_setting_1", "op_setting_2", "op_setting_3"] + [f"sensor_{i}" for i in range(1, 22)]

# Per sensor: FD001 healthy mean, noise sd, drift at end of life (signed). Zero sd and drift: constant in FD001.
_SENSORS: list[tuple[float, float, float]] = [
    (518.67, 0.0, 0.0), (642.30, 0.40, 1.6), (1585.0, 5.0, 25.0), (1400.0, 6.5, 40.0), (14.62, 0.0, 0.0),
    (21.61, 0.0014, 0.0), (554.20, 0.60, -3.5), (2388.03, 0.05, 0.30), (9050.0, 8.0, 30.0), (1.30, 0.0, 0.0),
    (47.30, 0.20, 1.1), (522.00, 0.50, -3.0), (2388.03, 0.05, 0.30), (8135.0, 6.0, 25.0), (8.41, 0.025, 0.12),
    (0.03, 0.0, 0.0), (391.5, 1.2, 5.0), (2388.0, 0.0, 0.0), (100.0, 0.0, 0.0), (38.95, 0.15, -0.8),
    (23.37, 0.09, -0.45),
]


def generate(units: int = 100, seed: int = 0) -> npt.NDArray[np.float64]:
    """Synthetic run-to-failure engines shaped like FD001 (about 206 cycles per unit, 128 to 362).

    Each engine degrades along an exponential health curve; sensors drift by their signed amount at end of
    life plus Gaussian noise. Deterministic for a given (units, seed).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    blocks = []
    for unit in range(1, units + 1):
        life = int(np.clip(rng.gamma(shape=12.0, scale=206.0 / 12.0), 128, 362))
        cycle = np.arange(1, life + 1, dtype=np.float64)
        onset = rng.uniform(0.2, 0.6)  # fraction of life before wear shows
        rate = rng.uniform(3.0, 6.0)
        x = np.clip((cycle / life - onset) / (1.0 - onset), 0.0, None)
        health = np.expm1(rate * x) / np.expm1(rate)  # 0 healthy .. 1 failed
        cols = [np.full(life, float(unit)), cycle,
                rng.normal(0.0, 0.0022, life).round(4), rng.normal(0.0, 0.0003, life).round(4),
                np.full(life, 100.0)]
        offset = rng.normal(0.0, 0.5, len(_SENSORS))  # manufacturing variation, in noise units
        for (mean, sd, drift), off in zip(_SENSORS, offset, strict=True):
            if sd == 0.0:
                cols.append(np.full(life, mean))
            else:
                cols.append((mean + off * sd + drift * health + rng.normal(0.0, sd, life)).round(4))
        blocks.append(np.column_stack(cols))
    return np.vstack(blocks)


def write_cmapss(rows: npt.NDArray[np.float64], path: str | Path) -> Path:
    """Write rows in the FD001 text layout (space-separated, integer unit and cycle, trailing space)."""
    out = Path(path)
    with out.open("w", encoding="ascii") as f:
        for row in rows:
            f.write(f"{int(row[0])} {int(row[1])} " + " ".join(f"{v:.4f}".rstrip("0").rstrip(".") if v != int(v)
                                                         else f"{v:.2f}" for v in row[2:]) + " \n")
    return out


def _read_table(path: Path, columns: int) -> npt.NDArray[np.float64]:
    import numpy as np

    try:
        data = np.loadtxt(path, ndmin=2)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except ValueError as exc:
        raise DatasetError(f"{path}: not a C-MAPSS text file ({exc})") from None
    if data.shape[1] != columns:
        raise DatasetError(f"{path}: expected {columns} space-separated columns (C-MAPSS), found {data.shape[1]}")
    return data


def rul(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """RUL = max(cycle) - cycle within each unit."""
    import numpy as np

    units, inverse = np.unique(rows[:, 0], return_inverse=True)
    last = np.zeros(len(units))
    np.maximum.at(last, inverse, rows[:, 1])
    return last[inverse] - rows[:, 1]


def prepare(train: npt.NDArray[np.float64], test: npt.NDArray[np.float64] | None = None
            ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None, list[str]]:
    """Z-score with the training statistics and drop zero-variance columns (the seed's preparation)."""
    import numpy as np

    mean = train.mean(axis=0)
    std = train.std(axis=0)
    keep = std > 1e-9 * np.maximum(1.0, np.abs(mean))  # summation error on constant columns
    names = [c for c, k in zip(COLUMNS, keep, strict=True) if k]
    x_train = (train[:, keep] - mean[keep]) / std[keep]
    x_test = None if test is None else (test[:, keep] - mean[keep]) / std[keep]
    return x_train, x_test, names


def read_cmapss(path: str | Path) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None,
                                           npt.NDArray[np.float64] | None]:
    """Read ``train_FDxxx.txt``; also ``test_FDxxx.txt`` and ``RUL_FDxxx.txt`` beside it when present.

    Returns (train rows, test rows at each unit's last cycle or None, true RUL of those or None).
    """
    import numpy as np

    train_path = Path(path)
    train = _read_table(train_path, 26)
    name = train_path.name
    if not name.startswith("train_"):
        return train, None, None
    test_path = train_path.with_name("test_" + name[len("train_"):])
    rul_path = train_path.with_name("RUL_" + name[len("train_"):])
    if not (test_path.exists() and rul_path.exists()):
        return train, None, None
    test = _read_table(test_path, 26)
    truth = np.loadtxt(rul_path, ndmin=1).astype(np.float64)
    last_rows = np.array([test[test[:, 0] == u][-1] for u in np.unique(test[:, 0])])
    if len(last_rows) != len(truth):
        raise DatasetError(f"{rul_path}: {len(truth)} values for {len(last_rows)} test units")
    return train, last_rows, truth
