"""Configuration shared by the Kafka clients that CLI commands create."""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from .settings import Settings

# librdkafka writes its log (every failed connection attempt, for one) to stderr unless
# given a logger. Through this one its lines become the JSON log lines of `cartstream run`
# (whose root handler they reach); a one-shot command, which reports a failure once in a
# line of its own, configures no handler, and the NullHandler keeps Python from printing them.
KAFKA_LOG = logging.getLogger("cartstream.kafka")
KAFKA_LOG.addHandler(logging.NullHandler())


def client_config(settings: Settings, config: dict[str, object] | None = None) -> dict[str, object]:
    """A client configuration for the configured broker, logging through `KAFKA_LOG`, plus `config`."""
    return {"bootstrap.servers": settings.bootstrap_servers, "logger": KAFKA_LOG, **(config or {})}


# Codes of a broker that does not answer at all.
_UNREACHABLE = {KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE}


def describe_kafka_error(exc: KafkaException, bootstrap_servers: str) -> str:
    """One line for a failed Kafka call, saying so when the broker cannot be reached.

    >>> describe_kafka_error(KafkaException(KafkaError(KafkaError._TRANSPORT, "Connection refused")), "127.0.0.1:1")
    'cannot reach Kafka at 127.0.0.1:1 (Connection refused); is it running? `cartstream infra status` tells'
    """
    error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    if error is None:
        return f"Kafka: {exc}"
    if error.code() in _UNREACHABLE:
        return f"cannot reach Kafka at {bootstrap_servers} ({error.str()}); is it running? `cartstream infra status` tells"
    return f"Kafka at {bootstrap_servers}: {error.str()}"


# A new broker creates __consumer_offsets on the first commit; until its coordinator is
# elected, commits fail with these codes and succeed when retried.
_COORDINATOR_NOT_READY = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                          KafkaError.COORDINATOR_LOAD_IN_PROGRESS}


def commit_offsets(consumer: Consumer, offsets: list[TopicPartition], timeout: float = 30.0) -> None:
    """Commit `offsets` for `consumer`'s group, retrying while the group coordinator is not ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
            return
        except KafkaException as exc:
            if exc.args[0].code() not in _COORDINATOR_NOT_READY or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def consume_available(consumer: Consumer, max_messages: int, timeout: float) -> list:
    """Up to `max_messages` messages: waits at most `timeout` for the first one, then takes
    whatever else has already arrived.

    librdkafka's ``consume(max_messages, timeout)`` returns early only once it holds all
    `max_messages`: below that rate every message waits out the whole timeout (a list
    published 1 ms after the call is seen `timeout` later). Readers that care when a
    message arrived use this instead.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(max_messages - 1, 0)] if max_messages > 1 else [first]
