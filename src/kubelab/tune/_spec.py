"""The study spec: a YAML file parsed into frozen dataclasses, every problem reported at once with position.

The same file runs on the embedded default and on RabbitMQ + PostgreSQL. The store keeps the normalized
spec (``StudySpec.data``), so remote workers rebuild the exact study from the store alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelab._yamlfile import KeyPath, Locator, did_you_mean, load
from kubelab.datasets import BUILTINS, DatasetSpec
from kubelab.errors import Problem, SpecError

__all__ = ["CVSpec", "Choice", "Dim", "IntRange", "ModelSpec", "Sampled", "SearchSpec", "StudySpec",
           "parse_data", "parse_file", "parse_stored"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_KNOWN_EXTRAS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost"}


@dataclass(frozen=True)
class Choice:
    """A list of values: a grid axis, or a categorical for random/TPE."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class IntRange:
    """``{range: [lo, hi, step]}``: inclusive integers."""

    lo: int
    hi: int
    step: int = 1

    def values(self) -> range:
        return range(self.lo, self.hi + 1, self.step)


@dataclass(frozen=True)
class Sampled:
    """``{uniform|loguniform: [lo, hi]}`` or ``{int: [lo, hi]}``: random/TPE only."""

    kind: str  # uniform | loguniform | int
    lo: float
    hi: float


Dim = Choice | IntRange | Sampled


@dataclass(frozen=True)
class ModelSpec:
    """One model of the search: an estimator class or a user function, its fixed params and its space."""

    kind: str  # estimator | function
    target: str  # "pkg.mod.Class" or "pkg.mod:function"
    fixed: dict[str, Any]
    space: dict[str, Dim]

    @property
    def label(self) -> str:
        return self.target.replace(":", ".").rsplit(".", 1)[-1]


@dataclass(frozen=True)
class SearchSpec:
    method: str  # grid | random | tpe
    trials: int | None = None
    seed: int | None = None
    startup: int = 10  # TPE: random trials before the model kicks in


@dataclass(frozen=True)
class CVSpec:
    folds: int = 5
    shuffle: bool = False
    seed: int | None = None


@dataclass(frozen=True)
class StudySpec:
    """A parsed study; ``data`` is the normalized mapping the store keeps, ``digest`` identifies it."""

    name: str
    dataset: DatasetSpec
    cv: CVSpec
    metric: str | None
    direction: str  # maximize | minimize
    search: SearchSpec
    models: tuple[ModelSpec, ...]
    max_attempts: int = 3
    trial_timeout: float | None = None
    memory_limit_mb: int | None = None
    base_dir: str = "."
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(self.data, sort_keys=True)


_TOP = {"study": True, "dataset": True, "cv": False, "metric": False, "direction": False, "search": True,
        "models": True, "max_attempts": False, "trial_timeout": False, "memory_limit_mb": False}


