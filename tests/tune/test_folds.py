"""Folds of a cross-validated trial shared between the slots of one process (``tune/_folds.py``), with real
worker processes on the embedded default."""

from __future__ import annotations

from pathlib import Path

import kubelab.tune
from kubelab.datasets import Dataset, DatasetSpec
from tests.tune.conftest import write_spec

SPEC = """
    study: folds
    dataset: {builtin: diabetes}
    cv: 5
    metric: neg_mean_absolute_error
    search: {method: grid}
    EXTRA
    models:
      - estimator: trial_estimators.FoldLogger
        fixed: {sleep: SLEEP, log: LOG, abort_at: ABORT}
        space: {scale: [0.5]}
"""


def _spec(workdir: Path, sleep: float, abort_at: int = 0, extra: str = "") -> Path:
    text = (SPEC.replace("SLEEP", str(sleep)).replace("LOG", str(workdir / "fits.log"))
            .replace("ABORT", str(abort_at)).replace("EXTRA", extra))
    return write_spec(workdir, text)


def _expected(workdir: Path) -> float:
    """What scikit-learn's own cross-validation gives for the same estimator and folds."""
    import sys

    from sklearn.model_selection import KFold, cross_val_score

    sys.path.insert(0, str(workdir))
    try:
        from trial_estimators import FoldLogger  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(workdir))
    data = Dataset(DatasetSpec(builtin="diabetes"))
    scores = cross_val_score(FoldLogger(scale=0.5), data.X, data.y, cv=KFold(5), scoring="neg_mean_absolute_error")
    return float(scores.mean())


def _fits(workdir: Path) -> list[str]:
    return (workdir / "fits.log").read_text().split()


def test_an_idle_slot_runs_folds_of_the_trial_in_hand(workdir: Path) -> None:
    store = f"sqlite:///{workdir / 'k.db'}"
    result = kubelab.tune.run(_spec(workdir, sleep=0.4), store=store, workers=2)
    fits = _fits(workdir)
    assert len(fits) == 5 and len(set(fits)) == 2  # the one trial's five folds, in both trial processes
    (row,) = kubelab.tune.results("folds", store)
    assert (row.status, row.attempts) == ("done", 1) and result.counts["done"] == 1
    assert abs(row.value - _expected(workdir)) < 1e-12  # the mean of the fold scores, in fold order
    assert len(row.extra["fold_scores"]) == 5 and row.extra["std"] >= 0.0


def test_a_fold_that_kills_its_process_costs_the_trial_one_attempt(workdir: Path) -> None:
    store = f"sqlite:///{workdir / 'k.db'}"
    kubelab.tune.run(_spec(workdir, sleep=0.2, abort_at=3), store=store, workers=2)
    (row,) = kubelab.tune.results("folds", store)
    assert (row.status, row.attempts, row.error) == ("done", 2, None)
    assert abs(row.value - _expected(workdir)) < 1e-12
    assert 8 <= len(_fits(workdir)) <= 9  # 3 or 4 fits of the first attempt (one may be in flight), then 5


def test_the_trial_timeout_covers_all_its_folds(workdir: Path) -> None:
    store = f"sqlite:///{workdir / 'k.db'}"
    # each fold takes 0.45 s, under the timeout; five of them on two processes take at least 1.35 s
    kubelab.tune.run(_spec(workdir, sleep=0.45, extra="trial_timeout: 1\n    max_attempts: 1"), store=store,
                     workers=2)
    (row,) = kubelab.tune.results("folds", store)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error == "timed out after 1 s; gave up after 1 attempts"


def test_one_slot_runs_a_trial_whole_with_the_same_value(workdir: Path) -> None:
    store = f"sqlite:///{workdir / 'k.db'}"
    kubelab.tune.run(_spec(workdir, sleep=0.0), store=store, workers=1)
    (row,) = kubelab.tune.results("folds", store)
    assert len(set(_fits(workdir))) == 1 and abs(row.value - _expected(workdir)) < 1e-12
