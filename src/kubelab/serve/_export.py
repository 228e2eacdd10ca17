"""``kubelab tune export``: refit a study's best trial on the whole dataset and save it for ``kubelab serve``.

The model is saved in its library's own format (XGBoost ``.ubj``/``.json``, LightGBM ``.txt``, CatBoost
``.cbm``); any other scikit-learn estimator with skops (``.skops``), never pickle. The metadata file beside it
holds the feature names, a sample row, the dataset, the metric and where the model came from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelab.errors import KubelabError, StudyError
from kubelab.serve._metadata import Metadata, write_metadata
from kubelab.store import Store

__all__ = ["Exported", "export_best"]


@dataclass(frozen=True)
class Exported:
    """What ``export_best`` wrote."""

    model_path: Path
    metadata_path: Path
    format: str
    study: str
    trial: int
    value: float | None
    rows: int
    untrusted: tuple[str, ...] = ()  # skops types `kubelab serve` must be told to trust

    def as_dict(self) -> dict[str, Any]:
        return {"model": str(self.model_path), "metadata": str(self.metadata_path), "format": self.format,
                "study": self.study, "trial": self.trial, "value": self.value, "rows": self.rows,
                "untrusted": list(self.untrusted)}


def _format_of(estimator: Any) -> tuple[str, tuple[str, ...]]:
    module = type(estimator).__module__.split(".")[0]
    return {"xgboost": ("xgboost", (".ubj", ".json")), "lightgbm": ("lightgbm", (".txt",)),
            "catboost": ("catboost", (".cbm",))}.get(module, ("sklearn", (".skops",)))


def _target_path(out: str | Path | None, study: str, suffixes: tuple[str, ...], fmt: str) -> Path:
    if out is None:
        return Path(study + suffixes[0])
    p = Path(out)
    if p.is_dir() or str(out).endswith(os.sep):
        return p / (study + suffixes[0])
    if p.suffix.lower() not in suffixes:
        raise KubelabError(f"--out {out}: a {fmt} model is saved as {' or '.join(suffixes)}; "
                           f"try --out {p.with_suffix(suffixes[0])}")
    return p


def _save(estimator: Any, fmt: str, path: Path) -> tuple[str, ...]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xgboost":
        estimator.save_model(str(path))
    elif fmt == "lightgbm":
        estimator.booster_.save_model(str(path))
    elif fmt == "catboost":
        estimator.save_model(str(path))
    else:
        from kubelab._deps import require

        sio = require("skops.io", "serve")
        sio.dump(estimator, str(path))
        return tuple(sio.get_untrusted_types(file=str(path)))
    return ()


def export_best(study: str, out: str | Path | None = None, store: str | Store | None = None, *,
                threads: int | None = None, on_progress: Callable[[str], None] | None = None) -> Exported:
    """Refit the best finished trial of ``study`` on its whole dataset and write model + metadata.

    Args:
        study: the study's name.
        out: the model file, or a directory for ``STUDY.<suffix>``; default ``./STUDY.<suffix>``.
        store: store URL or Store (default ``KUBELAB_STORE`` or the embedded SQLite file).
        threads: threads for the refit (default: every core).
        on_progress: called with a line of text before the slow steps.

    Raises:
        StudyError: no such study, no finished trial, or the best trial is a function (nothing to save).
    """
    from kubelab.datasets import Dataset
    from kubelab.tune._api import _store, _study
    from kubelab.tune._objective import estimator_params, load_target
    from kubelab.tune._spec import parse_stored

    opened = _store(store)
    found = _study(opened, study)
    best = opened.trials(found.id, top=1)
    if not best:
        raise StudyError(f"study '{study}' has no finished trial yet; run `kubelab tune run` first")
    trial = best[0]
    spec = parse_stored(found.spec)
    model_spec = spec.models[trial.model]
    if model_spec.kind != "estimator":
        raise StudyError(f"the best trial of '{study}' (#{trial.number}) is the function {model_spec.target}, "
                         "which returns a score, not a model: kubelab exports only `estimator:` models")
    dataset = Dataset(spec.dataset)
    estimator = load_target(model_spec)(**estimator_params(model_spec, trial.params, threads or os.cpu_count() or 1))
    fmt, suffixes = _format_of(estimator)
    path = _target_path(out, study, suffixes, fmt)
    if on_progress:
        on_progress(f"refitting trial #{trial.number} ({model_spec.label}) on {len(dataset.X)} rows of "
                    f"{spec.dataset.describe()}")
    estimator.fit(dataset.X, dataset.y)
    untrusted = _save(estimator, fmt, path)
    meta = Metadata(feature_names=tuple(dataset.feature_names), sample=tuple(float(v) for v in dataset.X[0]),
                    dataset=spec.dataset.describe(), metric=spec.metric, study=study, trial=trial.number,
                    value=trial.value, model=model_spec.target, params=dict(trial.params))
    return Exported(path, write_metadata(path, meta), fmt, study, trial.number, trial.value, len(dataset.X),
                    untrusted)