class _Checker:
    def __init__(self, loc: Locator) -> None:
        self.loc = loc
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.append(self.loc.problem(path, message, hint, key=key))

    def mapping(self, path: KeyPath, value: Any, allowed: dict[str, bool], what: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping ({what}), got {_kind(value)}")
            return None
        for k in value:
            if k not in allowed:
                hint = did_you_mean(str(k), allowed) or f"allowed keys: {', '.join(allowed)}"
                self.add((*path, str(k)), f"unknown key '{k}'", hint, key=True)
        for k, required in allowed.items():
            if required and k not in value:
                self.add(path, f"missing required key '{k}'", f"{what} needs '{k}'")
        return value

    def integer(self, path: KeyPath, value: Any, lo: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"expected an integer, got {_kind(value)}")
            return None
        if lo is not None and value < lo:
            self.add(path, f"must be at least {lo}, got {value}")
            return None
        return value

    def number(self, path: KeyPath, value: Any, *, positive: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"expected a number, got {_kind(value)}")
            return None
        if positive and value <= 0:
            self.add(path, f"must be positive, got {value}")
            return None
        return float(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: f"the text '{value}'", bool: f"the boolean {value}"}.get(
        type(value), f"{type(value).__name__} {value!r}")


def _dataset(c: _Checker, value: Any, base: Path) -> tuple[DatasetSpec | None, Any]:
    path: KeyPath = ("dataset",)
    m = c.mapping(path, value, {"builtin": False, "path": False, "target": False, "format": False,
                                "units": False, "seed": False}, "a dataset")
    if m is None:
        return None, value
    if ("builtin" in m) == ("path" in m):
        c.add(path, "give exactly one of 'builtin' or 'path'",
              f"e.g. {{builtin: turbofan}} or {{path: data.csv, target: y}}; builtins: {', '.join(BUILTINS)}")
        return None, value
    options: dict[str, Any] = {k: m[k] for k in ("units", "seed") if k in m}
    for k, v in options.items():
        c.integer((*path, k), v, lo=1 if k == "units" else 0)
    if "builtin" in m:
        if m["builtin"] not in BUILTINS:
            c.add((*path, "builtin"), f"unknown builtin dataset '{m['builtin']}'",
                  did_you_mean(str(m["builtin"]), BUILTINS) or f"choose one of: {', '.join(BUILTINS)}")
        if options and m["builtin"] != "turbofan":
            c.add(path, "'units' and 'seed' apply to the turbofan builtin only")
        return DatasetSpec(builtin=str(m["builtin"]), options=dict(options)), dict(m)
    fmt = m.get("format", "csv")
    if fmt not in ("csv", "cmapss"):
        c.add((*path, "format"), f"unknown format '{fmt}'", "use csv (with target) or cmapss")
    if fmt == "csv" and "target" not in m:
        c.add(path, "a CSV dataset needs 'target'", "name the label column, e.g. {path: data.csv, target: y}")
    if not isinstance(m["path"], str):
        c.add((*path, "path"), f"expected a file path, got {_kind(m['path'])}")
        return None, value
    file = (base / m["path"]).resolve()
    if not file.is_file():
        c.add((*path, "path"), f"file not found: {file}", "paths are relative to the spec file")
    normalized = {**m, "path": str(file)}
    return DatasetSpec(path=str(file), target=m.get("target"), format=fmt), normalized


def _dim(c: _Checker, path: KeyPath, value: Any, method: str) -> Dim | None:
    if isinstance(value, list):
        if not value:
            c.add(path, "empty list of choices", "give at least one value")
            return None
        bad = [v for v in value if isinstance(v, dict | list)]
        if bad:
            c.add(path, "choices must be plain values (numbers, text, true/false, null)")
            return None
        return Choice(tuple(value))
    if isinstance(value, dict) and len(value) == 1:
        (kind, args), = value.items()
        if kind not in ("range", "uniform", "loguniform", "int"):
            c.add((*path, str(kind)), f"unknown distribution '{kind}'",
                  did_you_mean(str(kind), ["range", "uniform", "loguniform", "int"])
                  or "use a list, {range: [lo, hi, step]}, {uniform: [lo, hi]}, {loguniform: [lo, hi]} "
                  "or {int: [lo, hi]}",
                  key=True)
            return None
        sub = (*path, kind)
        if kind == "range":
            ok = isinstance(args, list) and len(args) in (2, 3) and all(
                isinstance(a, int) and not isinstance(a, bool) for a in args)
            if not ok:
                c.add(sub, "expected [lo, hi] or [lo, hi, step] of integers", "e.g. {range: [50, 375, 25]}")
                return None
            lo, hi, step = (*args, 1) if len(args) == 2 else args
            if step <= 0 or hi < lo:
                c.add(sub, f"empty range {args}: need lo <= hi and step > 0")
                return None
            return IntRange(lo, hi, step)
        ok = isinstance(args, list) and len(args) == 2 and all(
            isinstance(a, int | float) and not isinstance(a, bool) for a in args)
        if not ok:
            c.add(sub, "expected [lo, hi] of numbers")
            return None
        lo_f, hi_f = float(args[0]), float(args[1])
        if not lo_f < hi_f:
            c.add(sub, f"need lo < hi, got {args}")
            return None
        if kind == "loguniform" and lo_f <= 0:
            c.add(sub, f"loguniform needs lo > 0, got {args[0]}")
            return None
        if kind == "int" and not all(isinstance(a, int) for a in args):
            c.add(sub, "int needs integer bounds")
            return None
        if method == "grid":
            c.add(sub, f"'{kind}' is continuous: a grid needs finite choices",
                  "use a list or {range: [lo, hi, step]}, or search: {method: random, trials: N}")
            return None
        return Sampled(kind, lo_f, hi_f)
    c.add(path, f"expected a list of choices or a distribution, got {_kind(value)}",
          "for a fixed value write it under 'fixed:'")
    return None


def _model(c: _Checker, i: int, value: Any, method: str) -> ModelSpec | None:
    path: KeyPath = ("models", i)
    m = c.mapping(path, value, {"estimator": False, "function": False, "fixed": False, "space": False}, "a model")
    if m is None:
        return None
    if ("estimator" in m) == ("function" in m):
        c.add(path, "give exactly one of 'estimator' or 'function'",
              "e.g. estimator: xgboost.XGBRegressor, or function: mypkg.objectives:train")
        return None
    kind = "estimator" if "estimator" in m else "function"
    target = m[kind]
    pattern = r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$" if kind == "estimator" else r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"
    if not isinstance(target, str) or not re.match(pattern, target):
        c.add((*path, kind), f"'{target}' is not an import path",
              "write module.Class, e.g. xgboost.XGBRegressor" if kind == "estimator"
              else "write module:function, e.g. mypkg.objectives:train")
        return None
    fixed = m.get("fixed", {}) or {}
    if not isinstance(fixed, dict):
        c.add((*path, "fixed"), f"expected a mapping of parameter: value, got {_kind(fixed)}")
        fixed = {}
    space_raw = m.get("space", {}) or {}
    space: dict[str, Dim] = {}
    if not isinstance(space_raw, dict):
        c.add((*path, "space"), f"expected a mapping of parameter: choices, got {_kind(space_raw)}")
    else:
        for name, dim in space_raw.items():
            if name in fixed:
                c.add((*path, "space", name), f"'{name}' is both fixed and searched", "keep it in one place",
                      key=True)
            parsed = _dim(c, (*path, "space", str(name)), dim, method)
            if parsed is not None:
                space[str(name)] = parsed
    return ModelSpec(kind, target, dict(fixed), space)


def _search(c: _Checker, value: Any) -> SearchSpec | None:
    path: KeyPath = ("search",)
    m = c.mapping(path, value, {"method": True, "trials": False, "seed": False, "startup": False}, "a search")
    if m is None or "method" not in m:
        return None
    method = m["method"]
    if method not in ("grid", "random", "tpe"):
        c.add((*path, "method"), f"unknown method '{method}'", "use grid, random or tpe")
        return None
    if method == "grid":
        for k in ("trials", "seed", "startup"):
            if k in m:
                c.add((*path, k), f"'{k}' does not apply to a grid search", "remove it", key=True)
        return SearchSpec("grid")
    if "trials" not in m:
        c.add(path, f"a {method} search needs 'trials'", f"e.g. {{method: {method}, trials: 200, seed: 1}}")
        return None
    trials = c.integer((*path, "trials"), m["trials"], lo=1)
    seed = c.integer((*path, "seed"), m["seed"], lo=0) if "seed" in m else None
    startup = c.integer((*path, "startup"), m.get("startup", 10), lo=1)
    if method == "random" and "startup" in m:
        c.add((*path, "startup"), "'startup' applies to tpe only", key=True)
    if trials is None or startup is None:
        return None
    return SearchSpec(method, trials, seed, startup)


def _cv(c: _Checker, value: Any) -> CVSpec | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return CVSpec(value) if c.integer(("cv",), value, lo=2) is not None else None
    m = c.mapping(("cv",), value, {"folds": False, "shuffle": False, "seed": False}, "cross-validation")
    if m is None:
        return None
    folds = c.integer(("cv", "folds"), m.get("folds", 5), lo=2)
    shuffle = m.get("shuffle", False)
    if not isinstance(shuffle, bool):
        c.add(("cv", "shuffle"), f"expected true or false, got {_kind(shuffle)}")
    seed = c.integer(("cv", "seed"), m["seed"], lo=0) if "seed" in m else None
    if seed is not None and not shuffle:
        c.add(("cv", "seed"), "a seed only matters with shuffle: true")
    return CVSpec(folds, bool(shuffle), seed) if folds is not None else None


def parse_data(data: Any, loc: Locator, base_dir: str | Path = ".") -> StudySpec:
    """Check a loaded spec mapping; raise SpecError listing every problem."""
    c = _Checker(loc)
    base = Path(base_dir)
    m = c.mapping((), data, _TOP, "a study spec")
    if m is None:
        raise SpecError(c.problems)
    name = m.get("study")
    if "study" in m and (not isinstance(name, str) or not _NAME.match(name)):
        c.add(("study",), f"'{name}' is not a valid study name",
              "use letters, digits, '.', '_' and '-' (at most 100), e.g. turbofan-xgb")
    dataset, dataset_data = _dataset(c, m["dataset"], base) if "dataset" in m else (None, None)
    cv = _cv(c, m.get("cv", 5))
    metric = m.get("metric")
    if metric is not None:
        _check_metric(c, metric)
    direction = m.get("direction", "maximize")
    if direction not in ("maximize", "minimize"):
        c.add(("direction",), f"expected maximize or minimize, got {_kind(direction)}")
    search = _search(c, m["search"]) if "search" in m else None
    models: list[ModelSpec] = []
    raw_models = m.get("models")
    if "models" in m:
        if not isinstance(raw_models, list) or not raw_models:
            c.add(("models",), "expected a non-empty list of models",
                  "e.g. models: [{estimator: xgboost.XGBRegressor, space: {max_depth: [2, 4]}}]")
        else:
            method = search.method if search else "grid"
            for i, raw in enumerate(raw_models):
                model = _model(c, i, raw, method)
                if model is not None:
                    models.append(model)
                    _check_import(c, i, model, base)
    attempts = c.integer(("max_attempts",), m.get("max_attempts", 3), lo=1)
    timeout = c.number(("trial_timeout",), m["trial_timeout"], positive=True) if "trial_timeout" in m else None
    memory = c.integer(("memory_limit_mb",), m["memory_limit_mb"], lo=16) if "memory_limit_mb" in m else None
    if c.problems:
        raise SpecError(c.problems)
    assert dataset is not None and cv is not None and search is not None and attempts is not None
    normalized = {**m, "dataset": dataset_data, "base_dir": str(base.resolve())}
    return StudySpec(str(name), dataset, cv, metric, str(direction), search, tuple(models), attempts, timeout,
                     memory, str(base.resolve()), normalized)


def _check_metric(c: _Checker, metric: Any) -> None:
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if not isinstance(metric, str) or metric not in names:
        c.add(("metric",), f"unknown scikit-learn scorer '{metric}'",
              did_you_mean(str(metric), names) or "see sklearn.metrics.get_scorer_names()")


def _check_import(c: _Checker, i: int, model: ModelSpec, base: Path) -> None:
    import importlib
    import sys

    sep = "." if model.kind == "estimator" else ":"
    module_name, attr = model.target.rsplit(sep, 1)
    path = ("models", i, model.kind)
    added = str(base.resolve())
    if added not in sys.path:
        sys.path.insert(0, added)  # objectives beside the spec file import like in a notebook
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        top = module_name.split(".")[0]
        hint = f"pip install 'kubelab[{_KNOWN_EXTRAS[top]}]'" if top in _KNOWN_EXTRAS else (
            "put the module beside the spec file or install its package")
        c.add(path, f"cannot import '{module_name}': {exc}", hint)
        return
    if not hasattr(module, attr):
        names = [n for n in dir(module) if not n.startswith("_")]
        c.add(path, f"module '{module_name}' has no '{attr}'", did_you_mean(attr, names))


def parse_file(path: str | Path) -> StudySpec:
    """Read and check a spec file; errors name file:line:column and the key path."""
    data, loc = load(path)
    return parse_data(data, loc, Path(path).resolve().parent)


def parse_stored(text: str) -> StudySpec:
    """Rebuild a spec from the JSON the store keeps (on a worker that may not have the file)."""
    data = json.loads(text)
    base = data.pop("base_dir", ".")
    return parse_data(data, Locator("<stored spec>", {(): (1, 1)}), base)  # what loads("{}") would give
