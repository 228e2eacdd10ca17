"""The numpy evaluator of XGBoost ensembles answers what XGBoost answers, or declines the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from kubelab.serve import load_model
from kubelab.serve._trees import SMALL_BATCH, TreeEnsemble, probe_rows
from tests.serve.conftest import make_data


def _booster(objective: str, **params: object) -> xgb.Booster:
    x, y = make_data(rows=300)
    if objective.startswith("binary") or objective == "reg:logistic":
        y = (y > 0).astype(float)
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        y = np.exp(y / 10)
    x[::7, 2] = np.nan  # trains default directions
    dtrain = xgb.DMatrix(x, y)
    return xgb.train({"objective": objective, "max_depth": 4, "nthread": 1, **params}, dtrain, num_boost_round=15)


@pytest.mark.parametrize("objective", ["reg:squarederror", "reg:absoluteerror", "binary:logistic", "reg:logistic",
                                       "count:poisson", "reg:gamma", "reg:tweedie"])
def test_matches_xgboost_including_missing_values(objective: str) -> None:
    booster = _booster(objective)
    ensemble = TreeEnsemble.from_booster(booster)
    assert ensemble is not None
    rows = probe_rows(ensemble, count=500, seed=1)
    assert np.isnan(rows).any()
    expected = booster.inplace_predict(rows)
    assert np.allclose(ensemble.predict(rows), expected, rtol=1e-5, atol=1e-5 * max(1, np.abs(expected).max()))
    one = np.ascontiguousarray(rows[:1])
    assert np.allclose(ensemble.predict(one), booster.inplace_predict(one), rtol=1e-5)


@pytest.mark.parametrize(("objective", "params"), [("multi:softprob", {"num_class": 3}),
                                                   ("reg:squarederror", {"booster": "gblinear"}),
                                                   ("rank:pairwise", {})])
def test_declines_what_it_cannot_reproduce(objective: str, params: dict[str, object]) -> None:
    x, y = make_data(rows=90)
    labels = (np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))).astype(float)
    dtrain = xgb.DMatrix(x, labels)
    if objective.startswith("rank"):
        dtrain.set_group([30, 30, 30])
    booster = xgb.train({"objective": objective, "nthread": 1, **params}, dtrain, num_boost_round=3)
    assert TreeEnsemble.from_booster(booster) is None


def test_served_model_predicts_like_xgboost_on_both_paths(tmp_path: Path) -> None:
    booster = _booster("binary:logistic")
    booster.save_model(str(tmp_path / "m.ubj"))
    model = load_model(tmp_path / "m.ubj")
    x = np.ascontiguousarray(make_data(rows=200, seed=3)[0].astype(np.float32))
    for n in (1, SMALL_BATCH, SMALL_BATCH + 1, 200):
        assert np.allclose(model.predict(x[:n]), booster.inplace_predict(x[:n]), rtol=1e-5)
