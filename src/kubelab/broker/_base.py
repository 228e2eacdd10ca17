"""The broker contract: it only dispatches chunks of trial numbers; the store is the source of truth.

- ``publish`` makes chunks available to workers; publishing a chunk twice is harmless (workers skip trials
  that are final in the store).
- ``get`` hands a chunk to one worker at a time. A chunk that is not acked is delivered again (to this or
  another worker) when its holder dies, disconnects or stops renewing; so every chunk is processed at least
  once, and the store's conditional writes make each trial's result exactly once.
- ``ack`` only after the chunk's results are committed to the store; ``nack`` gives it back at once.
- ``heartbeat`` is called while a long trial runs: it keeps the delivery (lease, connection) alive.
- Instances are used by one thread; make one per worker slot.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from kubelab.store import Chunk

__all__ = ["Broker"]


class Broker(abc.ABC):
    """Dispatches chunks. See the module docstring for the contract."""

    url: str

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

    def heartbeat(self, chunk: Chunk) -> bool:
        """Keep a long-running delivery alive; False when it was lost (another worker may have it)."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook, most backends have nothing to release
        """Release connections."""
