"""XGBoost trees converted to ONNX and run by onnxruntime, for the small batches a lightly loaded server predicts.

XGBoost's own predict has a fixed cost per call that dwarfs the work for one row (a few hundred µs for 100
trees of depth 6 with XGBoost 3.x, whatever the number of rows up to ~64). onnxruntime's TreeEnsemble kernel
has a far smaller one, so ``kubelab serve`` converts the booster with onnxmltools' ``convert_xgboost`` when the
model loads and predicts batches of up to ``SMALL_BATCH`` rows through one ``InferenceSession`` (one thread,
sequential execution), and larger ones with XGBoost's ``inplace_predict`` (see docs/benchmarks.md, serve).
``session.run`` reads the C-contiguous float32 batch in place; an ``IOBinding`` was measured slower for a row.

The converted graph is used only after it reproduced XGBoost on probe rows (values on and around every split
threshold, 10 % missing). Both compare float32 features against float32 thresholds, so they take the same
branches; only the float32 sum of the leaves (and the logistic or exp transform after it) may differ in order
of summation, by about 1e-6 relative. The check allows ``RTOL`` relative to each value and to the largest,
which a single branch taken differently would exceed for any leaf of weight. Anything the converter refuses
(``gblinear``, ``dart``) or that disagrees (``reg:logistic``, whose output transform it misreads) is served
by XGBoost alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubelab._deps import require
from kubelab.errors import MissingDependency

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["RTOL", "SMALL_BATCH", "onnx_predictor", "probe_rows"]

log = logging.getLogger(__name__)
SMALL_BATCH = 64
RTOL = 1e-4


def onnx_predictor(booster: Any, threads: int = 1) -> tuple[Callable[[npt.NDArray[Any]], Any] | None, str]:
    """onnxruntime's predict for ``booster`` when the conversion succeeds and agrees, with why not otherwise.

    Returns ``(predict, "")`` or ``(None, reason)``; ``predict`` takes C-contiguous float32 rows and answers
    what ``booster.inplace_predict`` answers.
    """
    import numpy as np

    try:  # both are in the serve extra; without them XGBoost serves alone
        ort, types = require("onnxruntime", "serve"), require("onnxmltools.convert.common.data_types", "serve")
    except MissingDependency as exc:
        return None, str(exc)
    try:
        session, (index, column) = _session(booster, threads, ort, types)
        rows = probe_rows(booster)
        expected = np.asarray(booster.inplace_predict(rows))
        feed, out = session.get_inputs()[0].name, [session.get_outputs()[index].name]

        def predict(x: npt.NDArray[Any]) -> Any:
            y = session.run(out, {feed: x})[0]
            return y[:, column] if column is not None else y.reshape(len(x), *expected.shape[1:])

        got = predict(rows)
    except Exception as exc:  # noqa: BLE001 - each converter gap has its own error type; all mean "not convertible"
        log.debug("XGBoost model not converted to ONNX", exc_info=True)
        return None, f"onnxmltools cannot convert it ({type(exc).__name__}: {str(exc)[:120]})"
    scale = max(1.0, float(np.abs(expected).max()))
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=RTOL, atol=RTOL * scale):
        return None, "its ONNX conversion differs from XGBoost on probe rows"
    return predict, ""


def _session(booster: Any, threads: int, ort: Any, types: Any) -> tuple[Any, tuple[int, int | None]]:
    """The onnxruntime session of the converted booster and which output (index, column) answers."""
    from onnxmltools.convert import convert_xgboost  # type: ignore[import-untyped]

    shape = [None, int(booster.num_features())]
    graph = convert_xgboost(booster, initial_types=[("input", types.FloatTensorType(shape))])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    if "probabilities" not in names:
        return session, (0, None)  # regression: one (n, 1) output
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    # binary classifiers answer (label, [P(0), P(1)]); XGBoost answers P(1) alone
    return session, (names.index("probabilities"), 1 if objective.startswith("binary:") else None)


def probe_rows(booster: Any, count: int = 256, seed: int = 0) -> npt.NDArray[Any]:
    """Rows whose values sit on and around the booster's split thresholds, 10 % missing, to reach many branches."""
    import numpy as np

    n = int(booster.num_features())
    cuts: list[list[float]] = [[] for _ in range(n)]
    for tree in json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]:
        for left, feature, cut in zip(tree["left_children"], tree["split_indices"], tree["split_conditions"],
                                      strict=True):
            if left != -1:
                cuts[feature].append(cut)
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(count, n)).astype(np.float32)
    for f, values in enumerate(cuts):
        if values:
            picks = rng.choice(np.asarray(values, dtype=np.float32), size=count)
            rows[:, f] = picks + rng.choice([-1e-3, 0, 1e-3], size=count).astype(np.float32) * (1 + abs(picks))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    return np.ascontiguousarray(rows)
