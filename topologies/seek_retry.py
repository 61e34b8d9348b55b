"""Seek a just-assigned partition once librdkafka has started fetching it.

After a rebalance assigns partitions, Quix Streams seeks each changelog partition it
recovers state from. librdkafka accepts a seek only for a partition it is actively fetching,
and a partition becomes active only once its committed offset has been read from the group
coordinator, asynchronously. A seek that comes first fails with ``_STATE`` ("Local: Erroneous
state") and stops the application: seen once in CI, when a recommender restarted after
SIGKILL seeked its changelog while the broker was busy.

`retry_seek_while_starting` makes the application's consumer retry such a seek until the
partition is active (a few milliseconds as a rule), for at most ``timeout_s``. Any other
error, and a partition still inactive after the timeout, is raised as before.
"""

from __future__ import annotations

import functools
import time

from confluent_kafka import KafkaError, KafkaException
from quixstreams import Application

__all__ = ["retry_seek_while_starting"]


def retry_seek_while_starting(app: Application, timeout_s: float = 10.0, backoff_s: float = 0.01) -> None:
    """Make ``app``'s consumer retry a seek refused because the partition is not active yet."""
    consumer = app._consumer
    seek = consumer.seek

    @functools.wraps(seek)
    def seek_once_active(partition):
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return seek(partition)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError._STATE or time.monotonic() >= deadline:
                    raise
            time.sleep(backoff_s)

    consumer.seek = seek_once_active
