"""Read every input partition of a process in one record-time order, not only those of one number.

Quix Streams aligns merged inputs by timestamp only within a partition number: `clicks`
partition 0 with `carts` partition 0. Between numbers it pops whichever group comes first
with a message, so the order of events of different partitions, and with it the tables an
event sees (they are released as of each event's record time), depends on what the last
fetch happened to return. `order_inputs_by_time` makes the application's consumer pop, over
all its partitions, the message with the lowest (record time, partition, topic), once every
partition has a message buffered or is known to be idle: two replays of one log, with one
assignment, then process its events in one order.

A partition can look busy without ever delivering: its records expired while its position
is unknown, its leader is away, or an open transaction holds its end. Such a partition is
waited for at most ``max_wait_s`` while others have records, then passed over (with a
warning) until it delivers again: one stuck partition never stops the process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import TopicPartition
from quixstreams import Application
from quixstreams.internal_consumer.buffering import Idleness, InternalConsumerBuffer, PartitionBufferGroup

from .exceptions import CartstreamError

__all__ = ["TimeOrderedBuffer", "order_inputs_by_time"]

log = logging.getLogger(__name__)


class TimeOrderedBuffer(InternalConsumerBuffer):
    """Quix's consumer buffer, popping in record-time order across partition numbers too.

    Parameters
    ----------
    max_wait_s
        How long an empty partition not known to be idle holds the others back.
    ends
        ``ends(topic, partition) -> (high watermark, position)`` as the consumer last heard
        them: a partition whose last buffered record was just taken is then known at once
        to be idle or not, instead of after the next fetch.
    """

    def __init__(self, max_wait_s: float, max_partition_buffer_size: int = 10_000,
                 ends: Callable[[str, int], tuple[int, int]] | None = None, clock=time.monotonic):
        super().__init__(max_partition_buffer_size=max_partition_buffer_size)
        self.max_wait_s = max_wait_s
        self._ends = ends
        self._clock = clock
        self._waiting_since: dict[tuple[str, int], float] = {}  # empty, not idle partitions: since when
        self._passed_over: set[tuple[str, int]] = set()

    def assign_partitions(self, topic_partitions) -> None:
        super().assign_partitions(topic_partitions)
        for tp in topic_partitions:  # a partition assigned anew is waited for afresh
            self._waiting_since.pop((tp.topic, tp.partition), None)
            self._passed_over.discard((tp.topic, tp.partition))

    def pop(self):
        ready, wait = [], False
        for group in self._partition_groups.values():
            for buffer in group._partition_buffers.values():  # noqa: SLF001 (Quix has no public view)
                if not buffer.empty():
                    ready.append(buffer)
                    self._delivered(buffer)
                elif self._idle(buffer):
                    self._delivered(buffer)
                else:
                    wait = self._still_waiting(buffer) or wait
        if wait or not ready:
            return None
        return min(ready, key=lambda b: (b.next_timestamp, b.partition, b.topic)).popleft()

    def _idle(self, buffer) -> bool:
        if buffer.idleness() == Idleness.UNKNOWN and self._ends is not None:
            # Quix forgets a partition's end when its last buffered record is taken.
            high_watermark, position = self._ends(buffer.topic, buffer.partition)
            buffer.set_high_watermark(high_watermark)
            buffer.set_position(position)
        return buffer.idleness() == Idleness.IDLE

    def _delivered(self, buffer) -> None:
        key = (buffer.topic, buffer.partition)
        self._waiting_since.pop(key, None)
        self._passed_over.discard(key)

    def _still_waiting(self, buffer) -> bool:
        key = (buffer.topic, buffer.partition)
        now = self._clock()
        if now - self._waiting_since.setdefault(key, now) < self.max_wait_s:
            return True
        if key not in self._passed_over:
            self._passed_over.add(key)
            log.warning("input %s[%d] has said nothing for %.1f s: reading the other partitions without it, "
                        "out of record-time order until it delivers", key[0], key[1], self.max_wait_s)
        return False


def order_inputs_by_time(app: Application, max_wait_s: float) -> None:
    """Make ``app``'s consumer process its merged inputs in one record-time order across all
    its partitions (before the application runs: the buffer holds no partition yet)."""
    consumer = app._consumer  # noqa: SLF001 (the buffer is built by Quix's consumer, with no hook)
    buffer = getattr(consumer, "_buffer", None)
    if (not isinstance(buffer, InternalConsumerBuffer) or not hasattr(buffer, "_partition_groups")
            or not hasattr(consumer, "_max_partition_buffer_size")
            or not hasattr(PartitionBufferGroup(partition=0, max_size=1), "_partition_buffers")):
        raise CartstreamError("this quixstreams release buffers its input differently; cartstream cannot read "
                              "its partitions in record-time order (tested with quixstreams 3.28)")

    def ends(topic: str, partition: int) -> tuple[int, int]:
        tp = TopicPartition(topic, partition)
        _, high_watermark = consumer.get_watermark_offsets(tp, cached=True)
        [position] = consumer.position([tp])
        return high_watermark, position.offset

    consumer._buffer = TimeOrderedBuffer(  # noqa: SLF001
        max_wait_s, max_partition_buffer_size=consumer._max_partition_buffer_size, ends=ends)  # noqa: SLF001
