"""Load a model file by its format into one small interface: ``predict(rows) -> values``.

| suffix                             | format       | loaded with                                         |
|------------------------------------|--------------|-----------------------------------------------------|
| ``.json``, ``.ubj``                | XGBoost      | ``xgboost.Booster`` (ONNX for ≤ 64 rows, below)     |
| ``.txt``                           | LightGBM     | ``lightgbm.Booster``                                |
| ``.cbm``                           | CatBoost     | ``catboost.CatBoost``                               |
| ``.onnx``                          | ONNX         | ``onnxruntime.InferenceSession``                    |
| ``.skops``                         | scikit-learn | ``skops.io.load`` (only trusted types)              |
| ``.pkl``, ``.pickle``, ``.joblib`` | scikit-learn | ``joblib.load``, only with ``allow_pickle``         |

Every failure to load is a ``ModelError`` that names the file and says what to do. Each model predicts with
``threads`` threads (default 1: a server scales by workers, and a single row gains nothing from more).
XGBoost models are also converted to ONNX at load and predict small batches through onnxruntime, when the
conversion reproduces XGBoost (``_xgb_onnx.py``); ``Model.predictor`` says which path serves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelab._deps import require
from kubelab.errors import MissingDependency, ModelError
from kubelab.serve._xgb_onnx import SMALL_BATCH, onnx_predictor

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["FORMATS", "PICKLE_SUFFIXES", "Model", "load_model"]

log = logging.getLogger(__name__)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
FORMATS: dict[str, str] = {".json": "xgboost", ".ubj": "xgboost", ".txt": "lightgbm", ".cbm": "catboost",
                           ".onnx": "onnx", ".skops": "sklearn", **dict.fromkeys(PICKLE_SUFFIXES, "sklearn")}


@dataclass(frozen=True)
class Model:
    """A loaded model: what it expects (``n_features``, ``feature_names``, ``dtype``) and how it predicts.

    ``predict`` takes a C-contiguous 2-D array of ``dtype`` and returns one value (or one row of class
    probabilities) per input row.
    """

    path: Path
    format: str
    n_features: int | None
    feature_names: tuple[str, ...] | None
    dtype: str  # numpy dtype name the model wants: float32 or float64
    predict_fn: Callable[[npt.NDArray[Any]], Any]
    predictor: str | None = None  # which library predicts, when the format has a choice (XGBoost)

    def predict(self, rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Predictions for ``rows``, a column vector flattened to 1-D."""
        import numpy as np

        out = np.asarray(self.predict_fn(rows))
        if out.ndim == 2 and out.shape[1] == 1:
            out = out.ravel()
        return out


