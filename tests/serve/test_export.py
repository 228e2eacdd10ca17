"""``kubelab tune export``: the best trial refitted on the whole dataset, saved for ``kubelab serve``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kubelab.tune
from kubelab.datasets import Dataset, DatasetSpec
from kubelab.serve import load_model, read_metadata
from tests.serve.conftest import NAMES, LiveServer, make_data

SPEC = """
study: {study}
dataset: {{path: data.csv, target: y}}
cv: 2
metric: neg_root_mean_squared_error
search: {{method: grid}}
models:
  - {kind}: {target}
    fixed: {fixed}
    space: {space}
"""


def _study(tmp: Path, study: str, kind: str, target: str, fixed: str, space: str) -> str:
    x, y = make_data(rows=120)
    rows = "\n".join(",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(x, y, strict=True))
    (tmp / "data.csv").write_text(",".join([*NAMES, "y"]) + "\n" + rows + "\n")
    spec = tmp / f"{study}.yaml"
    spec.write_text(SPEC.format(study=study, kind=kind, target=target, fixed=fixed, space=space))
    store = f"sqlite:///{tmp / 'k.db'}"
    result = kubelab.tune.run(spec, store=store, workers=1)
    assert result.counts["done"] >= 1
    return store


@pytest.fixture(scope="module")
def xgb_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("export")
    return tmp, _study(tmp, "xgb", "estimator", "xgboost.XGBRegressor", "{n_estimators: 20, n_jobs: 1}",
                       "{max_depth: [1, 3]}")


def test_export_refits_best_xgboost_and_serves_it(cli, xgb_study: tuple[Path, str]) -> None:  # type: ignore[no-untyped-def]
    tmp, store = xgb_study
    result = cli("tune", "export", "xgb", "--store", store, "--out", str(tmp / "out" / "model.json"),
                 "--format", "json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    best = kubelab.tune.results("xgb", store, top=1)[0]
    assert info["trial"] == best.number and info["format"] == "xgboost" and info["rows"] == 120
    assert "refitting trial #" in result.stderr and "serve it with: kubelab serve" in result.stderr
    model_path = Path(info["model"])
    meta = read_metadata(model_path)
    assert meta is not None and meta.feature_names == tuple(NAMES) and meta.study == "xgb"
    assert meta.params == best.params and meta.metric == "neg_root_mean_squared_error"
    # the same estimator refitted here predicts what the exported file predicts
    import xgboost as xgb

    data = Dataset(DatasetSpec(path=str(tmp / "data.csv"), target="y"))
    reference = xgb.XGBRegressor(n_estimators=20, n_jobs=1, **best.params).fit(data.X, data.y)
    x = data.X[:5].astype(np.float32)
    assert np.allclose(load_model(model_path).predict(x), reference.predict(x), rtol=1e-5)
    with LiveServer(model_path, name="xgb") as server:
        status, body = server.client.json("GET", "/test")
        assert status == 200 and np.isclose(body["predictions"][0], reference.predict(x[:1])[0], rtol=1e-5)
        records = [dict(zip(NAMES, row, strict=True)) for row in data.X[:2].tolist()]
        assert server.client.json("POST", "/predict", {"instances": records})[0] == 200


def test_export_default_path_and_directory(cli, xgb_study: tuple[Path, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, store = xgb_study
    assert cli("tune", "export", "xgb", "--store", store).returncode == 0
    assert (tmp_path / "xgb.ubj").is_file() and (tmp_path / "xgb.meta.json").is_file()
    (tmp_path / "models").mkdir()
    assert cli("tune", "export", "xgb", "--store", store, "--out", "models").returncode == 0
    assert (tmp_path / "models" / "xgb.ubj").is_file()


def test_export_errors(cli, xgb_study: tuple[Path, str]) -> None:  # type: ignore[no-untyped-def]
    _, store = xgb_study
    result = cli("tune", "export", "xbg", "--store", store)
    assert result.returncode == 1 and "error: no study named 'xbg' (did you mean 'xgb'?)" in result.stderr
    result = cli("tune", "export", "xgb", "--store", store, "--out", "model.txt")
    assert result.returncode == 1
    assert "error: --out model.txt: a xgboost model is saved as .ubj or .json; try --out model.ubj" in result.stderr


@pytest.mark.slow
def test_export_sklearn_uses_skops(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = _study(tmp_path, "ridge", "estimator", "sklearn.linear_model.Ridge", "{}", "{alpha: [0.1, 10.0]}")
    result = cli("tune", "export", "ridge", "--store", store, "--format", "json")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "ridge.skops"
    assert json.loads(result.stdout)["model"] == "ridge.skops" and path.is_file()
    assert load_model(path).n_features == len(NAMES)


@pytest.mark.slow
def test_export_of_a_function_objective_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "objective.py").write_text("def score(params, data):\n    return params['x']\n")
    store = _study(tmp_path, "fn", "function", "objective:score", "{}", "{x: [1, 2]}")
    result = cli("tune", "export", "fn", "--store", store)
    assert result.returncode == 1
    assert "is the function objective:score, which returns a score, not a model" in result.stderr
