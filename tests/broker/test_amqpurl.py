"""Options of an amqp:// broker URL, and the errors a user gets for a wrong one."""

from __future__ import annotations

import pytest

from kubelab.broker import get_broker
from kubelab.broker._amqpurl import AmqpOptions, parse_amqp_url, safe_url
from kubelab.errors import KubelabError


def test_options_are_split_from_pika_parameters() -> None:
    pika_url, options = parse_amqp_url(
        "amqp://u:p@rabbit:5672/%2F?queue=jobs&lease=9&max_deliveries=4&recheck=2&confirm_timeout=7"
        "&connection_attempts=3")
    assert options == AmqpOptions(queue="jobs", lease_s=9.0, max_deliveries=4, recheck_s=2.0, confirm_timeout_s=7.0)
    assert pika_url == "amqp://u:p@rabbit:5672/%2F?connection_attempts=3&heartbeat=3"
    assert options.dead_queue == "jobs.dead" and options.wait_queue == "jobs.wait.2000"
    assert options.live_queue("h:1:0") == "jobs.live.h:1:0"


def test_defaults() -> None:
    pika_url, options = parse_amqp_url("amqp://localhost/")
    assert options == AmqpOptions() and options.queue == "kubelab.tune" and options.heartbeat == 10
    assert pika_url.endswith("?heartbeat=10")


@pytest.mark.parametrize(("url", "message"), [
    ("amqp://localhost/?lease=2", "broker URL amqp://localhost/?lease=2: lease='2' must be a number ≥ 3"),
    ("amqp://localhost/?lease=soon", "lease='soon' must be a number ≥ 3"),
    ("amqp://localhost/?max_deliveries=0", "max_deliveries='0' must be an integer ≥ 1"),
    ("amqp://localhost/?max_deliveries=2.5", "max_deliveries='2.5' must be an integer ≥ 1"),
    ("amqp://localhost/?recheck=0", "recheck='0' must be a number ≥ 0.1"),
    ("amqp://localhost/?confirm_timeout=0", "confirm_timeout='0' must be a number ≥ 0.1"),
    ("amqp://localhost/?confirm_timeout=never", "confirm_timeout='never' must be a number ≥ 0.1"),
    ("amqp://localhost/?queue=a%20b", "queue='a b' may hold only letters, digits and . _ : -"),
    ("amqp://localhost/?heartbeat=5", "set lease=SECONDS instead of heartbeat"),
    ("amqp:///", "expected amqp://user:password@host:5672/vhost"),
])
def test_wrong_options_are_named(url: str, message: str) -> None:
    with pytest.raises(KubelabError) as err:
        parse_amqp_url(url)
    assert message in str(err.value)


def test_unsupported_scheme() -> None:
    with pytest.raises(KubelabError, match="unsupported broker URL 'kafka://x'; use amqp://"):
        get_broker("kafka://x")


def test_passwords_stay_out_of_messages() -> None:
    assert safe_url("amqp://kubelab:s3cret@rabbit:5672/v") == "amqp://kubelab:***@rabbit:5672/v"
    assert safe_url("amqp://rabbit/") == "amqp://rabbit/"
