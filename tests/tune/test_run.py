"""Behaviour of a study on the embedded default, with real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kubelab.tune
from kubelab.store import get_store
from tests.tune.conftest import write_spec


def _store(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'k.db'}"


def test_every_grid_point_exactly_once(workdir: Path) -> None:
    spec = write_spec(workdir, """
        study: once
        dataset: {builtin: diabetes}
        search: {method: grid}
        models:
          - function: trial_fns:sleepy
            fixed: {sleep: 0.01, log: LOG}
            space: {x: {range: [0, 39]}}
    """.replace("LOG", str(workdir / "log.txt")))
    result = kubelab.tune.run(spec, store=_store(workdir), workers=2)
    assert result.counts == {"pending": 0, "running": 0, "done": 40, "failed": 0}
    executed = sorted(int(line) for line in (workdir / "log.txt").read_text().split())
    assert executed == list(range(40))
    rows = kubelab.tune.results("once", _store(workdir))
    assert [r.number for r in rows] == list(range(40)) and {r.attempts for r in rows} == {1}
    assert len({r.extra["pid"] for r in rows}) == 2  # both workers took part
    assert result.best is not None and result.best.params["x"] == 0 and result.best.value == 0.0


@pytest.mark.slow
def test_failures_are_results_and_crashes_cost_attempts(workdir: Path) -> None:
    spec = write_spec(workdir, """
        study: failures
        dataset: {builtin: diabetes}
        search: {method: grid}
        max_attempts: 2
        trial_timeout: 8  # page faults are slow on a loaded machine: the hog must hit its limit first
        memory_limit_mb: 160
        models:
          - function: trial_fns:misbehave
            space: {x: [0, 1, 2, 3, 4, 5, 6]}
    """)
    result = kubelab.tune.run(spec, store=_store(workdir), workers=2)
    assert result.counts["done"] == 1 and result.counts["failed"] == 6
    rows = {r.params["x"]: r for r in kubelab.tune.results("failures", _store(workdir))}
    assert rows[0].status == "done" and rows[0].attempts == 1
    # an exception is the trial's answer: stored with the library's message, never retried
    assert rows[1].attempts == 1 and rows[1].error == "ValueError: bagging_fraction should be in (0, 1], got 1.2"
    assert "Traceback" in rows[1].extra["traceback"]
    # a dying process costs an attempt, is retried up to max_attempts, then fails with the reason
    assert rows[2].attempts == 2 and rows[2].error == "its process died of SIGABRT; gave up after 2 attempts"
    assert rows[3].attempts == 2 and rows[3].error == "its process died of SIGSEGV; gave up after 2 attempts"
    assert rows[4].attempts == 2 and rows[4].error.startswith("exceeded the memory limit of 160 MiB")
    assert rows[5].attempts == 2 and rows[5].error.startswith("timed out after 8 s")
    assert rows[6].attempts == 1 and rows[6].error == "the objective returned nan"


def test_threads_are_shared_not_oversubscribed(workdir: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    spec = write_spec(workdir, """
        study: threads
        dataset: {builtin: diabetes}
        search: {method: grid}
        models:
          - function: trial_fns:threads
            space: {x: [1, 2, 3, 4]}
    """)
    kubelab.tune.run(spec, store=_store(workdir), workers=2)
    rows = kubelab.tune.results("threads", _store(workdir))
    expected = max(1, cores // 2)
    assert {r.value for r in rows} == {float(expected)}
    assert {r.extra["kubelab"] for r in rows} == {str(expected)}
    for r in rows:  # every native thread pool the process loaded is limited too
        assert all(n <= expected for n in r.extra["pools"].values()), r.extra["pools"]


def test_estimators_get_their_share_of_threads() -> None:
    from kubelab.tune._objective import estimator_params
    from kubelab.tune._spec import ModelSpec

    xgb = ModelSpec("estimator", "xgboost.XGBRegressor", {}, {})
    assert estimator_params(xgb, {"max_depth": 2}, 3)["n_jobs"] == 3
    assert estimator_params(ModelSpec("estimator", "xgboost.XGBRegressor", {"n_jobs": 1}, {}), {}, 3)["n_jobs"] == 1
    cat = estimator_params(ModelSpec("estimator", "catboost.CatBoostRegressor", {}, {}), {}, 2)
    assert cat["thread_count"] == 2 and "n_jobs" not in cat
    lgb = estimator_params(ModelSpec("estimator", "lightgbm.LGBMRegressor", {}, {}), {}, 2)
    assert lgb["n_jobs"] == 2
    ridge = estimator_params(ModelSpec("estimator", "sklearn.linear_model.Ridge", {}, {}), {}, 2)
    assert "n_jobs" not in ridge


def test_invalid_lightgbm_points_fail_with_lightgbms_message(workdir: Path) -> None:
    spec = write_spec(workdir, """
        study: lgb
        dataset: {builtin: diabetes}
        cv: 3
        metric: neg_root_mean_squared_error
        search: {method: grid}
        models:
          - estimator: lightgbm.LGBMRegressor
            fixed: {n_estimators: 5}
            space: {bagging_fraction: [0.8, 1.2]}
    """)
    result = kubelab.tune.run(spec, store=_store(workdir), workers=1)
    assert result.counts["done"] == 1 and result.counts["failed"] == 1
    failed = kubelab.tune.results("lgb", _store(workdir))[1]
    assert failed.params == {"bagging_fraction": 1.2} and failed.attempts == 1
    assert "LightGBMError" in failed.error and "bagging_fraction" in failed.error


def test_tpe_and_random_sample_through_optuna(workdir: Path) -> None:
    body = """
        study: {name}
        dataset: {{builtin: diabetes}}
        search: {{method: {method}, trials: 30, seed: 3}}
        models:
          - function: trial_fns:quadratic
            space: {{x: {{uniform: [0, 1]}}, y: {{uniform: [0, 1]}}, c: [a, b]}}
    """
    store = _store(workdir)
    tpe = kubelab.tune.run(write_spec(workdir, body.format(name="tpe", method="tpe"), "t.yaml"), store=store,
                           workers=2)
    rnd = kubelab.tune.run(write_spec(workdir, body.format(name="rnd", method="random"), "r.yaml"), store=store,
                           workers=2)
    again = kubelab.tune.run(write_spec(workdir, body.format(name="rnd2", method="random"), "r2.yaml"), store=store,
                             workers=1)
    assert tpe.counts["done"] == rnd.counts["done"] == 30
    # random is seeded: same params whatever the number of workers
    assert [r.params for r in kubelab.tune.results("rnd", store)] == [
        r.params for r in kubelab.tune.results("rnd2", store)]
    assert again.counts["done"] == 30
    # TPE's second half concentrates near the optimum (x=0.3, y=0.7, c=b): better than its random first half
    values = [r.value for r in kubelab.tune.results("tpe", store)]
    assert sum(values[15:]) / 15 > sum(values[:10]) / 10
    assert tpe.best is not None and tpe.best.value > -0.05


def _cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "kubelab", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_done(store: str, study: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = get_store(store).get_study(study)
        if s is not None and get_store(store).counts(s.id)["done"] >= at_least:
            return
        time.sleep(0.1)
    raise AssertionError(f"{study}: fewer than {at_least} trials done after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill-9", "ctrl-c"])
def test_interrupted_run_resumes_without_recomputing(workdir: Path, how: str) -> None:
    marks = workdir / "marks"
    marks.mkdir()
    spec = write_spec(workdir, """
        study: resume
        dataset: {builtin: diabetes}
        search: {method: grid}
        models:
          - function: trial_fns:marker
            fixed: {dir: MARKS, sleep: 0.15}
            space: {x: {range: [0, 59]}}
    """.replace("MARKS", str(marks)))
    store = _store(workdir)
    proc = _cli(["tune", "run", str(spec), "--store", store, "--workers", "2"], workdir)
    _wait_done(store, "resume", 12)
    proc.send_signal(signal.SIGKILL if how == "kill-9" else signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    finished_before = {r.number for r in kubelab.tune.results("resume", store) if r.status == "done"}
    assert 12 <= len(finished_before) < 60
    if how == "ctrl-c":
        assert proc.returncode == 130 and "run the same command again to resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    again = _cli(["tune", "run", str(spec), "--store", store, "--workers", "2", "--format", "json"], workdir)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    summary = json.loads(out)
    assert (summary["done"], summary["failed"], summary["total"]) == (60, 0, 60)
    runs: dict[int, int] = {}
    for f in marks.iterdir():
        runs[int(f.name.split(".")[0])] = runs.get(int(f.name.split(".")[0]), 0) + 1
    assert sorted(runs) == list(range(60))  # every point ran
    assert all(runs[n] == 1 for n in finished_before)  # nothing finished was recomputed
    rows = kubelab.tune.results("resume", store)
    assert len(rows) == 60 and all(r.status == "done" for r in rows)
    if how == "ctrl-c":  # an interrupt on purpose gives its attempt back
        assert {r.attempts for r in rows} == {1}


def test_two_runs_of_one_study_share_the_work(workdir: Path) -> None:
    marks = workdir / "marks"
    marks.mkdir()
    spec = write_spec(workdir, """
        study: shared
        dataset: {builtin: diabetes}
        search: {method: grid}
        models:
          - function: trial_fns:marker
            fixed: {dir: MARKS, sleep: 0.05}
            space: {x: {range: [0, 39]}}
    """.replace("MARKS", str(marks)))
    store = _store(workdir)
    procs = [_cli(["tune", "run", str(spec), "--store", store, "--workers", "1"], workdir) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    names = [f.name.split(".") for f in marks.iterdir()]
    assert sorted(int(n[0]) for n in names) == list(range(40))  # each point once, across both processes
    assert len({n[1] for n in names}) == 2


def test_grid_chunks_are_dispatched_in_a_shuffled_order_that_every_coordinator_repeats(workdir: Path) -> None:
    from kubelab.tune._study import create_or_resume, enqueue_all

    spec = kubelab.tune.load_spec(write_spec(workdir, """
        study: order
        dataset: {builtin: diabetes}
        search: {method: grid}
        models:
          - function: trial_fns:noop
            space: {x: {range: [0, 99]}, y: [1, 2]}
    """))
    blocks = []
    for name in ("a.db", "b.db"):  # two stores, as two coordinators would cut them
        store = get_store(f"sqlite:///{workdir / name}")
        study, _ = create_or_resume(store, spec)
        chunks = enqueue_all(store, study, spec, chunk_size=5)
        blocks.append([(c.lo, c.hi) for c in chunks])
        assert [c.chunk for c in chunks] == list(range(40))  # taken in chunk order
    assert blocks[0] == blocks[1]
    assert sorted(blocks[0]) == [(lo, lo + 5) for lo in range(0, 200, 5)]  # every trial in one chunk
    assert blocks[0] != sorted(blocks[0])  # not the grid's order: its last block is not the last taken
