"""RabbitMQ as the broker (pika): a durable queue of persistent chunk messages, prefetch 1, manual acks.

How each promise of the Broker contract is kept on RabbitMQ:

- **Nothing lost on publish.** Chunks are published on their own channel in confirm mode, in batches of up
  to 256 (``_confirms.py``): all of a batch is sent, then the publisher waits until RabbitMQ has confirmed
  every message (acks may cover many at once), which for a persistent message on a durable queue means it is
  on disk. Nacked messages are published again; a lost connection or no confirm within ``confirm_timeout``
  drops the connection, and what was not confirmed is published again on a new one (once at once, then by the
  caller's retries). Only then does the coordinator mark the chunks ``queued`` in the store.
- **Nothing acked before it is stored.** A worker acks a chunk after its results are committed; a worker that
  dies or disconnects leaves the chunk unacked and RabbitMQ delivers it to another one.
- **Silent loss (SIGSTOP, a node gone, a cut network)** is noticed through AMQP heartbeats: the heartbeat is
  ``lease / 3`` and a background thread answers them whatever the worker does (long trials, a database
  outage), so only a worker that truly stopped misses them, and RabbitMQ drops it after two or three.
- **Long trials and RabbitMQ's consumer timeout** (a global setting on 3.10, 30 min by default): when it
  closes a worker's channel, the chunk goes to another worker, which finds the trial ``running`` by a worker
  that is still alive (each worker holds an exclusive queue, ``QUEUE.live.OWNER``, for as long as its
  connection lives) and defers the chunk through ``QUEUE.wait.MS`` (a TTL queue that dead-letters back)
  instead of running the trial again. The first worker finishes the trial and stores it; it never runs the
  rest of a chunk whose delivery it lost.
- **Poison chunks**: a chunk redelivered more than ``max_deliveries`` times is published to ``QUEUE.dead``
  with the reason (after the worker fails its open trials) and acked.
- **Planned give-backs** (SIGTERM, Ctrl-C) republish the chunk and ack the delivery, so they do not count as
  failed deliveries; a delivery RabbitMQ requeued (its worker died) arrives ``redelivered`` and the worker
  counts it in the store (``count_redelivery``), which bounds poison chunks across restarts of everything.
- **Lost connections** raise ``TransientError``; the next call reconnects. Acks on a dead connection are void
  (RabbitMQ redelivers the chunk; its trials are final by then), so ``ack`` and ``nack`` never raise.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from kubelab.broker._amqpurl import parse_amqp_url, safe_url
from kubelab.broker._base import Broker
from kubelab.broker._confirms import ConfirmingChannel, ConfirmTimeout, Message, abort
from kubelab.errors import BackendError, TransientError
from kubelab.store import Chunk

__all__ = ["AmqpBroker"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_BATCH = 256
_NACK_ROUNDS = 5  # a batch RabbitMQ refuses this often (an internal error of the queue) is a TransientError


class _ProbeNoise(logging.Filter):
    """pika logs every channel the broker closes; a liveness probe closes one on purpose (404 or 405)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return ".live." not in text or not ("RESOURCE_LOCKED" in text or "NOT_FOUND" in text)


def _quiet_probes() -> None:
    channel_log = logging.getLogger("pika.channel")
    if not any(isinstance(f, _ProbeNoise) for f in channel_log.filters):
        channel_log.addFilter(_ProbeNoise())


def encode(chunk: Chunk) -> bytes:
    return json.dumps({"study_id": chunk.study_id, "study": chunk.study, "chunk": chunk.chunk, "lo": chunk.lo,
                       "hi": chunk.hi}, separators=(",", ":")).encode()


def decode(body: bytes, redelivered: bool) -> Chunk:
    data = json.loads(body)
    return Chunk(int(data["study_id"]), int(data["chunk"]), int(data["lo"]), int(data["hi"]),
                 2 if redelivered else 1, str(data.get("study", "")))


