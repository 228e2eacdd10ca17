"""An estimator the fold tests run in real worker processes (copied beside each test's spec)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class FoldLogger(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts the training mean × ``scale``; logs each fit's pid (one line per fit, appended atomically)
    and, with ``abort_at``, aborts its process on that fit, counted across processes by the log's lines."""

    def __init__(self, scale: float = 1.0, sleep: float = 0.0, log: str = "", abort_at: int = 0) -> None:
        self.scale, self.sleep, self.log, self.abort_at = scale, sleep, log, abort_at

    def fit(self, X: Any, y: Any) -> FoldLogger:  # noqa: N803 - the scikit-learn name
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()}\n")
            if self.abort_at and len(Path(self.log).read_text().split()) == self.abort_at:
                os.abort()
        time.sleep(self.sleep)
        self.mean_ = float(np.mean(y)) * self.scale
        return self

    def predict(self, X: Any) -> Any:  # noqa: N803
        return np.full(len(X), self.mean_)
