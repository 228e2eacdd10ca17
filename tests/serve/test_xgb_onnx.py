"""XGBoost models converted to ONNX answer what XGBoost answers, or are served by XGBoost alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from kubelab.serve import load_model
from kubelab.serve._xgb_onnx import RTOL, SMALL_BATCH, onnx_predictor, probe_rows
from tests.serve.conftest import make_data


def _booster(objective: str, **params: object) -> xgb.Booster:
    x, y = make_data(rows=300)
    if objective.startswith("binary") or objective == "reg:logistic":
        y = (y > 0).astype(float)
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        y = np.exp(y / 10)
    elif objective.startswith("multi"):
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(float)
    x[::7, 2] = np.nan  # trains default directions for missing values
    return xgb.train({"objective": objective, "max_depth": 4, "nthread": 1, **params}, xgb.DMatrix(x, y),
                     num_boost_round=15)


def _close(got: np.ndarray, expected: np.ndarray) -> bool:
    scale = max(1.0, float(np.abs(expected).max()))
    return got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize(("objective", "params"), [
    ("reg:squarederror", {}), ("reg:absoluteerror", {}), ("binary:logistic", {}), ("count:poisson", {}),
    ("reg:gamma", {}), ("reg:tweedie", {}), ("multi:softprob", {"num_class": 3})])
def test_matches_xgboost_including_missing_values(objective: str, params: dict[str, object]) -> None:
    booster = _booster(objective, **params)
    predict, why_not = onnx_predictor(booster)
    assert predict is not None, why_not
    rows = probe_rows(booster, count=500, seed=1)  # other rows than the load-time check's
    assert np.isnan(rows).any()
    assert _close(np.asarray(predict(rows)), booster.inplace_predict(rows))
    one = np.ascontiguousarray(rows[:1])
    assert _close(np.asarray(predict(one)), booster.inplace_predict(one))


def test_a_model_the_converter_refuses_is_declined_with_the_reason() -> None:
    predict, why_not = onnx_predictor(_booster("reg:squarederror", booster="dart"))
    assert predict is None and why_not.startswith("onnxmltools cannot convert it (")


def test_a_conversion_that_disagrees_with_xgboost_is_declined() -> None:
    booster = _booster("reg:logistic")  # onnxmltools 1.16 applies no logistic to it: off on the probe rows
    predict, why_not = onnx_predictor(booster)
    assert predict is None and why_not == "its ONNX conversion differs from XGBoost on probe rows"


def test_loaded_model_uses_onnx_for_small_batches_and_matches_xgboost(tmp_path: Path) -> None:
    booster = _booster("binary:logistic")
    booster.save_model(str(tmp_path / "m.ubj"))
    model = load_model(tmp_path / "m.ubj")
    assert model.predictor == f"onnxruntime for batches of <= {SMALL_BATCH} rows, xgboost above"
    x = np.ascontiguousarray(make_data(rows=300, seed=3)[0].astype(np.float32))
    for n in (1, SMALL_BATCH, SMALL_BATCH + 1, 300):
        assert _close(model.predict(x[:n]), booster.inplace_predict(x[:n]))


@pytest.mark.parametrize("objective", ["reg:logistic", "dart"])
def test_loaded_model_falls_back_to_xgboost(tmp_path: Path, objective: str) -> None:
    booster = _booster("reg:squarederror", booster="dart") if objective == "dart" else _booster(objective)
    booster.save_model(str(tmp_path / "m.json"))
    model = load_model(tmp_path / "m.json")
    reason = "differs from XGBoost" if objective == "reg:logistic" else "onnxmltools cannot convert it"
    assert model.predictor is not None and model.predictor.startswith("xgboost (") and reason in model.predictor
    x = np.ascontiguousarray(make_data(rows=5, seed=3)[0].astype(np.float32))
    assert np.array_equal(model.predict(x), booster.inplace_predict(x))
