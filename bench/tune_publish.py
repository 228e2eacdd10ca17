"""Publishing chunks to RabbitMQ: the broker's publish rate, and the seed grid enqueued by the whole command.

On the shared servers (127.0.0.1:5672 guest/guest, 127.0.0.1:5432 postgres), on queues and in databases of
its own:
- ``AmqpBroker.publish`` of N chunks (durable queue, persistent messages, confirmed): chunks per second,
  beside pika's own ``confirm_delivery`` (each publish waits for its confirm) on the same messages;
- ``kubelab tune run examples/seed-003-grid.yaml --workers 0 --no-wait``: 26,160 trials cut into chunks,
  stored in PostgreSQL and published, wall time of the whole command (and chunks per second of it).

    python bench/tune_publish.py [--runs 3] [--chunks 5000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import ROOT, machine, median, table

sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))

from tests.servers import SHARED_AMQP, SHARED_PG, amqp_queue, postgres_database  # noqa: E402

from kubelab.broker import get_broker  # noqa: E402
from kubelab.broker._amqpurl import parse_amqp_url  # noqa: E402
from kubelab.store import Chunk, get_store  # noqa: E402


def broker_rate(n: int) -> float:
    """Chunks per second through ``AmqpBroker.publish`` (returns once RabbitMQ confirmed them all)."""
    with amqp_queue(SHARED_AMQP) as url:
        broker = get_broker(url)
        try:
            broker.connect()
            chunks = [Chunk(1, i, 10 * i, 10 * i + 10, study="bench") for i in range(n)]
            start = time.perf_counter()
            broker.publish(chunks)
            return n / (time.perf_counter() - start)
        finally:
            broker.close()


def one_confirm_each(n: int) -> float:
    """Chunks per second published the way pika's BlockingChannel offers confirms: one message in flight."""
    import pika

    from kubelab.broker._amqp import encode

    with amqp_queue(SHARED_AMQP) as url:
        pika_url, options = parse_amqp_url(url)
        conn = pika.BlockingConnection(pika.URLParameters(pika_url))
        try:
            ch = conn.channel()
            ch.queue_declare(options.queue, durable=True)
            ch.confirm_delivery()
            start = time.perf_counter()
            for i in range(n):
                ch.basic_publish("", options.queue, encode(Chunk(1, i, 10 * i, 10 * i + 10, study="bench")),
                                 pika.BasicProperties(delivery_mode=2, content_type="application/json"))
            return n / (time.perf_counter() - start)
        finally:
            conn.close()


def seed_grid() -> tuple[float, int]:
    """Wall seconds of enqueuing the seed grid with the whole command, and the chunks it published."""
    with amqp_queue(SHARED_AMQP) as url, postgres_database(SHARED_PG) as store:
        start = time.perf_counter()
        out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kubelab"), "tune", "run",
                              os.path.join(ROOT, "examples", "seed-003-grid.yaml"), "--workers", "0",
                              "--no-wait", "--broker", url, "--store", store], capture_output=True, text=True)
        wall = time.perf_counter() - start
        assert out.returncode == 0, out.stderr
        s = get_store(store)
        study = s.get_study("seed-003-grid")
        assert study is not None
        queued = len(s.chunks_in_state(study.id, "queued"))
        s.close()
        return wall, queued


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chunks", type=int, default=5000)
    args = ap.parse_args()
    rates, each = [], []
    for _ in range(args.runs):  # interleaved: a load change hits both alike
        rates.append(broker_rate(args.chunks))
        each.append(one_confirm_each(min(args.chunks, 1000)))
    grids = [seed_grid() for _ in range(args.runs)]
    walls = [w for w, _ in grids]
    chunks = grids[0][1]
    print(f"# Publishing chunks to RabbitMQ, median of {args.runs} runs ({machine()})\n")
    print(table([
        {"what": f"AmqpBroker.publish, {args.chunks} chunks", "median": f"{median(rates):,.0f} chunks/s",
         "min": f"{min(rates):,.0f} chunks/s"},
        {"what": f"pika confirm_delivery, one confirm per message, {min(args.chunks, 1000)} chunks",
         "median": f"{median(each):,.0f} chunks/s", "min": f"{min(each):,.0f} chunks/s"},
        {"what": f"seed grid --workers 0 --no-wait ({chunks} chunks)", "median": f"{median(walls):.2f} s "
         f"({chunks / median(walls):,.0f} chunks/s)", "min": f"{min(walls):.2f} s"},
    ], ["what", "median", "min"]))


if __name__ == "__main__":
    main()
