"""A numpy evaluator of XGBoost tree ensembles, for the small batches a lightly loaded server predicts.

XGBoost's own predict has a fixed cost per call that dwarfs the work for one row (about 0.3–0.4 ms for 100
trees of depth 6 with XGBoost 3.x, nearly all of it in the library, whatever the number of rows up to ~64).
Walking all trees at once in numpy costs a few numpy operations per tree level, so it wins for a few rows
and loses for many: ``kubelab serve`` uses it up to ``SMALL_BATCH`` rows and XGBoost's ``inplace_predict``
above that (see docs/benchmarks.md, serve).

Only what can be reproduced exactly is taken: ``gbtree`` models with one output, numerical splits, and an
objective whose output transform is known. ``from_booster`` returns None for anything else, and the loader
also checks the evaluator against XGBoost on probe rows before using it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["SMALL_BATCH", "TreeEnsemble", "probe_rows"]

SMALL_BATCH = 32
_IDENTITY = {"reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror"}
_SIGMOID = {"binary:logistic", "reg:logistic"}
_EXP = {"count:poisson", "reg:gamma", "reg:tweedie"}


class TreeEnsemble:
    """Trees flattened into arrays (leaves point to themselves), evaluated level by level for all trees."""

    def __init__(self, trees: list[dict[str, Any]], base_margin: float, transform: str, n_features: int) -> None:
        import numpy as np

        sizes = [len(t["left_children"]) for t in trees]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        left, right, feature, threshold, default_left = [], [], [], [], []
        for tree, offset in zip(trees, self.offsets, strict=True):
            lc, rc = np.asarray(tree["left_children"]), np.asarray(tree["right_children"])
            leaf = lc == -1
            own = np.arange(len(lc)) + offset
            left.append(np.where(leaf, own, lc + offset))
            right.append(np.where(leaf, own, rc + offset))
            feature.append(np.where(leaf, 0, tree["split_indices"]))
            threshold.append(np.asarray(tree["split_conditions"], dtype=np.float32))  # leaf: its value
            default_left.append(np.asarray(tree["default_left"], dtype=bool))
        self.left = np.concatenate(left).astype(np.intp)
        self.right = np.concatenate(right).astype(np.intp)
        self.feature = np.concatenate(feature).astype(np.intp)
        self.threshold = np.concatenate(threshold)
        self.default_left = np.concatenate(default_left)
        self.depth = max(_depth(t) for t in trees)
        self.base_margin = np.float32(base_margin)
        self.transform = transform
        self.n_features = n_features

    @classmethod
    def from_booster(cls, booster: Any) -> TreeEnsemble | None:
        """The evaluator for an ``xgboost.Booster``, or None when its model is outside what this reproduces."""
        import math

        learner = json.loads(booster.save_raw("json"))["learner"]
        params, objective = learner["learner_model_param"], learner["objective"]["name"]
        model = learner["gradient_booster"]
        if model.get("name") != "gbtree" or int(params.get("num_class", 0)) > 1 or \
                int(params.get("num_target", 1)) != 1:
            return None
        trees = model["model"]["trees"]
        if not trees or any(any(t["split_type"]) or int(t["tree_param"].get("size_leaf_vector", 1)) > 1
                            for t in trees):
            return None
        base = float(str(params["base_score"]).strip("[]").split(",")[0])
        if objective in _IDENTITY:
            return cls(trees, base, "identity", int(params["num_feature"]))
        if objective in _SIGMOID and 0 < base < 1:
            return cls(trees, math.log(base / (1 - base)), "sigmoid", int(params["num_feature"]))
        if objective in _EXP and base > 0:
            return cls(trees, math.log(base), "exp", int(params["num_feature"]))
        return None

    def predict(self, x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Predictions for the rows of ``x`` (float32, C-contiguous), as XGBoost's ``inplace_predict`` gives."""
        import numpy as np

        n = len(x)
        flat = x.ravel()
        row_start = (np.arange(n, dtype=np.intp) * x.shape[1])[:, None]
        node = np.broadcast_to(self.offsets, (n, len(self.offsets)))
        for _ in range(self.depth):
            value = flat[row_start + self.feature[node]]
            go_left = value < self.threshold[node]
            missing = np.isnan(value)
            if missing.any():
                go_left = np.where(missing, self.default_left[node], go_left)
            node = np.where(go_left, self.left[node], self.right[node])
        margin = self.threshold[node].sum(axis=1, dtype=np.float32) + self.base_margin
        if self.transform == "sigmoid":
            return 1 / (1 + np.exp(-margin))  # type: ignore[no-any-return]
        if self.transform == "exp":
            return np.exp(margin)  # type: ignore[no-any-return]
        return margin  # type: ignore[no-any-return]


def _depth(tree: dict[str, Any]) -> int:
    left, right = tree["left_children"], tree["right_children"]
    deepest, stack = 0, [(0, 0)]
    while stack:
        node, depth = stack.pop()
        if left[node] == -1:
            deepest = max(deepest, depth)
        else:
            stack += [(left[node], depth + 1), (right[node], depth + 1)]
    return deepest


def probe_rows(ensemble: TreeEnsemble, count: int = 256, seed: int = 0) -> npt.NDArray[Any]:
    """Rows whose values sit on and around the split thresholds, so checks reach many branches."""
    import numpy as np

    rng = np.random.default_rng(seed)
    internal = ensemble.left != np.arange(len(ensemble.left))
    rows = rng.normal(size=(count, ensemble.n_features)).astype(np.float32)
    for f in range(ensemble.n_features):
        cuts = ensemble.threshold[internal & (ensemble.feature == f)]
        if len(cuts):
            picks = rng.choice(cuts, size=count)
            rows[:, f] = picks + rng.choice([-1e-3, 0, 1e-3], size=count).astype(np.float32) * (1 + abs(picks))
    rows[rng.random(rows.shape) < 0.1] = np.nan  # missing values follow each split's default direction
    return np.ascontiguousarray(rows)
