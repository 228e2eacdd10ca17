"""Publisher confirms on a private RabbitMQ that the tests stall and restart: nothing published is lost."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelab.broker import get_broker
from kubelab.store import Chunk, get_store
from kubelab.tune._run import _publish
from kubelab.tune._worker import Stop, retry
from tests.servers import PrivateRabbitMQ, unique

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def rmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbitMQ]:
    with PrivateRabbitMQ(tmp_path_factory.mktemp("rmq")) as server:
        yield server


def chunks(n: int) -> list[Chunk]:
    return [Chunk(1, i, i, i + 1, study="s") for i in range(n)]


def drain(server: str, queue: str) -> list[tuple[int, Any]]:
    """Every message of ``queue`` (removed): its chunk number and delivery mode."""
    import json

    import pika

    conn = pika.BlockingConnection(pika.URLParameters(server))
    try:
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1000)
        got = []
        for method, props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=1.0):
            if method is None:
                break
            got.append((int(json.loads(body)["chunk"]), props.delivery_mode))
        return got
    finally:
        conn.close()


@pytest.mark.slow
def test_a_broker_restart_mid_publish_loses_nothing(rmq: PrivateRabbitMQ, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The coordinator's publishing loop, RabbitMQ restarted under it: every chunk ends up queued in the store
    and in the (durable) queue as a persistent message; doubles are allowed, losses are not."""
    n, queue = 20_000, unique("kubelab.t.")
    store = get_store(f"sqlite:///{tmp_path / 's.db'}")
    study = store.create_study("s", "{}", "d", "minimize", "grid", n)
    store.add_chunks(study.id, [(i, i, i + 1) for i in range(n)], "new")
    new = store.chunks_in_state(study.id, "new")
    broker = get_broker(rmq.url(queue=queue, lease=3, confirm_timeout=2))
    broker.connect()
    failed: list[BaseException] = []

    def publish() -> None:
        try:
            _publish(store, broker, study, new, Stop())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failed.append(exc)

    caplog.set_level(logging.WARNING)
    thread = threading.Thread(target=publish)
    thread.start()
    deadline = time.monotonic() + 60
    while not store.chunks_in_state(study.id, "queued") and time.monotonic() < deadline:
        time.sleep(0.02)
    queued_at_restart = len(store.chunks_in_state(study.id, "queued"))
    rmq.restart()
    thread.join(120)
    broker.close()
    assert not thread.is_alive() and not failed
    assert 0 < queued_at_restart < n, "the restart came before or after publishing, not during it"
    assert any("publishing chunks failed" in r.getMessage() or "unconfirmed" in r.getMessage()
               for r in caplog.records), "the restart did not interrupt publishing"
    assert len(store.chunks_in_state(study.id, "queued")) == n
    got = drain(rmq.server, queue)
    assert {c for c, _ in got} == set(range(n))  # survived the restart: durable queue, persistent messages
    assert {mode for _, mode in got} == {2}


def test_a_publish_that_gets_no_confirm_is_retried(rmq: PrivateRabbitMQ, caplog: pytest.LogCaptureFixture) -> None:
    """RabbitMQ stalled (SIGSTOP) while a batch waits for its confirms: after ``confirm_timeout`` the
    connection is dropped and the unconfirmed messages are published again once RabbitMQ answers."""
    queue = unique("kubelab.t.")
    broker = get_broker(rmq.url(queue=queue, lease=3, confirm_timeout=1))
    broker.connect()
    assert rmq.proc is not None
    caplog.set_level(logging.WARNING)
    done = threading.Event()
    os.killpg(rmq.proc.pid, signal.SIGSTOP)
    try:
        thread = threading.Thread(target=lambda: (retry(lambda: broker.publish(chunks(50)), Stop(), "publishing"),
                                                  done.set()))
        thread.start()
        time.sleep(2.5)
        assert not done.is_set()  # nothing confirmed yet: publish is still waiting
    finally:
        os.killpg(rmq.proc.pid, signal.SIGCONT)
    thread.join(60)
    broker.close()
    assert done.is_set()
    assert any("no confirms of 50 message(s) from RabbitMQ within 1 s; publishing the 50 unconfirmed message(s) "
               "again" in r.getMessage() for r in caplog.records)
    assert {c for c, _ in drain(rmq.server, queue)} == set(range(50))


def test_confirmed_publishing_in_batches(rmq: PrivateRabbitMQ) -> None:
    """Many chunks in one call: all of them are there when it returns, in order, persistent."""
    queue = unique("kubelab.t.")
    broker = get_broker(rmq.url(queue=queue))
    broker.publish(chunks(1000))
    broker.publish(chunks(3)[1:])
    broker.close()
    got = drain(rmq.server, queue)
    assert [c for c, _ in got] == [*range(1000), 1, 2] and {m for _, m in got} == {2}