def load_model(path: str | Path, *, allow_pickle: bool = False, trusted: Sequence[str] = (),
               threads: int = 1) -> Model:
    """Load the model at ``path``, choosing the loader by the file's suffix.

    Args:
        path: the model file.
        allow_pickle: load ``.pkl``/``.pickle``/``.joblib`` files, which run arbitrary code when loaded.
        trusted: extra type names a ``.skops`` file may contain (skops refuses unknown types otherwise).
        threads: threads each predict call may use.

    Raises:
        ModelError: the file is missing, corrupt, of an unknown format, or unsafe to load.
        MissingDependency: the library for this format is not installed.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ModelError(f"{p}: unknown model format '{p.suffix or '(no suffix)'}'; kubelab serves {known}")
    if not p.is_file():
        raise ModelError(f"{p}: no such file" if not p.exists() else f"{p}: not a file")
    if p.suffix.lower() in PICKLE_SUFFIXES and not allow_pickle:
        raise ModelError(f"{p}: pickle and joblib files run any code they contain when loaded; pass "
                         "--allow-pickle only for a file you made yourself, or save the model with skops (.skops)")
    loader = _LOADERS[p.suffix.lower() if fmt == "sklearn" else fmt]
    try:
        return loader(p, threads, tuple(trusted))
    except (ModelError, MissingDependency):
        raise
    except Exception as exc:  # noqa: BLE001 - each library has its own error types; all mean "cannot load"
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p}: not a valid {fmt} model ({first})") from None


def _columns(names: Any) -> tuple[str, ...] | None:
    return tuple(str(n) for n in names) if names is not None and len(names) else None


def _xgboost(p: Path, threads: int, _: tuple[str, ...]) -> Model:
    xgb = require("xgboost", "xgboost")
    booster = xgb.Booster(model_file=str(p))
    booster.set_param({"nthread": threads})
    predict, how = booster.inplace_predict, "xgboost"
    small, why_not = onnx_predictor(booster, threads)
    if small is not None:

        def predict(x: npt.NDArray[Any]) -> Any:
            return small(x) if len(x) <= SMALL_BATCH else booster.inplace_predict(x)

        how = f"onnxruntime for batches of <= {SMALL_BATCH} rows, xgboost above"
        log.info("%s: predicting with %s", p, how)
    else:
        how = f"xgboost ({why_not})"
        log.info("%s: predicting with %s", p, how)
    return Model(p, "xgboost", int(booster.num_features()), _columns(booster.feature_names), "float32", predict,
                 how)


def _lightgbm(p: Path, threads: int, _: tuple[str, ...]) -> Model:
    lgb = require("lightgbm", "lightgbm")
    booster = lgb.Booster(model_file=str(p))
    names = booster.feature_name()
    default = all(n == f"Column_{i}" for i, n in enumerate(names))
    return Model(p, "lightgbm", int(booster.num_feature()), None if default else _columns(names), "float64",
                 lambda x: booster.predict(x, num_threads=threads))


def _catboost(p: Path, threads: int, _: tuple[str, ...]) -> Model:
    catboost = require("catboost", "catboost")
    model = catboost.CatBoost()
    model.load_model(str(p))
    names = model.feature_names_
    return Model(p, "catboost", len(names), _columns(names), "float64",
                 lambda x: model.predict(x, thread_count=threads))


def _onnx(p: Path, threads: int, _: tuple[str, ...]) -> Model:
    ort = require("onnxruntime", "serve")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelError(f"{p}: the ONNX graph has {len(inputs)} inputs; kubelab serves graphs with one "
                         "2-D input of features")
    shape = inputs[0].shape
    n = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
    dtype = "float64" if inputs[0].type == "tensor(double)" else "float32"
    name, output = inputs[0].name, session.get_outputs()[0].name
    return Model(p, "onnx", n, None, dtype, lambda x: session.run([output], {name: x})[0])


def _estimator(p: Path, est: Any) -> Model:
    if not hasattr(est, "predict"):
        raise ModelError(f"{p}: holds a {type(est).__name__}, which has no predict method")
    n = getattr(est, "n_features_in_", None)
    return Model(p, "sklearn", int(n) if n is not None else None, _columns(getattr(est, "feature_names_in_", None)),
                 "float64", est.predict)


def _skops(p: Path, threads: int, trusted: tuple[str, ...]) -> Model:
    sio = require("skops.io", "serve")
    unknown = [t for t in sio.get_untrusted_types(file=str(p)) if t not in trusted]
    if unknown:
        flags = " ".join(f"--trust {t}" for t in unknown)
        raise ModelError(f"{p}: holds types skops does not trust by default: {', '.join(unknown)}; if you "
                         f"made this file yourself, pass {flags}")
    return _estimator(p, sio.load(str(p), trusted=list(trusted) or None))


def _pickle(p: Path, threads: int, _: tuple[str, ...]) -> Model:
    joblib = require("joblib", "serve")
    return _estimator(p, joblib.load(str(p)))


_LOADERS: dict[str, Callable[[Path, int, tuple[str, ...]], Model]] = {
    "xgboost": _xgboost, "lightgbm": _lightgbm, "catboost": _catboost, "onnx": _onnx, ".skops": _skops,
    **dict.fromkeys(PICKLE_SUFFIXES, _pickle)}

