"""Request bodies to input arrays, refusing what is wrong with a status and a message that says what is expected.

Two request shapes are understood:

- ``POST /predict``: ``{"instances": [[1.0, 2.0, …], …]}`` or records ``{"instances": [{"name": value, …}, …]}``.
- The Open Inference Protocol v2 (``POST /v2/models/{name}/infer``): one input tensor of shape ``[N, F]``
  (``data`` flat in row-major order, or nested), or one input per feature, named after it, of shape ``[N]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["ClientError", "Schema", "parse_json", "parse_predict", "parse_v2"]

_V2_NUMERIC = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
               "FP64"}


class ClientError(Exception):
    """A request the client got wrong: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class Schema:
    """What the model takes: the number of features, their names, and the array dtype it wants."""

    def __init__(self, n_features: int | None, feature_names: Sequence[str] | None, dtype: str) -> None:
        self.n_features = n_features
        self.feature_names = tuple(feature_names) if feature_names else None
        self.dtype = dtype
        self._index = {n: i for i, n in enumerate(self.feature_names or ())}

    def shape_hint(self) -> str:
        """How a correct ``/predict`` body looks, for error messages."""
        n = "F" if self.n_features is None else str(self.n_features)
        rows = f'{{"instances": [[{n} numbers], …]}}'
        if not self.feature_names:
            return rows
        names = ", ".join(f'"{k}": …' for k in self.feature_names[:3])
        more = ", …" if len(self.feature_names) > 3 else ""
        return f'{rows} or {{"instances": [{{{names}{more}}}, …]}}'

    def check(self, array: npt.NDArray[Any], where: str) -> npt.NDArray[Any]:
        """``array`` as a C-contiguous 2-D array of the model's dtype, or a 422 naming the expected shape."""
        import numpy as np

        if array.dtype.kind not in "iuf":
            kind = "text" if array.dtype.kind in "US" else "true/false" if array.dtype.kind == "b" else \
                "null, nested lists or rows of unequal length"
            raise ClientError(422, f"{where}: every value must be a number (found {kind}); expected "
                                   f"{self.shape_hint()}")
        if array.ndim != 2 or array.shape[0] == 0:
            raise ClientError(422, f"{where}: expected a non-empty list of rows, got shape {list(array.shape)}; "
                                   f"expected {self.shape_hint()}")
        if self.n_features is not None and array.shape[1] != self.n_features:
            raise ClientError(422, f"{where}: rows have {array.shape[1]} values, the model takes "
                                   f"{self.n_features} features; expected {self.shape_hint()}")
        with np.errstate(over="ignore"):
            out = np.ascontiguousarray(array, dtype=self.dtype)
        if array.dtype.kind == "f" and not np.isfinite(out).all():
            raise ClientError(422, f"{where}: values must be finite numbers within the {self.dtype} range")
        return out

    def records(self, records: list[Any]) -> npt.NDArray[Any]:
        """Rows from records keyed by feature name (every feature, no other key)."""
        import numpy as np

        if not self.feature_names:
            raise ClientError(422, "instances: this model has no feature names, so records cannot be "
                                   f"matched to columns; send rows: {self.shape_hint()}")
        names, width = self.feature_names, len(self.feature_names)
        rows = []
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise ClientError(422, f"instances[{i}]: mixes records and rows; expected {self.shape_hint()}")
            if len(rec) != width or any(k not in self._index for k in rec):
                missing = [n for n in names if n not in rec]
                extra = [k for k in rec if k not in self._index]
                parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                        ([f"unknown {', '.join(extra)}"] if extra else [])
                raise ClientError(422, f"instances[{i}]: {'; '.join(parts)}; the model's features are "
                                       f"{', '.join(names)}")
            rows.append([rec[n] for n in names])
        try:
            array = np.array(rows)
        except (ValueError, TypeError, OverflowError):
            raise ClientError(422, f"instances: every value must be a number; expected {self.shape_hint()}") from None
        return self.check(array, "instances")


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``, or a 400 saying where it is broken."""
    import orjson

    if not body:
        raise ClientError(400, "empty body; send a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ClientError(400, f"malformed JSON: {exc}") from None


def _array(data: Any, where: str, schema: Schema) -> npt.NDArray[Any]:
    import numpy as np

    try:
        return np.array(data)
    except (ValueError, TypeError, OverflowError):
        raise ClientError(422, f"{where}: rows of unequal length or values that are not numbers; expected "
                               f"{schema.shape_hint()}") from None


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list):
        return any(_has_bool(v) for v in value)
    return isinstance(value, dict) and any(_has_bool(v) for v in value.values())


def parse_predict(body: bytes, schema: Schema) -> npt.NDArray[Any]:
    """The input rows of a ``POST /predict`` body."""
    doc = parse_json(body)
    if (b"true" in body or b"false" in body) and _has_bool(doc):  # numpy would take them as 1 and 0
        raise ClientError(422, f"instances: every value must be a number (found true/false); expected "
                               f"{schema.shape_hint()}")
    if not isinstance(doc, dict) or "instances" not in doc:
        raise ClientError(422, f"expected a JSON object with the key \"instances\": {schema.shape_hint()}")
    instances = doc["instances"]
    if not isinstance(instances, list) or not instances:
        raise ClientError(422, f"instances: expected a non-empty list; {schema.shape_hint()}")
    if isinstance(instances[0], dict):
        return schema.records(instances)
    return schema.check(_array(instances, "instances", schema), "instances")


def _v2_input(item: Any, i: int, schema: Schema) -> tuple[str | None, list[int], npt.NDArray[Any]]:
    where = f"inputs[{i}]"
    if not isinstance(item, dict):
        raise ClientError(422, f"{where}: expected an object with name, shape, datatype and data")
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in item]
    if missing:
        raise ClientError(422, f"{where}: missing {', '.join(missing)}")
    name, shape, datatype = item["name"], item["shape"], item["datatype"]
    if not isinstance(shape, list) or not shape or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ClientError(422, f"{where}.shape: expected a list of non-negative integers, e.g. [N, F]")
    if datatype not in _V2_NUMERIC:
        raise ClientError(422, f"{where}.datatype: '{datatype}' is not served; use FP32, FP64, INT32 or INT64")
    array = _array(item["data"], f"{where}.data", schema)
    if array.dtype.kind not in "iufb":
        raise ClientError(422, f"{where}.data: every value must be a number")
    if array.size != math.prod(shape):
        raise ClientError(422, f"{where}.data: {array.size} values do not fill shape {shape}")
    return (name if isinstance(name, str) else None), shape, array.reshape(shape)


def parse_v2(body: bytes, schema: Schema) -> tuple[npt.NDArray[Any], str | None]:
    """The input rows and the request ``id`` of an Open Inference Protocol v2 ``infer`` body."""
    import numpy as np

    doc = parse_json(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise ClientError(422, 'expected {"inputs": [{"name": "input-0", "shape": [N, F], "datatype": "FP32", '
                               '"data": [...]}]}')
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ClientError(422, "id: expected a string")
    inputs = [_v2_input(item, i, schema) for i, item in enumerate(doc["inputs"])]
    if len(inputs) == 1:
        _, shape, array = inputs[0]
        if len(shape) != 2:
            raise ClientError(422, f"inputs[0].shape: {shape} is not [N, F]; send one row per instance, "
                                   f"{'F' if schema.n_features is None else schema.n_features} features each")
        return schema.check(array, "inputs[0]"), request_id
    names = schema.feature_names
    given = [name for name, _, _ in inputs]
    if not names or sorted(n for n in given if n) != sorted(names):
        raise ClientError(422, f"{len(inputs)} inputs: send one input of shape [N, F], or one input per feature "
                               f"named after it ({', '.join(names) if names else 'this model has no feature names'})")
    if any(a.ndim not in (1, 2) or a.size == 0 or a.size != a.shape[0] for _, _, a in inputs) or \
            len({a.shape[0] for _, _, a in inputs}) != 1:
        raise ClientError(422, "per-feature inputs must each have shape [N] or [N, 1], with the same N > 0")
    columns = dict(zip(given, (a.reshape(-1, 1) for _, _, a in inputs), strict=True))
    return schema.check(np.hstack([columns[n] for n in names]), "inputs"), request_id
