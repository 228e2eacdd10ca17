"""The Store contract (store/_base.py), run against every backend in STORES."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab.store import Store, TrialResult, get_store
from tests.servers import need, postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = get_store(f"sqlite:///{tmp_path / 'contract.db'}")
        yield s
        s.close()
        return
    need(5432, "PostgreSQL")
    with postgres_database() as url:
        s = get_store(url)
        yield s
        s.close()


def _study(store: Store, name: str = "s", direction: str = "maximize") -> int:
    study = store.create_study(name, "{}", "d1", direction, "grid", 10)
    store.add_trials(study.id, [(n, 0, "m", f'{{"x": {n}}}') for n in range(10)])
    return study.id


def test_create_study_is_idempotent(store: Store) -> None:
    a = store.create_study("s", "{}", "d1", "maximize", "grid", 3)
    b = store.create_study("s", "{}", "other", "maximize", "grid", 9)
    assert a == b and b.digest == "d1"  # the first spec stays; callers compare digests
    assert store.get_study("nope") is None
    assert [s.name for s, _ in store.list_studies()] == ["s"]


def test_trials_are_created_once(store: Store) -> None:
    sid = _study(store)
    store.add_trials(sid, [(3, 1, "other", "{}"), (10, 0, "m", "{}")])
    rows = store.trials(sid)
    assert [r.number for r in rows] == list(range(11))
    assert rows[3].label == "m" and rows[3].params == {"x": 3}
    assert store.max_number(sid) == 10


def test_first_final_result_wins(store: Store) -> None:
    sid = _study(store)
    assert store.start_trial(sid, 0, "w1") == 1
    assert store.start_trial(sid, 0, "w2") == 2  # a redelivery counts another attempt
    assert store.finish_trial(sid, TrialResult(0, "done", 1.0, 0.1), "w2")
    store.sync("w")
    assert not store.finish_trial(sid, TrialResult(0, "done", 9.0, 0.1), "w1")
    assert store.start_trial(sid, 0, "w3") is None
    row = store.trials(sid, numbers=[0])[0]
    assert (row.status, row.value, row.attempts, row.worker) == ("done", 1.0, 2, "w2")
    assert store.counts(sid) == {"pending": 9, "running": 0, "done": 1, "failed": 0}


def test_finish_and_start_is_both_calls_in_one(store: Store) -> None:
    sid = _study(store)
    assert store.start_trial(sid, 0, "w") == 1
    assert store.finish_and_start(sid, TrialResult(0, "done", 2.5, 0.1, extra={"k": 1}), 1, "w") == (True, 1)
    assert store.finish_and_start(sid, TrialResult(1, "failed", None, 0.2, "boom"), 2, "w") == (True, 1)
    # a next trial that is final already, then a result that lost the race: neither is written
    assert store.finish_and_start(sid, TrialResult(2, "done", 1.0, 0.1), 0, "w2") == (True, None)
    assert store.finish_and_start(sid, TrialResult(2, "done", 9.0, 0.1), 3, "w2") == (False, 1)
    store.sync("w2")
    rows = store.trials(sid, numbers=[0, 1, 2, 3])
    assert [(r.status, r.value, r.attempts, r.error) for r in rows] == [
        ("done", 2.5, 1, None), ("failed", None, 1, "boom"), ("done", 1.0, 1, None), ("running", None, 1, None)]
    assert rows[0].extra == {"k": 1} and rows[3].worker == "w2"
    with pytest.raises(ValueError, match="trial 4 cannot be finished and started at once"):
        store.finish_and_start(sid, TrialResult(4, "done", 1.0, 0.1), 4, "w")


def test_unfinished_chunks_counts_what_is_not_done(store: Store) -> None:
    sid = _study(store)
    other = _study(store, "t")
    store.add_chunks(sid, [(0, 0, 4), (1, 4, 8), (2, 8, 10)], "new")
    store.add_chunks(other, [(0, 0, 10)], "queued")
    assert store.unfinished_chunks(sid) == 3
    store.set_chunk_state(sid, [0, 1], "queued")
    held = store.claim_chunk("a", lease_s=30, study_id=sid)
    assert held is not None and store.unfinished_chunks(sid) == 3
    store.release_chunk(held, "a", done=True)
    assert store.unfinished_chunks(sid) == 2 and store.unfinished_chunks(other) == 1


def test_reset_gives_the_attempt_back(store: Store) -> None:
    sid = _study(store)
    store.start_trial(sid, 1, "w")
    store.reset_trial(sid, 1)
    row = store.trials(sid, numbers=[1])[0]
    assert (row.status, row.attempts) == ("pending", 0)
    assert [r.number for r in store.open_trials(sid, 0, 3)] == [0, 1, 2]


@pytest.mark.parametrize(("direction", "best"), [("maximize", [7, 5]), ("minimize", [2, 5])])
def test_top_follows_direction(store: Store, direction: str, best: list[int]) -> None:
    sid = _study(store, direction=direction)
    for n, v in [(2, 0.5), (5, 3.0), (7, 8.0)]:
        store.finish_trial(sid, TrialResult(n, "done", v, 0.1), "w")
    store.finish_trial(sid, TrialResult(3, "failed", None, 0.1, "boom"), "w")
    store.finish_trial(sid, TrialResult(4, "done", float("nan"), 0.1), "w")
    assert [r.number for r in store.trials(sid, top=2)] == best


def test_leases_expire_and_requeue(store: Store) -> None:
    sid = _study(store)
    store.add_chunks(sid, [(0, 0, 5), (1, 5, 10)], "queued")
    a = store.claim_chunk("a", lease_s=0.3)
    b = store.claim_chunk("b", lease_s=30)
    assert a is not None and b is not None and (a.chunk, b.chunk) == (0, 1)
    assert store.claim_chunk("c", lease_s=30) is None
    assert store.renew_lease(a, "a", 0.3) and not store.renew_lease(a, "b", 0.3)
    time.sleep(0.4)
    again = store.claim_chunk("c", lease_s=30)
    assert again is not None and again.chunk == 0 and again.deliveries == 2
    store.release_chunk(again, "c", done=True)
    store.release_chunk(b, "b", done=False)
    assert [c.chunk for c in store.chunks_in_state(sid, "queued")] == [1]
    assert [c.chunk for c in store.chunks_in_state(sid, "done")] == [0]


def test_publishing_again_never_requeues_a_held_or_finished_chunk(store: Store) -> None:
    # two coordinators of one study both publish its chunks: the second must not take a chunk back from the
    # worker that holds it (it would run its trial twice) nor requeue a finished one
    sid = _study(store)
    store.add_chunks(sid, [(0, 0, 5), (1, 5, 10), (2, 10, 15)], "new")
    store.set_chunk_state(sid, [0, 1, 2], "queued")
    held = store.claim_chunk("a", lease_s=30)
    done = store.claim_chunk("b", lease_s=30)
    assert held is not None and done is not None
    store.release_chunk(done, "b", done=True)
    store.set_chunk_state(sid, [0, 1, 2], "queued")  # the second coordinator, a moment late
    assert [c.chunk for c in store.chunks_in_state(sid, "queued")] == [2]
    assert [c.chunk for c in store.chunks_in_state(sid, "done")] == [done.chunk]
    assert [c.chunk for c, owner, _ in store.leases()] == [held.chunk]


def test_redeliveries_are_counted_per_chunk(store: Store) -> None:
    sid = _study(store)
    store.add_chunks(sid, [(0, 0, 5)], "queued")
    assert store.count_redelivery(sid, 0) == 1
    assert store.count_redelivery(sid, 0) == 2
    assert store.count_redelivery(sid, 7) is None  # a chunk the store never recorded (TPE's)


def _claim_all(url: str, owner: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    s = get_store(url)
    got = []
    while (c := s.claim_chunk(owner, 60)) is not None:
        got.append(c.chunk)
    out.put(got)


def test_each_chunk_claimed_by_exactly_one_process(store: Store) -> None:
    sid = _study(store)
    store.add_chunks(sid, [(i, 0, 1) for i in range(300)], "queued")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(store.url, f"p{i}", out)) for i in range(4)]
    for p in procs:
        p.start()
    claimed = [c for _ in procs for c in out.get(timeout=60)]
    for p in procs:
        p.join(timeout=30)
    assert sorted(claimed) == list(range(300))


def test_delete_study(store: Store) -> None:
    sid = _study(store)
    store.add_chunks(sid, [(0, 0, 10)], "queued")
    assert store.delete_study("s") and not store.delete_study("s")
    assert store.trials(sid) == [] and store.claim_chunk("x", 10) is None


def test_a_missing_table_or_index_is_created_when_the_store_is_opened(store: Store) -> None:
    """Opening checks the schema in one query and creates only when something is missing."""
    _study(store)
    store._x("DROP INDEX kubelab_trials_rank")  # type: ignore[attr-defined]
    store._x("DROP TABLE kubelab_workers")  # type: ignore[attr-defined]
    again = get_store(store.url)
    assert again.sync("w") is True  # kubelab_workers is back
    index = ("SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'kubelab_trials_rank'" if "postgres" in store.url
             else "SELECT COUNT(*) FROM sqlite_master WHERE name = 'kubelab_trials_rank'")
    assert again._q(index)[0][0] == 1  # type: ignore[attr-defined]
    assert again.get_study("s") is not None
    again.close()
