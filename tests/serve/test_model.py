"""Loading every format, predicting the same as the library, and each way a model file can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from kubelab.errors import ModelError
from kubelab.serve import Metadata, load_model, metadata_path, read_metadata, write_metadata
from tests.serve.conftest import N_FEATURES, make_data, train_xgboost


class TaggedRegressor(LinearRegression):
    """A class skops does not know, so a .skops file holding it is untrusted."""


def _rows() -> np.ndarray:
    return make_data()[0][:4]


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost(tmp_path: Path, suffix: str) -> None:
    reference = train_xgboost(tmp_path / f"m{suffix}")
    model = load_model(tmp_path / f"m{suffix}")
    assert (model.format, model.n_features, model.dtype) == ("xgboost", N_FEATURES, "float32")
    x = _rows().astype(np.float32)
    assert np.allclose(model.predict(x), reference.predict(x), rtol=1e-6)


def test_lightgbm(tmp_path: Path) -> None:
    import lightgbm as lgb

    x, y = make_data()
    reference = lgb.LGBMRegressor(n_estimators=10, verbose=-1).fit(x, y)
    reference.booster_.save_model(str(tmp_path / "m.txt"))
    model = load_model(tmp_path / "m.txt")
    assert (model.format, model.n_features, model.feature_names) == ("lightgbm", N_FEATURES, None)
    assert np.allclose(model.predict(x[:4]), reference.predict(x[:4]))


def test_catboost(tmp_path: Path) -> None:
    import catboost

    x, y = make_data()
    reference = catboost.CatBoostRegressor(iterations=10, verbose=False, allow_writing_files=False).fit(x, y)
    reference.save_model(str(tmp_path / "m.cbm"))
    model = load_model(tmp_path / "m.cbm")
    assert (model.format, model.n_features) == ("catboost", N_FEATURES)
    assert np.allclose(model.predict(x[:4]), reference.predict(x[:4]))


def test_onnx(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.arange(1, N_FEATURES + 1, dtype=np.float32).reshape(-1, 1)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, N_FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        [numpy_helper.from_array(weights, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "m.onnx"))
    model = load_model(tmp_path / "m.onnx")
    assert (model.format, model.n_features, model.dtype) == ("onnx", N_FEATURES, "float32")
    x = _rows().astype(np.float32)
    assert np.allclose(model.predict(x), (x @ weights).ravel(), rtol=1e-5)


def test_skops(tmp_path: Path) -> None:
    import skops.io as sio

    x, y = make_data()
    reference = LinearRegression().fit(x, y)
    sio.dump(reference, str(tmp_path / "m.skops"))
    model = load_model(tmp_path / "m.skops")
    assert (model.format, model.n_features) == ("sklearn", N_FEATURES)
    assert np.allclose(model.predict(x[:4]), reference.predict(x[:4]))


def test_skops_with_untrusted_types_needs_trust(tmp_path: Path) -> None:
    import skops.io as sio

    x, y = make_data()
    sio.dump(TaggedRegressor().fit(x, y), str(tmp_path / "m.skops"))
    name = f"{__name__}.TaggedRegressor"
    with pytest.raises(ModelError, match=rf"holds types skops does not trust by default: {name}; if you made this "
                                         rf"file yourself, pass --trust {name}"):
        load_model(tmp_path / "m.skops")
    assert load_model(tmp_path / "m.skops", trusted=[name]).n_features == N_FEATURES


@pytest.mark.parametrize("suffix", [".pkl", ".joblib"])
def test_pickle_only_when_allowed(tmp_path: Path, suffix: str) -> None:
    import joblib

    x, y = make_data()
    joblib.dump(LinearRegression().fit(x, y), tmp_path / f"m{suffix}")
    with pytest.raises(ModelError, match="pickle and joblib files run any code they contain when loaded; pass "
                                         "--allow-pickle only for a file you made yourself"):
        load_model(tmp_path / f"m{suffix}")
    assert load_model(tmp_path / f"m{suffix}", allow_pickle=True).predict(x[:2]).shape == (2,)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"m\.ubj: no such file"):
        load_model(tmp_path / "m.ubj")


def test_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_bytes(b"\x89HDF")
    with pytest.raises(ModelError, match=r"m\.h5: unknown model format '\.h5'; kubelab serves \.cbm, \.joblib"):
        load_model(tmp_path / "m.h5")


@pytest.mark.parametrize(("suffix", "fmt"), [(".json", "xgboost"), (".ubj", "xgboost"), (".txt", "lightgbm"),
                                             (".cbm", "catboost"), (".onnx", "onnx"), (".skops", "sklearn")])
def test_corrupt_file(tmp_path: Path, suffix: str, fmt: str) -> None:
    (tmp_path / f"m{suffix}").write_text("this is not a model\n")
    with pytest.raises(ModelError, match=rf"m\{suffix}: not a valid {fmt} model \(.+\)"):
        load_model(tmp_path / f"m{suffix}")


def test_metadata_round_trip_and_errors(tmp_path: Path) -> None:
    model = tmp_path / "m.ubj"
    assert read_metadata(model) is None
    meta = Metadata(feature_names=("a", "b"), sample=(1.0, 2.0), study="s", params={"max_depth": 3})
    assert write_metadata(model, meta) == metadata_path(model) == tmp_path / "m.meta.json"
    assert read_metadata(model) == meta
    metadata_path(model).write_text('{"feature_names": ["a", 1], "sample": [1, "x", 3]}')
    with pytest.raises(ModelError, match=r"m\.meta\.json: feature_names: expected a list of strings; sample: "
                                         r"expected a list of numbers"):
        read_metadata(model)
    metadata_path(model).write_text("{oops")
    with pytest.raises(ModelError, match=r"m\.meta\.json: not valid JSON"):
        read_metadata(model)


def test_public_names_match_all() -> None:
    import types

    import kubelab.serve

    public = {n for n, v in vars(kubelab.serve).items()
              if not n.startswith("_") and n != "annotations" and not isinstance(v, types.ModuleType)}
    assert public == set(kubelab.serve.__all__)
