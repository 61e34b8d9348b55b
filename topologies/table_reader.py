"""Reading compacted topics into memory: a background consumer that applies each record to a handler.

Like a Kafka Streams GlobalKTable, a reader reads every partition of its topics from the
beginning (or from a snapshot's offsets) and keeps applying new records as they arrive,
under a lock the stream thread shares, so the stream never sees an update half-applied.

A stream that needs replays to rebuild what the live run saw uses a *holding* reader: it
buffers records, and the stream releases, before each event, the records with an earlier
record time than the event's (`release`). The table an event sees then depends on the
log, not on how fast the reader ran, so replaying the same log gives the same results.
Live, records are also released once held `hold_max_s` (so a producer's skewed clock or a
quiet stream cannot hold tables back for long); a replay holds them until their time comes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from .clients import client_config, consume_available
from .exceptions import BrokerUnavailableError
from .settings import Settings
from .topics import missing_topic

__all__ = ["Handler", "TableReader", "read_to_end"]

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes | None], None]
Positions = dict[tuple[str, int], int]


@dataclasses.dataclass(frozen=True, slots=True)
class _Held:
    time: int  # record time, raised to the partition's latest so a partition is applied in offset order
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    read_at: float


class TableReader:
    """A background consumer that applies every record of some topics to handlers.

    Parameters
    ----------
    hold
        Buffer records until `release` (or `hold_max_s`) lets them through; off: apply on read.
    hold_max_s
        With `hold`, apply a record anyway once it was held this long; None: only `release` does.
    """

    def __init__(self, settings: Settings, handlers: dict[str, Handler], lock: threading.Lock,
                 start_offsets: Positions | None = None,
                 after_batch: Callable[[Positions], None] | None = None,
                 hold: bool = False, hold_max_s: float | None = None):
        self.settings = settings
        self.handlers = handlers
        self.lock = lock
        self.start_offsets = start_offsets or {}
        self.after_batch = after_batch
        self.hold = hold
        self.hold_max_s = hold_max_s
        self.positions: Positions = dict(self.start_offsets)
        self.caught_up = threading.Event()
        self._held: dict[tuple[str, int], deque[_Held]] = {}
        self._read_upto: Positions = {}
        self._partitions: list[TopicPartition] = []
        self._applied = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="global-tables", daemon=True)
        self.error: Exception | None = None
        self.consumer = Consumer(client_config(settings, {
            "group.id": f"{settings.group_prefix}-global-tables",  # never commits: offsets are not kept
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }))

    def start(self) -> TableReader:
        metadata = self.consumer.list_topics(timeout=10)
        partitions = []
        for topic in self.handlers:
            if topic not in metadata.topics or metadata.topics[topic].error is not None:
                raise missing_topic(self.settings, topic)
            partitions += [TopicPartition(topic, p, self.start_offsets.get((topic, p), OFFSET_BEGINNING))
                           for p in metadata.topics[topic].partitions]
        self._pending = {(tp.topic, tp.partition) for tp in partitions}
        self._partitions = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        self.consumer.assign(partitions)
        self._thread.start()
        return self

    def wait_caught_up(self, timeout: float) -> bool:
        """Block until every partition was read to its end once (or the reader failed)."""
        ready = self.caught_up.wait(timeout)
        if self.error is not None:
            raise self.error
        return ready

    def catch_up(self, timeout: float) -> bool:
        """Wait until every record on the broker now has been read (not necessarily applied).

        For an event that names something the tables lack: its table record may have been
        published a moment before it and not read yet. False if `timeout` passed first.
        """
        ends = {(tp.topic, tp.partition): self.consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)[1]
                for tp in self._partitions}
        deadline = time.monotonic() + timeout
        while any(self._read_upto.get(tp, self.start_offsets.get(tp, 0)) < end for tp, end in ends.items()):
            if time.monotonic() > deadline or self.error is not None:
                return False
            time.sleep(0.002)
        return True

    def release(self, before_ms: int) -> None:
        """Apply the held records with a record time before `before_ms` (the stream's next event)."""
        with self.lock:
            self._release(before_ms)
            self._after_batch()

    def release_key(self, topic: str, key: bytes, wanted: Callable[[], bool] = lambda: True) -> bool:
        """Apply now the first held record of ``key`` in ``topic`` that is not a tombstone,
        whatever its record time, if ``wanted()`` (asked under the lock) still holds; whether
        one was applied.

        For an event naming something the tables know only from a later record: the log's
        earlier records of that key were compacted away (a replay from long ago), or its
        producer's clock ran ahead. The record stays held and is applied again when its time
        comes, so the reader's positions and order are unchanged.
        """
        with self.lock:
            if not wanted():
                return False
            for (held_topic, _), queue in self._held.items():
                if held_topic != topic:
                    continue
                record = next((r for r in queue if r.key == key and r.value is not None), None)
                if record is not None:
                    self._handle(record.topic, record.partition, record.offset, record.key, record.value)
                    return True
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                messages = consume_available(self.consumer, 500, timeout=0.2)
                with self.lock:
                    for msg in messages:
                        self._read(msg)
                    if self.hold and self.hold_max_s is not None:
                        self._release(None)
                    self._after_batch()
        except Exception as exc:  # surfaced to the stream thread by wait_caught_up / health
            log.exception("global table reader failed")
            self.error = exc
            self.caught_up.set()
        finally:
            self.consumer.close()

    def _read(self, msg) -> None:
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._read_upto[(msg.topic(), msg.partition())] = msg.offset()
                self._pending.discard((msg.topic(), msg.partition()))
                if not self._pending:
                    self.caught_up.set()
                return
            raise BrokerUnavailableError(f"reading {msg.topic()}: {error.str()}")
        self._read_upto[(msg.topic(), msg.partition())] = msg.offset() + 1
        if not self.hold:
            self._apply(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value())
            return
        queue = self._held.setdefault((msg.topic(), msg.partition()), deque())
        record_time = max(msg.timestamp()[1], queue[-1].time if queue else 0)
        queue.append(_Held(record_time, msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                           time.monotonic()))

    def _release(self, before_ms: int | None) -> None:
        horizon = None if self.hold_max_s is None else time.monotonic() - self.hold_max_s
        due = []
        for queue in self._held.values():
            while queue and ((before_ms is not None and queue[0].time < before_ms)
                             or (horizon is not None and queue[0].read_at <= horizon)):
                due.append(queue.popleft())
        # One order for every run over the same log: record time, then topic, partition, offset.
        due.sort(key=lambda r: (r.time, r.topic, r.partition, r.offset))
        for record in due:
            self._apply(record.topic, record.partition, record.offset, record.key, record.value)

    def _apply(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.positions[(topic, partition)] = offset + 1
        self._applied = True
        self._handle(topic, partition, offset, key, value)

    def _handle(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        try:
            self.handlers[topic](key.decode() if key is not None else "", value)
        except Exception as exc:  # one bad record in a table topic must not stop the tables
            log.warning("skipped a record of %s[%s]@%s: %s", topic, partition, offset, exc)

    def _after_batch(self) -> None:
        if self._applied and self.after_batch is not None:
            self.after_batch(self.positions)
        self._applied = False

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def read_to_end(settings: Settings, topic: str, handler: Handler) -> None:
    """Apply every record of `topic` (full name), from the beginning to its current end, then stop."""
    reader = TableReader(settings, {topic: handler}, threading.Lock()).start()
    try:
        if not reader.wait_caught_up(settings.tables_timeout_s):
            raise BrokerUnavailableError(f"{topic} could not be read to its end in time")
    finally:
        reader.stop()
