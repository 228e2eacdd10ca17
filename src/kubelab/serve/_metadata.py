"""The small metadata file beside a model: feature names, a sample row, and where the model came from.

For ``model.ubj`` it is ``model.meta.json``. ``kubelab tune export`` writes it; ``kubelab serve`` reads it when
it is there (feature names for records and the page, the sample row ``GET /test`` predicts) and works without.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubelab.errors import ModelError

__all__ = ["Metadata", "metadata_path", "read_metadata", "write_metadata"]

VERSION = 1


@dataclass(frozen=True)
class Metadata:
    """What serve knows about a model beyond the model file itself."""

    feature_names: tuple[str, ...] | None = None
    sample: tuple[float, ...] | None = None  # one input row, for GET /test and the page
    dataset: str | None = None
    metric: str | None = None
    study: str | None = None
    trial: int | None = None
    value: float | None = None
    model: str | None = None  # e.g. xgboost.XGBRegressor
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("feature_names", "sample"):
            data[key] = list(data[key]) if data[key] is not None else None
        return {"kubelab_model_metadata": VERSION, **data}


def metadata_path(model_path: str | Path) -> Path:
    """Where the metadata of ``model_path`` lives: the same name with ``.meta.json`` for its suffix."""
    p = Path(model_path)
    return p.with_name(p.stem + ".meta.json")


def write_metadata(model_path: str | Path, meta: Metadata) -> Path:
    """Write the metadata file beside ``model_path``; return its path."""
    out = metadata_path(model_path)
    out.write_text(json.dumps(meta.to_dict(), indent=2) + "\n", encoding="utf-8")
    return out


def read_metadata(model_path: str | Path) -> Metadata | None:
    """The metadata beside ``model_path``, or None when there is none.

    Raises:
        ModelError: the file exists but is not valid metadata (says which key is wrong).
    """
    path = metadata_path(model_path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); delete it or export the model again") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object, found {type(data).__name__}")
    problems: list[str] = []
    names = data.get("feature_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        problems.append("feature_names: expected a list of strings")
    sample = data.get("sample")
    if sample is not None and not (isinstance(sample, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in sample)):
        problems.append("sample: expected a list of numbers")
    if names is not None and isinstance(sample, list) and isinstance(names, list) and len(sample) != len(names):
        problems.append(f"sample: {len(sample)} values for {len(names)} feature_names")
    if problems:
        raise ModelError(f"{path}: " + "; ".join(problems))
    known = {k: v for k, v in data.items() if k in Metadata.__dataclass_fields__}
    for key in ("feature_names", "sample"):
        if known.get(key) is not None:
            known[key] = tuple(known[key])
    return Metadata(**known)
