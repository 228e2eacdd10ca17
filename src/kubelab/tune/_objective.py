"""Objectives: a scikit-learn-compatible estimator scored by cross-validation, or a user function.

Runs inside the executor's child process. Thread counts: each trial gets ``threads`` threads; estimators
that take ``n_jobs`` (XGBoost, LightGBM, scikit-learn) or ``thread_count`` (CatBoost) get it unless the spec
fixes it, and BLAS/OpenMP pools are limited to it as well.
"""

from __future__ import annotations

import importlib
import itertools
import time
from collections.abc import Iterator
from typing import Any

from kubelab.datasets import Dataset
from kubelab.tune._folds import cv_summary
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
             threads: int, fold: int | None = None) -> tuple[float, dict[str, Any]]:
    """Run one trial, or one fold of an estimator's cross-validation; return (value, extra): a fold's value
    is its score (the caller combines them with ``cv_summary``). Raises whatever the model raises (stored as
    the failure)."""
    start = time.perf_counter()
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
    from sklearn.base import clone
    from sklearn.metrics import check_scoring

    cls = load_target(model)
    estimator = cls(**estimator_params(model, params, threads))
    scorer = check_scoring(estimator, scoring=spec.metric)
    X, y = dataset.X, dataset.y
    scores = []
    splits = _splits(spec, dataset)
    for train, test in splits if fold is None else itertools.islice(splits, fold, fold + 1):
        fitted = clone(estimator).fit(X[train], y[train])
        scores.append(float(scorer(fitted, X[test], y[test])))
    if fold is not None:
        return scores[0], {}
    return cv_summary(scores, time.perf_counter() - start)


def _splits(spec: StudySpec, dataset: Dataset) -> Iterator[tuple[Any, Any]]:
    """Each fold's train and test rows, as ``cross_validate`` would take them with the spec's ``cv``."""
    from sklearn.model_selection import KFold

    seed = spec.cv.seed if spec.cv.shuffle else None
    return iter(KFold(spec.cv.folds, shuffle=spec.cv.shuffle, random_state=seed).split(dataset.X))
