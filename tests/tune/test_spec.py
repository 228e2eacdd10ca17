from __future__ import annotations

from pathlib import Path

import pytest

from kubelab.errors import SpecError
from kubelab.tune._space import grid, grid_size
from kubelab.tune._spec import Choice, IntRange, Sampled, parse_file, parse_stored
from tests.tune.conftest import write_spec

ROOT = Path(__file__).resolve().parents[2]


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_file(path)
    return [str(p) for p in err.value.problems]


def test_valid_spec_parses(workdir: Path) -> None:
    spec = parse_file(write_spec(workdir, """
        study: s1
        dataset: {builtin: turbofan, units: 5}
        cv: {folds: 3, shuffle: true, seed: 0}
        metric: neg_root_mean_squared_error
        search: {method: random, trials: 20, seed: 1}
        models:
          - estimator: sklearn.linear_model.Ridge
            space:
              alpha: {loguniform: [0.001, 10]}
              fit_intercept: [true, false]
              max_iter: {range: [100, 300, 100]}
          - function: trial_fns:quadratic
            fixed: {c: a}
            space: {x: {uniform: [0, 1]}, y: {int: [0, 3]}}
    """))
    assert spec.name == "s1" and spec.cv.folds == 3 and spec.cv.shuffle
    assert spec.models[0].space["alpha"] == Sampled("loguniform", 0.001, 10.0)
    assert spec.models[0].space["max_iter"] == IntRange(100, 300, 100)
    assert spec.models[1].space["y"] == Sampled("int", 0, 3)
    assert spec.models[1].fixed == {"c": "a"}
    # what the store keeps rebuilds the same spec on a worker
    again = parse_stored(spec.to_json())
    assert again.models == spec.models and again.digest == spec.digest


def test_all_problems_at_once_with_positions(workdir: Path) -> None:
    found = problems(write_spec(workdir, """
        study: bad name!
        dataset: {builtin: turbofam}
        cv: 1
        metric: neg_rmse
        serch: {method: grid}
        models:
          - estimator: xgboost.XGBRegressor
            spce: {max_depth: [1, 2]}
          - function: trial_fns:nope
            space:
              x: {loguniform: [0.1, 1]}
              y: []
              z: 3
              w: {range: [5, 1]}
    """))
    text = "\n".join(found)
    expected = [
        "spec.yaml:1:8: study: 'bad name!' is not a valid study name",
        "spec.yaml:2:20: dataset.builtin: unknown builtin dataset 'turbofam'; hint: did you mean 'turbofan'?",
        "spec.yaml:3:5: cv: must be at least 2, got 1",
        "spec.yaml:4:9: metric: unknown scikit-learn scorer 'neg_rmse'",
        "spec.yaml:5:1: serch: unknown key 'serch'; hint: did you mean 'search'?",
        "spec.yaml:1:1: missing required key 'search'",
        "spec.yaml:8:5: models[0].spce: unknown key 'spce'; hint: did you mean 'space'?",
        "spec.yaml:9:15: models[1].function: module 'trial_fns' has no 'nope'",
        "spec.yaml:11:23: models[1].space.x.loguniform: 'loguniform' is continuous: a grid needs finite choices",
        "spec.yaml:12:10: models[1].space.y: empty list of choices",
        "spec.yaml:13:10: models[1].space.z: expected a list of choices or a distribution, got int 3",
        "spec.yaml:14:18: models[1].space.w.range: empty range [5, 1]",
    ]
    for line in expected:
        assert line in text, f"missing: {line}\n--- got:\n{text}"


@pytest.mark.parametrize(("body", "message"), [
    ("study: a\ndataset: {path: nope.csv, target: y}\nsearch: {method: grid}\nmodels: [{function: trial_fns:noop}]",
     "spec.yaml:2:17: dataset.path: file not found"),
    ("study: a\ndataset: {path: d.csv}\nsearch: {method: grid}\nmodels: [{function: trial_fns:noop}]",
     "dataset: a CSV dataset needs 'target'"),
    ("study: a\ndataset: {builtin: diabetes, path: x}\nsearch: {method: grid}\nmodels: [{function: trial_fns:noop}]",
     "dataset: give exactly one of 'builtin' or 'path'"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: random}\nmodels: [{function: trial_fns:noop}]",
     "search: a random search needs 'trials'"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: grid, trials: 3}\nmodels: [{function: trial_fns:noop}]",
     "search.trials: 'trials' does not apply to a grid search"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: bayes}\nmodels: [{function: trial_fns:noop}]",
     "search.method: unknown method 'bayes'; hint: use grid, random or tpe"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: grid}\nmodels: []",
     "models: expected a non-empty list of models"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: grid}\nmodels: [{estimator: nosuchpkg.Model}]",
     "models[0].estimator: cannot import 'nosuchpkg'"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: grid}\nmodels: [{estimator: xgboost}]",
     "models[0].estimator: 'xgboost' is not an import path; hint: write module.Class"),
    ("study: a\ndataset: {builtin: diabetes}\nsearch: {method: grid}\n"
     "models: [{function: trial_fns:noop, fixed: {x: 1}, space: {x: [1]}}]",
     "models[0].space.x: 'x' is both fixed and searched"),
    ("- just\n- a list\n", "expected a mapping (a study spec), got a list"),
    ("study: a\nstudy: b\n", "spec.yaml:2:1: study: duplicate key"),
])
def test_bad_specs_name_the_problem(workdir: Path, body: str, message: str) -> None:
    (workdir / "d.csv").write_text("a,y\n1,2\n")
    found = problems(write_spec(workdir, body))
    assert any(message in p for p in found), found


def test_missing_spec_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "absent.yaml") == [f"{tmp_path / 'absent.yaml'}: file not found"]


def test_seed_grid_has_26160_points_and_1500_bad_lightgbm_ones() -> None:
    spec = parse_file(ROOT / "examples" / "seed-003-grid.yaml")
    # Seed 003: XGBoost 18,900 + LightGBM 6,000 + CatBoost 1,260 points.
    sizes = [sum(1 for m, _ in grid(spec) if m == i) for i in range(3)]
    assert sizes == [18900, 6000, 1260]
    assert grid_size(spec) == 26160
    bad = [p for m, p in grid(spec) if m == 1 and p["bagging_fraction"] == 1.2]
    assert len(bad) == 1500


def test_grid_is_union_of_cartesian_products(workdir: Path) -> None:
    spec = parse_file(write_spec(workdir, """
        study: g
        dataset: {builtin: diabetes}
        search: {method: grid}
        models:
          - function: trial_fns:noop
            space: {x: [1, 2], y: {range: [0, 4, 2]}}
          - function: trial_fns:quadratic
            space: {x: [0.5]}
    """))
    points = list(grid(spec))
    assert points[:2] == [(0, {"x": 1, "y": 0}), (0, {"x": 1, "y": 2})]
    assert len(points) == 7 and points[-1] == (1, {"x": 0.5})
    assert spec.models[0].space["x"] == Choice((1, 2))
