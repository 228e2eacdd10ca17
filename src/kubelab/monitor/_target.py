"""``Target``: what the monitor samples. The contract every target keeps."""

from __future__ import annotations

from abc import ABC, abstractmethod

from kubelab.monitor._sample import Sample

__all__ = ["Target"]


class Target(ABC):
    """Something whose CPU and memory can be sampled.

    Contract: ``prime()`` is called once before the first ``read()`` (a target that measures CPU by
    differences takes its baseline there); ``read()`` returns a ``Sample`` (its ``time`` is set by the
    caller) and may be called from a thread other than the constructor's, but never concurrently;
    ``alive`` turns False when there is nothing left to monitor (the processes exited); ``close()``
    releases what the target holds (a launched command is stopped). Errors are ``MonitorError`` or
    ``ClusterError`` with a message that says what to do.
    """

    def prime(self) -> None:
        """Take a baseline before the first read."""
        return None

    @abstractmethod
    def read(self) -> Sample:
        """The resources now (CPU use: since the previous read or ``prime``)."""

    @property
    def alive(self) -> bool:
        """Whether there is still something to monitor."""
        return True

    def close(self) -> None:
        """Release what the target holds."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """What is monitored, for messages (``pid 123 and 4 children``, ``pods app=web in lab``)."""
