"""Brokers dispatch chunks of trials to workers. Chosen by URL; none means the embedded broker (the store).

URL table (imported lazily): ``amqp://`` → RabbitMQ.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from kubelab.broker._base import Broker
from kubelab.broker._embedded import EmbeddedBroker, expire_dead_local_owners, owner_id
from kubelab.errors import KubelabError

__all__ = ["Broker", "EmbeddedBroker", "expire_dead_local_owners", "get_broker", "owner_id", "resolve_broker_url"]

# scheme -> "module:Class", imported lazily
_BACKENDS = {"amqp": "kubelab.broker._amqp:AmqpBroker", "amqps": "kubelab.broker._amqp:AmqpBroker"}


def resolve_broker_url(url: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """Flag > ``KUBELAB_BROKER`` > None (the embedded broker)."""
    env = os.environ if environ is None else environ
    return url or env.get("KUBELAB_BROKER") or None


def get_broker(url: str) -> Broker:
    """Open the broker at ``url`` (``amqp://user:pass@host:5672/vhost``)."""
    scheme = url.split(":", 1)[0]
    target = _BACKENDS.get(scheme)
    if target is None or "://" not in url:
        raise KubelabError(f"unsupported broker URL '{url}'; use amqp://user:password@host:5672/ "
                           "(or leave --broker out for the embedded broker)")
    module, cls = target.split(":")
    broker: Broker = getattr(importlib.import_module(module), cls)(url)
    return broker
