"""Objectives: a scikit-learn-compatible estimator scored by cross-validation, or a user function.

Runs inside the executor's child process. Thread counts: each trial gets ``threads`` threads; estimators
that take ``n_jobs`` (XGBoost, LightGBM, scikit-learn) or ``thread_count`` (CatBoost) get it unless the spec
fixes it, and BLAS/OpenMP pools are limited to it as well.
"""

from __future__ import annotations

import importlib
import math
import time
from typing import Any

from kubelab.datasets import Dataset
from kubelab.tune._spec import ModelSpec, StudySpec

__all__ = ["evaluate", "estimator_params", "load_target"]


def load_target(model: ModelSpec) -> Any:
    """Import the estimator class or the user function a model names."""
    sep = "." if model.kind == "estimator" else ":"
    module, attr = model.target.rsplit(sep, 1)
    return getattr(importlib.import_module(module), attr)


def _thread_param(cls: Any) -> str | None:
    if cls.__module__.startswith("catboost"):
        return "thread_count"
    try:
        return "n_jobs" if "n_jobs" in cls().get_params() else None
    except Exception:  # noqa: BLE001 - an estimator that cannot be built bare: leave its threads alone
        return None


def estimator_params(model: ModelSpec, params: dict[str, Any], threads: int) -> dict[str, Any]:
    """Fixed params, then the trial's, plus the thread count when the spec leaves it open."""
    cls = load_target(model)
    merged = {**model.fixed, **params}
    name = _thread_param(cls)
    if name is not None and name not in merged and not (name == "thread_count" and "n_jobs" in merged):
        merged[name] = threads
    if cls.__module__.startswith("catboost"):
        merged.setdefault("verbose", False)
        merged.setdefault("allow_writing_files", False)
    if cls.__module__.startswith("lightgbm"):
        merged.setdefault("verbose", -1)
    return merged


def evaluate(spec: StudySpec, dataset: Dataset, model_index: int, params: dict[str, Any],
             threads: int) -> tuple[float, dict[str, Any]]:
    """Run one trial; return (value, extra). Raises whatever the model raises (stored as the failure)."""
    model = spec.models[model_index]
    if model.kind == "function":
        fn = load_target(model)
        out = fn({**model.fixed, **params}, dataset)
        if isinstance(out, dict):
            if "value" not in out:
                raise ValueError(f"{model.target} returned a dict without 'value' (keys: {', '.join(out)})")
            value, extra = out["value"], {k: v for k, v in out.items() if k != "value"}
        else:
            value, extra = out, {}
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{model.target} returned {type(value).__name__}, expected a number") from None
        return number, extra
    from sklearn.model_selection import KFold, cross_validate

    cls = load_target(model)
    estimator = cls(**estimator_params(model, params, threads))
    folds = KFold(spec.cv.folds, shuffle=spec.cv.shuffle, random_state=spec.cv.seed if spec.cv.shuffle else None)
    start = time.perf_counter()
    scores = cross_validate(estimator, dataset.X, dataset.y, cv=folds, scoring=spec.metric, n_jobs=1,
                            error_score="raise")
    test = [float(s) for s in scores["test_score"]]
    mean = sum(test) / len(test)
    std = math.sqrt(sum((s - mean) ** 2 for s in test) / len(test))
    return mean, {"fold_scores": test, "std": std, "fit_s": round(time.perf_counter() - start, 4)}
