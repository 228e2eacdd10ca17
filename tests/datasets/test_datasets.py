from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kubelab.datasets import Dataset, DatasetSpec, generate_turbofan, read_cmapss, write_cmapss
from kubelab.datasets._turbofan import COLUMNS, prepare, rul
from kubelab.errors import DatasetError


def test_generator_is_fd001_shaped_and_deterministic(tmp_path: Path) -> None:
    rows = generate_turbofan(units=20, seed=7)
    assert rows.shape[1] == 26 == len(COLUMNS)
    assert np.array_equal(rows, generate_turbofan(units=20, seed=7))
    assert not np.array_equal(rows, generate_turbofan(units=20, seed=8))
    lives = np.array([rows[rows[:, 0] == u, 1].max() for u in range(1, 21)])
    assert lives.min() >= 128 and lives.max() <= 362  # FD001's range of engine lives
    # cycles run 1..life within each unit
    for u in (1, 20):
        cycles = rows[rows[:, 0] == u, 1]
        assert np.array_equal(cycles, np.arange(1, len(cycles) + 1))
    # degradation: sensor 4 (a temperature) drifts up towards end of life
    s4 = COLUMNS.index("sensor_4")
    unit1 = rows[rows[:, 0] == 1]
    assert unit1[-20:, s4].mean() > unit1[:20, s4].mean() + 10


def test_text_format_and_preparation(tmp_path: Path) -> None:
    rows = generate_turbofan(units=10, seed=0)
    path = write_cmapss(rows, tmp_path / "train_FD001.txt")
    first = path.read_text().splitlines()[0].split()
    assert len(first) == 26 and first[0] == "1" and first[1] == "1"
    back, test, truth = read_cmapss(path)
    assert back.shape == rows.shape and np.allclose(back, rows, atol=1e-4)
    assert test is None and truth is None
    x, _, names = prepare(back)
    # the seed's preparation: FD001's 7 constant columns dropped, 19 features left, z-scored
    assert len(names) == 19 and x.shape == (len(rows), 19)
    constant = {"op_setting_3", "sensor_1", "sensor_5", "sensor_10", "sensor_16", "sensor_18", "sensor_19"}
    assert constant.isdisjoint(names)
    assert np.allclose(x.mean(axis=0), 0, atol=1e-9) and np.allclose(x.std(axis=0), 1)
    y = rul(back)
    last = back[:, 0] != np.append(back[1:, 0], -1)
    assert (y[last] == 0).all() and y[0] == back[back[:, 0] == 1, 1].max() - 1


def test_reads_test_and_rul_files_beside_train(tmp_path: Path) -> None:
    write_cmapss(generate_turbofan(units=6, seed=1), tmp_path / "train_FD001.txt")
    test_rows = generate_turbofan(units=3, seed=2)
    write_cmapss(test_rows, tmp_path / "test_FD001.txt")
    (tmp_path / "RUL_FD001.txt").write_text("112 \n98 \n69 \n")
    ds = Dataset(DatasetSpec(path=str(tmp_path / "train_FD001.txt"), format="cmapss"))
    assert ds.X.shape[1] == 19 and ds.X_test is not None and ds.X_test.shape == (3, 19)
    assert ds.y_test is not None and list(ds.y_test) == [112, 98, 69]


@pytest.mark.parametrize(("content", "message"), [
    ("1 2 3\n", "expected 26 space-separated columns (C-MAPSS), found 3"),
    ("a b c\n", "not a C-MAPSS text file"),
])
def test_bad_cmapss_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.txt"
    path.write_text(content)
    with pytest.raises(DatasetError, match=re.escape(message)):
        Dataset(DatasetSpec(path=str(path), format="cmapss")).X  # noqa: B018


def test_csv_dataset(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,3\n4,,6\n")
    ds = Dataset(DatasetSpec(path=str(path), target="y"))
    assert ds.feature_names == ["a", "b"] and ds.y.tolist() == [3.0, 6.0]
    assert np.isnan(ds.X[1, 1])


@pytest.mark.parametrize(("content", "target", "message"), [
    ("a,y\n1,2\n", "z", "no column 'z' (the target); columns are: a, y"),
    ("a,y\nred,2\n", "y", "d.csv:2: column 'a' holds 'red', not a number"),
    ("a,y\n1,2,3\n", "y", "d.csv:2: 3 fields, the header has 2"),
    ("a,y\n", "y", "empty CSV"),
    ("a,y\n1,\n", "y", "the target column 'y' has empty cells"),
])
def test_bad_csv(tmp_path: Path, content: str, target: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=re.escape(message)):
        Dataset(DatasetSpec(path=str(path), target=target)).X  # noqa: B018


def test_builtins_load_lazily() -> None:
    ds = Dataset(DatasetSpec(builtin="turbofan", options={"units": 5}))
    assert "_data" not in ds.__dict__
    assert ds.X.shape[1] == 19 and len(ds.y) == len(ds.X)
    assert Dataset(DatasetSpec(builtin="diabetes")).X.shape == (442, 10)
