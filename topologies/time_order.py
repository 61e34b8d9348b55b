"""Read every input partition of a process in one record-time order, not only those of one number.

Quix Streams aligns merged inputs by timestamp only within a partition number: `clicks`
partition 0 with `carts` partition 0. Between numbers it pops whichever group comes first
with a message, so the order of events of different partitions, and with it the tables an
event sees (they are released as of each event's record time), depends on what the last
fetch happened to return. `order_inputs_by_time` makes the application's consumer pop, over
all its partitions, the message with the lowest (record time, partition, topic), once every
partition has a message buffered or is known to be idle: two replays of one log, with one
assignment, then process its events in one order.
"""

from __future__ import annotations

from quixstreams import Application
from quixstreams.internal_consumer.buffering import Idleness, InternalConsumerBuffer

__all__ = ["TimeOrderedBuffer", "order_inputs_by_time"]


class TimeOrderedBuffer(InternalConsumerBuffer):
    """Quix's consumer buffer, popping in record-time order across partition numbers too."""

    def pop(self):
        buffers = [buffer for group in self._partition_groups.values()
                   for buffer in group._partition_buffers.values()]  # noqa: SLF001 (Quix has no public view)
        ready = []
        for buffer in buffers:
            if not buffer.empty():
                ready.append(buffer)
            elif buffer.idleness() != Idleness.IDLE:
                return None  # it may yet hold an earlier record: wait for the next fetch
        if not ready:
            return None
        return min(ready, key=lambda b: (b.next_timestamp, b.partition, b.topic)).popleft()


def order_inputs_by_time(app: Application) -> None:
    """Make ``app``'s consumer process its merged inputs in one record-time order across all
    its partitions (before the application runs: the buffer holds no partition yet)."""
    consumer = app._consumer  # noqa: SLF001 (the buffer is built by Quix's consumer, with no hook)
    ordered = TimeOrderedBuffer(max_partition_buffer_size=consumer._max_partition_buffer_size)  # noqa: SLF001
    consumer._buffer = ordered  # noqa: SLF001

