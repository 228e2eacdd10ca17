"""Publisher confirms in batches on pika's BlockingConnection.

pika's ``BlockingChannel.confirm_delivery()`` makes each ``basic_publish`` wait for its own confirm, and
RabbitMQ confirms a persistent message on a durable queue only once it is on disk: one message in flight at a
time means one disk flush per message (0.65 ms here, 19 ms measured earlier on a slower disk; TCP_NODELAY is
set by pika, so Nagle is not the cause). ``ConfirmingChannel`` instead publishes a whole batch, then services
the connection until RabbitMQ has confirmed every message of it, which costs one flush for many messages.
(A broker that takes no bytes at all, so that the output cannot even be written, is noticed by the heartbeat
instead: pika drops the connection after two or three silent heartbeat intervals.)

The confirm callback is registered on the asynchronous channel under the blocking one (``BlockingChannel.
_impl``, the object pika's own ``confirm_delivery`` registers its callback on; pika offers no public hook for
it on a blocking connection), so every ``basic.ack``/``basic.nack``, ``multiple`` ones included, is seen as it
arrives; the wait is the blocking channel's own ``_flush_output`` with our waiters. Both are pika 1.x internals
(pinned ``<2`` in the ``amqp`` extra; ``tests/broker/test_confirms.py`` exercises them on a real broker).
Delivery tags are the channel's publish sequence numbers, 1, 2, 3… from ``confirm.select``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ConfirmTimeout", "ConfirmingChannel", "Message", "abort"]


@dataclass(frozen=True)
class Message:
    """A persistent message for ``queue`` on the default exchange."""

    queue: str
    body: bytes
    headers: dict[str, Any] | None = None


class ConfirmTimeout(Exception):  # noqa: N818 - reads as what happened
    """RabbitMQ confirmed nothing (or not everything) within the timeout: the connection is not to be trusted."""


class ConfirmingChannel:
    """A channel in confirm mode on ``conn`` (a pika ``BlockingConnection``); used by one thread at a time."""

    def __init__(self, conn: Any, channel: Any, timeout_s: float) -> None:
        self._conn = conn
        self._ch = channel
        self._impl = channel._impl
        self.timeout_s = timeout_s
        self._seq = 0
        self._outstanding: OrderedDict[int, Message] = OrderedDict()
        self._nacked: list[Message] = []
        selected: list[bool] = []
        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: selected.append(True))
        self._wait(lambda: bool(selected), "confirm.select-ok")

    @property
    def channel(self) -> Any:
        """The pika ``BlockingChannel``."""
        return self._ch

    @property
    def is_open(self) -> bool:
        return bool(self._ch.is_open)

    def unconfirmed(self) -> list[Message]:
        """What RabbitMQ has not confirmed (still outstanding, or nacked) since the last ``publish`` began."""
        return [*self._nacked, *self._outstanding.values()]

    def publish(self, messages: Sequence[Message]) -> list[Message]:
        """Publish ``messages`` (persistent) and wait until RabbitMQ confirmed or refused each; returns the
        refused (nacked) ones, to publish again. Raises ``ConfirmTimeout``, or pika's errors for a closed
        channel or connection; ``unconfirmed()`` then says what to publish again."""
        import pika

        self._nacked = []
        for m in messages:
            self._seq += 1
            self._outstanding[self._seq] = m
            self._impl.basic_publish("", m.queue, m.body, pika.BasicProperties(
                delivery_mode=2, content_type="application/json", headers=m.headers))
        self._wait(lambda: not self._outstanding, f"confirms of {len(messages)} message(s)")
        nacked, self._nacked = self._nacked, []
        return nacked

    def _on_confirm(self, frame: Any) -> None:
        import pika

        method = frame.method
        refused = isinstance(method, pika.spec.Basic.Nack)
        tag = int(method.delivery_tag)
        if method.multiple:  # every tag up to this one; tags were added in increasing order
            while self._outstanding and next(iter(self._outstanding)) <= tag:
                _, message = self._outstanding.popitem(last=False)
                if refused:
                    self._nacked.append(message)
        else:
            single = self._outstanding.pop(tag, None)  # type: ignore[arg-type] # None: not ours (any more)
            if refused and single is not None:
                self._nacked.append(single)

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        """Service the connection until ``done()``; a timer wakes the I/O loop at the deadline. (pika's own
        ``process_data_events(time_limit)`` would sleep out the whole limit: confirms wake nothing in it.)"""
        import pika.exceptions as px

        deadline = time.monotonic() + self.timeout_s
        timer = self._conn.call_later(self.timeout_s + 0.01, _nothing)
        try:
            self._ch._flush_output(done, lambda: time.monotonic() >= deadline)  # raises if RabbitMQ closed it
        finally:
            if self._conn.is_open:
                self._conn.remove_timeout(timer)
        if done():
            return
        if self._ch.is_closed:
            raise px.ChannelWrongStateError(f"the publishing channel closed while waiting for {what}")
        raise ConfirmTimeout(f"no {what} from RabbitMQ within {self.timeout_s:g} s")


def abort(conn: Any, reason: Exception) -> None:
    """Drop a ``BlockingConnection`` without the closing handshake, which a stalled broker would never answer
    (``close()`` would wait for the heartbeat checker): what pika itself does on a missed heartbeat."""
    impl = conn._impl
    if not impl.is_closed:
        impl._terminate_stream(reason)
    try:
        conn.process_data_events(0)  # let pika finish the teardown; it re-raises ``reason``
    except Exception:  # noqa: BLE001 - the connection is gone, which is what was asked
        pass


def _nothing() -> None:
    """The deadline timer's callback: firing is all it is for."""
