"""The options of an ``amqp://`` broker URL: kubelab's own query parameters, split from pika's.

``amqp://user:password@host:5672/vhost?queue=kubelab.tune&lease=30&max_deliveries=10&recheck=5``

- ``queue``: the work queue; ``QUEUE.dead`` holds dead-lettered chunks, ``QUEUE.wait.MS`` defers chunks
  whose trial another live worker still runs, ``QUEUE.live.OWNER`` tells other workers this one is alive.
- ``lease`` (s): how long a worker that vanished silently (SIGSTOP, node lost, network cut) keeps its chunk.
  It sets the AMQP heartbeat to ``lease / 3`` (whole seconds): RabbitMQ closes a connection after two to three
  silent heartbeat intervals, then delivers its unacked chunk to another worker.
- ``max_deliveries``: a chunk delivered more often than this is dead-lettered and its open trials ``failed``.
- ``recheck`` (s): how often a deferred chunk comes back to see whether its holder finished or died.
- ``confirm_timeout`` (s): how long a publisher waits for RabbitMQ to confirm a batch of chunks before it
  drops the connection and publishes what was not confirmed again on a new one.

Every other query parameter (``connection_attempts``, ``socket_timeout``…) is pika's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kubelab.errors import KubelabError

__all__ = ["AmqpOptions", "parse_amqp_url", "safe_url"]

_QUEUE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@dataclass(frozen=True)
class AmqpOptions:
    """kubelab's options of an AMQP broker (see the module docstring)."""

    queue: str = "kubelab.tune"
    lease_s: float = 30.0
    max_deliveries: int = 10
    recheck_s: float = 5.0
    confirm_timeout_s: float = 30.0

    @property
    def heartbeat(self) -> int:
        """The AMQP heartbeat timeout that makes RabbitMQ notice a silent worker within the lease."""
        return max(1, int(self.lease_s // 3))

    @property
    def dead_queue(self) -> str:
        return f"{self.queue}.dead"

    @property
    def wait_queue(self) -> str:
        return f"{self.queue}.wait.{int(self.recheck_s * 1000)}"

    def live_queue(self, owner: str) -> str:
        return f"{self.queue}.live.{owner}"


def _number(url: str, key: str, raw: str, low: float, integer: bool = False) -> float:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = low - 1
    if value < low:
        kind = "an integer" if integer else "a number"
        raise KubelabError(f"broker URL {url}: {key}={raw!r} must be {kind} ≥ {low:g}")
    return value


def parse_amqp_url(url: str) -> tuple[str, AmqpOptions]:
    """Split ``url`` into the URL pika gets (heartbeat set from the lease) and kubelab's options."""
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise KubelabError(f"broker URL {url}: expected amqp://user:password@host:5672/vhost")
    ours: dict[str, str] = {}
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("queue", "lease", "max_deliveries", "recheck", "confirm_timeout"):
            ours[key] = value
        elif key == "heartbeat":
            raise KubelabError(f"broker URL {url}: set lease=SECONDS instead of heartbeat (the heartbeat is "
                               "lease / 3, so a silent worker loses its chunk within the lease)")
        else:
            theirs.append((key, value))
    queue = ours.get("queue", AmqpOptions.queue)
    if not _QUEUE.match(queue):
        raise KubelabError(f"broker URL {url}: queue={queue!r} may hold only letters, digits and . _ : - "
                           "(at most 200)")
    options = AmqpOptions(
        queue=queue,
        lease_s=_number(url, "lease", ours["lease"], 3) if "lease" in ours else AmqpOptions.lease_s,
        max_deliveries=int(_number(url, "max_deliveries", ours["max_deliveries"], 1, integer=True))
        if "max_deliveries" in ours else AmqpOptions.max_deliveries,
        recheck_s=_number(url, "recheck", ours["recheck"], 0.1) if "recheck" in ours else AmqpOptions.recheck_s,
        confirm_timeout_s=_number(url, "confirm_timeout", ours["confirm_timeout"], 0.1)
        if "confirm_timeout" in ours else AmqpOptions.confirm_timeout_s)
    theirs.append(("heartbeat", str(options.heartbeat)))
    return urlunsplit(parts._replace(query=urlencode(theirs))), options


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
