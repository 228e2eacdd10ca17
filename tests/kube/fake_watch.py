"""Watches for the fake API server: a log of changes that ``?watch=true`` lists stream from.

Every change to the fake's store is recorded with its resourceVersion. A watch without a
``resourceVersion`` (or with ``0``) first gets ``ADDED`` for each matching object, then every later change;
with a ``resourceVersion``, only the changes after it. The stream ends at ``timeoutSeconds`` or when the
server stops. Not implemented: bookmarks, ``410 Gone`` for versions too old (the log is never compacted),
``sendInitialEvents``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

Key = tuple[str, str, str, str]
Change = tuple[int, str, Key, dict[str, Any]]  # (resourceVersion, ADDED|MODIFIED|DELETED, key, object)


class ChangeLog:
    """Changes to the store, in order; ``stream`` follows them. Record while holding ``lock``."""

    def __init__(self, lock: threading.RLock) -> None:
        self._cond = threading.Condition(lock)
        self._changes: list[Change] = []
        self._closed = False

    def record(self, type_: str, key: Key, obj: dict[str, Any]) -> None:
        self._changes.append((int(obj["metadata"]["resourceVersion"]), type_, key, copy.deepcopy(obj)))
        self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def stream(self, initial: list[dict[str, Any]], after: int, match: Callable[[Key, dict[str, Any]], bool],
               timeout: float) -> Iterator[dict[str, Any]]:
        """Watch events: ADDED for ``initial``, then matching changes with a version above ``after``."""
        for obj in initial:
            yield {"type": "ADDED", "object": obj}
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            with self._cond:
                pending = [c for c in self._changes[seen:] if c[0] > after and match(c[2], c[3])]
                seen = len(self._changes)
                if not pending:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._closed:
                        return
                    self._cond.wait(min(left, 0.1))
                    continue
            for _, type_, _, obj in pending:
                yield {"type": type_, "object": obj}