class AmqpBroker(Broker):
    """``amqp://user:password@host:5672/vhost?queue=…&lease=…`` (see ``_amqpurl``). ``owner`` names the
    worker slot using it (the name stored with the trials it runs)."""

    counts_deliveries = False

    def __init__(self, url: str, owner: str | None = None) -> None:
        self.url = url
        self._pika_url, self.options = parse_amqp_url(url)
        self.max_deliveries = self.options.max_deliveries
        self.owner = owner
        _quiet_probes()
        self._lock = threading.RLock()
        self._conn: Any = None
        self._ch: Any = None  # consuming (and acking) channel
        self._ctag: str | None = None  # its consumer, while subscribed
        self._pub: ConfirmingChannel | None = None  # publishing channel, in confirm mode
        self._live: Any = None  # the channel that declared this worker's liveness queue
        self._generation = 0  # bumped whenever deliveries become void (channel or connection lost)
        self._inbox: deque[tuple[int, Any, Any, bytes]] = deque()
        self._held: dict[tuple[int, int], tuple[int, int]] = {}  # (study, chunk) -> (generation, tag)
        self._closed = threading.Event()
        self._pump: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"RabbitMQ at {safe_url(self.url)}"

    def for_slot(self, owner: str) -> AmqpBroker:
        return AmqpBroker(self.url, owner)

    # -- connection ----------------------------------------------------------------------------------
    def connect(self) -> None:
        """Connect now (and declare the queues); raises TransientError or BackendError."""
        with self._lock:
            self._call(lambda: None)

    def _open(self) -> None:
        from kubelab._deps import require

        pika = require("pika", "amqp")
        if self._conn is None or not self._conn.is_open:
            params = pika.URLParameters(self._pika_url)
            params.connection_attempts = 1
            params.socket_timeout = 5
            params.blocked_connection_timeout = max(30.0, self.options.lease_s)
            self._conn = pika.BlockingConnection(params)
            self._ch = self._pub = self._live = None
            if self._pump is None:
                self._pump = threading.Thread(target=self._pump_loop, name="kubelab-amqp-heartbeat", daemon=True)
                self._pump.start()
        if self.owner is not None and (self._live is None or not self._live.is_open):
            # liveness: exists exactly as long as this connection (405 while RabbitMQ still holds a previous
            # connection of this worker that it has not yet found dead: retried until it has)
            live = self._conn.channel()
            live.queue_declare(self.options.live_queue(self.owner), exclusive=True)
            self._live = live
        if self._pub is None or not self._pub.is_open:
            pub = self._conn.channel()
            self._declare(pub)
            self._pub = ConfirmingChannel(self._conn, pub, self.options.confirm_timeout_s)

    def _declare(self, ch: Any) -> None:
        o = self.options
        ch.queue_declare(o.queue, durable=True)
        ch.queue_declare(o.dead_queue, durable=True)
        ch.queue_declare(o.wait_queue, durable=True, arguments={
            "x-message-ttl": int(o.recheck_s * 1000), "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": o.queue})

    def _consumer(self) -> Any:
        if self._ch is None or not self._ch.is_open:
            self._ch = self._conn.channel()
            self._ch.basic_qos(prefetch_count=1)
            self._ctag = None
        if self._ctag is None:
            self._ctag = self._ch.basic_consume(self.options.queue, self._on_message)
        return self._ch

    def _on_message(self, _ch: Any, method: Any, properties: Any, body: bytes) -> None:
        self._inbox.append((self._generation, method, properties, body))

    def _lost(self, exc: BaseException, channel_only: bool = False) -> None:
        """Forget what a broken channel or connection held: its deliveries are void."""
        import pika.exceptions as px

        self._generation += 1
        self._inbox.clear()
        self._held.clear()
        conn_ok = self._conn is not None and self._conn.is_open
        if conn_ok and (channel_only or isinstance(exc, px.AMQPChannelError)):
            log.warning("%s: channel closed (%s); reopening it", self.where, exc)
            for ch in (self._ch, None if self._pub is None else self._pub.channel):
                if ch is not None and ch.is_open:
                    try:
                        ch.close()
                    except Exception:  # noqa: BLE001 - closing what is half broken
                        pass
            self._ch = self._pub = None
            return
        conn, self._conn, self._ch, self._pub = self._conn, None, None, None
        if conn is not None and conn.is_open:
            if isinstance(exc, ConfirmTimeout):  # a stalled broker would not answer a closing handshake
                abort(conn, exc)
                return
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing what is half broken
                pass

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` with the connection open; pika's errors become TransientError or BackendError."""
        import pika.exceptions as px

        try:
            self._open()
            return fn()
        except (px.ProbableAuthenticationError, px.ProbableAccessDeniedError) as exc:
            self._lost(exc)
            raise BackendError(f"{self.where}: access refused ({exc}); check the user, password and vhost "
                               "in the URL") from None
        except px.ChannelClosedByBroker as exc:
            self._lost(exc)
            if exc.reply_code == 406 and "queue" in str(exc.reply_text):
                raise BackendError(f"{self.where}: {exc.reply_text}; a queue of that name exists with other "
                                   "settings: delete it, or pick another with ?queue=NAME") from None
            raise TransientError(f"{self.where}: channel closed: {exc.reply_text}") from None
        except ConfirmTimeout as exc:  # a broker that stalls (disk, memory alarm): start afresh
            self._lost(exc)
            raise TransientError(f"{self.where}: {exc}") from None
        except (px.AMQPError, OSError) as exc:
            self._lost(exc)
            if isinstance(exc, px.AMQPConnectionError) and self._conn is None and not str(exc):
                raise TransientError(f"{self.where}: cannot connect (refused or timed out); is RabbitMQ running "
                                     "there, and are the host and port right?") from None
            raise TransientError(f"{self.where}: {type(exc).__name__} {exc}".strip()) from None

    def _events(self, time_limit: float) -> None:
        self._conn.process_data_events(time_limit=time_limit)

    def _pump_loop(self) -> None:
        """Answer heartbeats while the slot is busy elsewhere (a long trial, a database outage)."""
        every = max(0.2, min(1.0, self.options.heartbeat / 4))
        while not self._closed.wait(every):
            if not self._lock.acquire(blocking=False):
                continue  # the slot is talking to RabbitMQ: that services the connection too
            try:
                if self._conn is not None and self._conn.is_open:
                    self._conn.process_data_events(0)
            except Exception as exc:  # noqa: BLE001 - any failure here means the connection is gone
                self._lost(exc)
            finally:
                self._lock.release()

    # -- the contract ----------------------------------------------------------------------------------
    def publish(self, chunks: Sequence[Chunk]) -> None:
        for start in range(0, len(chunks), _BATCH):
            with self._lock:
                self._publish_confirmed([Message(self.options.queue, encode(c)) for c in chunks[start:start + _BATCH]])

    def _publish_confirmed(self, messages: list[Message]) -> None:
        """Publish until RabbitMQ confirmed every message. Nacked ones go again (up to ``_NACK_ROUNDS``); after
        a lost connection or a confirm timeout, what was not confirmed goes again once on a new connection,
        and a second failure is the caller's TransientError (it retries with backoff; doubles are harmless)."""
        pending, nacks, failures = messages, 0, 0
        while pending:
            used: list[ConfirmingChannel] = []
            try:
                pending = self._call(partial(self._send, pending, used))
            except TransientError as exc:
                failures += 1
                if failures > 1:
                    raise
                if used:
                    pending = used[0].unconfirmed()
                log.warning("%s; publishing the %d unconfirmed message(s) again", exc, len(pending))
                continue
            if pending:
                nacks += 1
                if nacks >= _NACK_ROUNDS:
                    raise TransientError(f"{self.where}: RabbitMQ refused (nack) {len(pending)} message(s) "
                                         f"{nacks} times in a row")
                log.warning("%s: RabbitMQ refused (nack) %d message(s); publishing them again", self.where,
                            len(pending))

    def _send(self, messages: list[Message], used: list[ConfirmingChannel]) -> list[Message]:
        assert self._pub is not None  # opened by _call
        used.append(self._pub)
        return self._pub.publish(messages)

    def get(self, timeout: float) -> Chunk | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            self._call(self._consumer)
            while True:
                while self._inbox:
                    generation, method, _props, body = self._inbox.popleft()
                    if generation != self._generation:
                        continue
                    try:
                        chunk = decode(body, bool(method.redelivered))
                    except (ValueError, KeyError, TypeError) as exc:
                        self._park(method.delivery_tag, body, f"not a kubelab chunk message: {exc}")
                        continue
                    self._held[(chunk.study_id, chunk.chunk)] = (generation, method.delivery_tag)
                    return chunk
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._call(partial(self._events, min(remaining, 0.1)))

    def _take(self, chunk: Chunk) -> int | None:
        """The delivery tag of ``chunk`` if its delivery is still valid."""
        held = self._held.pop((chunk.study_id, chunk.chunk), None)
        if held is None or held[0] != self._generation:
            log.info("%s: the delivery of chunk %d of study %d was lost; RabbitMQ gives it to another "
                     "worker (its finished trials are kept)", self.where, chunk.chunk, chunk.study_id)
            return None
        return held[1]

    def _settle(self, chunk: Chunk, how: Callable[[int], None]) -> None:
        with self._lock:
            tag = self._take(chunk)
            if tag is None:
                return
            try:
                self._call(lambda: how(tag))
            except TransientError as exc:  # void: RabbitMQ redelivers it, and its trials are final or open
                log.warning("%s", exc)

    def ack(self, chunk: Chunk) -> None:
        self._settle(chunk, lambda tag: self._ch.basic_ack(tag))

    def nack(self, chunk: Chunk) -> None:
        """Give the chunk back as a fresh message: a planned give-back (SIGTERM, Ctrl-C) is not a failed
        delivery and must not count towards ``max_deliveries`` as RabbitMQ's requeue would."""
        self._settle(chunk, partial(self._move, chunk, self.options.queue, unsubscribe=True))

    def defer(self, chunk: Chunk) -> None:
        self._settle(chunk, partial(self._move, chunk, self.options.wait_queue))

    def _move(self, chunk: Chunk, queue: str, tag: int, unsubscribe: bool = False) -> None:
        if unsubscribe and self._ctag is not None:  # a slot that gives back is stopping: take nothing more
            self._ch.basic_cancel(self._ctag)
            self._ctag = None
        self._publish_confirmed_here([Message(queue, encode(chunk))])  # confirmed before the ack: maybe doubled
        self._ch.basic_ack(tag)

    def _publish_confirmed_here(self, messages: list[Message]) -> None:
        """Inside ``_call``, before acking a delivery. A lost connection voids the delivery (RabbitMQ
        redelivers it); so does a message RabbitMQ keeps refusing: the channels are closed, not acked."""
        assert self._pub is not None
        for _ in range(_NACK_ROUNDS):
            messages = self._pub.publish(messages)
            if not messages:
                return
        exc = TransientError(f"{self.where}: RabbitMQ refused (nack) a message {_NACK_ROUNDS} times; the "
                             "delivery is given back")
        self._lost(exc, channel_only=True)
        raise exc

    def dead_letter(self, chunk: Chunk, reason: str) -> None:
        with self._lock:
            tag = self._take(chunk)
            if tag is not None:
                self._park(tag, encode(chunk), reason)

    def _park(self, tag: int, body: bytes, reason: str) -> None:
        log.error("%s: chunk dead-lettered to %s: %s", self.where, self.options.dead_queue, reason)

        def move() -> None:
            self._publish_confirmed_here([Message(self.options.dead_queue, body,
                                                  {"x-kubelab-reason": reason[:1000]})])
            self._ch.basic_ack(tag)

        try:
            self._call(move)
        except TransientError as exc:
            log.warning("%s", exc)

    def heartbeat(self, chunk: Chunk) -> bool:
        with self._lock:
            try:
                self._call(partial(self._events, 0))
            except TransientError:
                pass
            if self._ch is not None and not self._ch.is_open:  # closed by RabbitMQ (consumer timeout)
                self._lost(BackendError("consumer channel closed by RabbitMQ"), channel_only=True)
            held = self._held.get((chunk.study_id, chunk.chunk))
            return held is not None and held[0] == self._generation

    def holder_alive(self, worker: str) -> bool:
        import pika.exceptions as px

        if worker == self.owner:
            return True

        def probe() -> bool:
            ch = self._conn.channel()
            try:
                ch.queue_declare(self.options.live_queue(worker), passive=True)
                return True  # declared by this very connection
            except px.ChannelClosedByBroker as exc:
                return bool(exc.reply_code == 405)  # RESOURCE_LOCKED: exclusive to a live connection
            finally:
                if ch.is_open:
                    ch.close()

        with self._lock:
            return self._call(probe)

    def dead_letters(self) -> list[tuple[Chunk, str]]:
        """The chunks in the dead-letter queue with their reasons (read without removing them)."""
        out: list[tuple[Chunk, str]] = []

        def read() -> None:
            ch = self._conn.channel()
            try:
                while True:
                    method, props, body = ch.basic_get(self.options.dead_queue)
                    if method is None:
                        break
                    out.append((decode(body, False), str((props.headers or {}).get("x-kubelab-reason", ""))))
            finally:
                ch.close()  # unacked: back in the queue

        with self._lock:
            self._call(read)
        return out

    def close(self) -> None:
        self._closed.set()
        if self._pump is not None:
            self._pump.join(timeout=5)
        self._pump, self._closed = None, threading.Event()
        with self._lock:
            if self._conn is not None and self._conn.is_open:
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001 - closing what may be broken
                    pass
            self._conn = self._ch = self._pub = None

