"""The broker contract: it only dispatches chunks of trial numbers; the store is the source of truth.

- ``publish`` makes chunks available to workers; publishing a chunk twice is harmless (workers skip trials
  that are final in the store).
- ``get`` hands a chunk to one worker at a time. A chunk that is not acked is delivered again (to this or
  another worker) when its holder dies, disconnects or stops renewing; so every chunk is processed at least
  once, and the store's conditional writes make each trial's result exactly once.
- ``ack`` only after the chunk's results are committed to the store; ``nack`` gives it back at once.
- ``heartbeat`` is called while a long trial runs: it keeps the delivery (lease, connection) alive.
- A chunk whose trial another *live* worker still runs (its delivery was lost: consumer timeout, a
  reconnect) is not run twice: ``holder_alive`` says so and ``defer`` brings the chunk back later.
- ``dead_letter`` parks a chunk that was delivered more than ``max_deliveries`` times (its open trials are
  failed by the caller first). ``counts_deliveries`` is False when ``Chunk.deliveries`` is only a lower
  bound (2 for "redelivered") and the caller counts redeliveries in the store.
- Instances are used by one thread; ``for_slot`` makes another one for another worker slot.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from kubelab.store import Chunk

__all__ = ["Broker"]


class Broker(abc.ABC):
    """Dispatches chunks. See the module docstring for the contract."""

    url: str
    max_deliveries: int | None = None
    counts_deliveries: bool = True

    @abc.abstractmethod
    def publish(self, chunks: Sequence[Chunk]) -> None:
        """Make chunks available; returns once the broker has them safely (confirms, commit)."""

    @abc.abstractmethod
    def get(self, timeout: float) -> Chunk | None:
        """Wait up to ``timeout`` s for a chunk; None when there was none."""

    @abc.abstractmethod
    def ack(self, chunk: Chunk) -> None:
        """The chunk's results are stored: never deliver it again."""

    @abc.abstractmethod
    def nack(self, chunk: Chunk) -> None:
        """Give the chunk back for another delivery now."""

    def connect(self) -> None:  # noqa: B027 - optional hook: brokers inside the store are always there
        """Reach the broker now; raises TransientError (retry later) or BackendError (fix the URL)."""

    @abc.abstractmethod
    def for_slot(self, owner: str) -> Broker:
        """A new instance on the same queue for another worker slot named ``owner``."""

    def holder_alive(self, worker: str) -> bool:
        """Whether ``worker`` (a slot name stored with a running trial) is known to be alive."""
        return False

    def defer(self, chunk: Chunk) -> None:
        """Bring the chunk back later: a trial of it is still run by a live worker."""
        self.nack(chunk)

    def dead_letter(self, chunk: Chunk, reason: str) -> None:
        """Never deliver the chunk again; keep it where an operator can see it, with ``reason``."""
        self.ack(chunk)

    def heartbeat(self, chunk: Chunk) -> bool:
        """Keep a long-running delivery alive; False when it was lost (another worker may have it)."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook, most backends have nothing to release
        """Release connections."""
