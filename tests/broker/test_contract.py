"""The Broker contract (broker/_base.py), run against the embedded broker and RabbitMQ."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubelab.broker import Broker, EmbeddedBroker
from kubelab.store import Chunk, get_store
from tests.servers import amqp_queue, need

Make = Callable[[str], Broker]


@pytest.fixture(params=["embedded", "amqp"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """``make(owner)``: a broker instance for a worker slot named ``owner``, all on one queue."""
    made: list[Broker] = []
    if request.param == "embedded":
        store = get_store(f"sqlite:///{tmp_path / 'b.db'}")

        def embedded(owner: str) -> Broker:
            made.append(EmbeddedBroker(store, owner, lease_s=1.0, poll_s=0.01))
            return made[-1]

        yield embedded
    else:
        need(5672, "RabbitMQ")
        with amqp_queue(lease=3, recheck=0.2) as url:
            from kubelab.broker import get_broker

            proto = get_broker(url)

            def amqp(owner: str) -> Broker:
                made.append(proto.for_slot(owner))
                return made[-1]

            yield amqp
            proto.close()
    for b in made:
        b.close()


def chunks(n: int, study_id: int = 1) -> list[Chunk]:
    return [Chunk(study_id, i, 10 * i, 10 * i + 10, study="s") for i in range(n)]


def key(c: Chunk | None) -> tuple[int, int, int, int] | None:
    return None if c is None else (c.study_id, c.chunk, c.lo, c.hi)


def drain(broker: Broker, timeout: float = 1.0) -> list[Chunk]:
    got = []
    while (c := broker.get(timeout)) is not None:
        got.append(c)
        broker.ack(c)
    return got


def test_published_chunks_are_delivered_once_and_acked_for_good(make: Make) -> None:
    a = make("a")
    a.publish(chunks(3))
    first = a.get(5)
    assert key(first) == (1, 0, 0, 10) and first is not None and first.deliveries == 1
    assert a.heartbeat(first)
    a.ack(first)
    rest = drain(a)
    assert [key(c) for c in rest] == [(1, 1, 10, 20), (1, 2, 20, 30)]
    assert a.get(0.3) is None


def test_nack_gives_the_chunk_back_at_once(make: Make) -> None:
    a = make("a")
    a.publish(chunks(1))
    c = a.get(5)
    assert c is not None
    a.nack(c)
    again = a.get(5)
    assert key(again) == key(c)
    assert again is not None
    a.ack(again)
    assert a.get(0.3) is None


def test_a_holder_that_dies_loses_its_chunk_to_another(make: Make) -> None:
    a, b = make("a"), make("b")
    a.publish(chunks(1))
    held = a.get(5)
    assert held is not None
    assert b.get(0.3) is None  # held: nobody else gets it
    a.close()  # the holder is gone (connection closed, or lease not renewed)
    again = b.get(5)
    assert key(again) == key(held) and again is not None and again.deliveries > 1
    b.ack(again)


def test_two_consumers_share_chunks_without_duplicates(make: Make) -> None:
    a, b = make("a"), make("b")
    a.publish(chunks(20))
    got: list[Chunk] = []
    deadline = time.monotonic() + 30
    while len(got) < 20 and time.monotonic() < deadline:
        for broker in (a, b):
            c = broker.get(0.05)
            if c is not None:
                got.append(c)
                broker.ack(c)
    assert sorted(c.chunk for c in got) == list(range(20))
    assert a.get(0.2) is None and b.get(0.2) is None


def test_defer_brings_the_chunk_back_and_dead_letter_never(make: Make) -> None:
    a = make("a")
    a.publish(chunks(1))
    first = a.get(5)
    assert first is not None
    a.defer(first)
    again = a.get(5)
    assert key(again) == key(first) and again is not None
    a.dead_letter(again, "poison: test")
    assert a.get(0.5) is None


def test_holder_alive_tells_live_workers_from_dead_ones(make: Make) -> None:
    a, b = make("host:1:0"), make("host:2:0")
    a.publish(chunks(1))
    c = b.get(5)  # connects b
    assert c is not None
    b.ack(c)
    if isinstance(a, EmbeddedBroker):
        assert not a.holder_alive("host:2:0")  # leases, not liveness, protect embedded chunks
        return
    assert a.holder_alive("host:2:0") and a.holder_alive("host:1:0")
    b.close()
    assert not a.holder_alive("host:2:0") and not a.holder_alive("nobody")


def test_embedded_publish_and_cancel_wake_a_waiting_get_at_once(tmp_path: Path) -> None:
    import threading

    store = get_store(f"sqlite:///{tmp_path / 'w.db'}")
    coordinator = EmbeddedBroker(store, "c", poll_s=30.0)  # a poll far longer than the test may take
    slot = coordinator.for_slot("s")
    got: list[Chunk | None] = []
    waiter = threading.Thread(target=lambda: got.append(slot.get(timeout=60)))
    waiter.start()
    time.sleep(0.2)  # the slot found nothing and sleeps
    started = time.monotonic()
    coordinator.publish(chunks(1))
    waiter.join(timeout=10)
    assert key(got[0]) == (1, 0, 0, 10) and time.monotonic() - started < 5
    waiter = threading.Thread(target=lambda: got.append(slot.get(timeout=60)))
    waiter.start()
    time.sleep(0.2)
    started = time.monotonic()
    coordinator.cancel.set()
    coordinator.wake()
    waiter.join(timeout=10)
    assert got[1] is None and time.monotonic() - started < 5
