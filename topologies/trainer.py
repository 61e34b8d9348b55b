"""trainer: `training-examples` -> River `learn_one` -> versioned snapshots on `model-snapshots`.

Unlike the other topologies, the trainer's progress is its snapshot, not a consumer-group
commit: every snapshot carries the next input offset of every partition, and a restarted
trainer loads the latest snapshots and seeks there, so each example is learnt exactly once.
A snapshot is published every `snapshot_every` examples of a model, every
`snapshot_interval_s` seconds for a model that learnt anything since, and on shutdown.
"""

from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from pydantic import ValidationError

from ..operators.training import RankerTraining
from ..operators.validation import dead_letter_for
from ..schemas import ModelSnapshot, TrainingExample
from .clients import client_config
from .exceptions import BrokerUnavailableError
from .log_points import LogPoint
from .table_reader import TableReader
from .observability import Metrics
from .service import serve
from .settings import Settings
from .topics import missing_topic

NAME = "trainer"
log = logging.getLogger(__name__)


class LatestSnapshots:
    """The newest snapshot of every model name, kept current from the compacted topic."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.Lock()
        self._latest: dict[str, ModelSnapshot] = {}
        self.reader = TableReader(settings, {settings.topic("model-snapshots"): self._keep}, self.lock)

    def _keep(self, key: str, value: bytes | None) -> None:
        if value is None:
            self._latest.pop(key, None)
            return
        snapshot = ModelSnapshot.from_json(value)
        current = self._latest.get(snapshot.model_name)
        if current is None or snapshot.version > current.version:
            self._latest[snapshot.model_name] = snapshot

    def start(self) -> "LatestSnapshots":
        self.reader.start()
        if not self.reader.wait_caught_up(self.settings.tables_timeout_s):
            raise BrokerUnavailableError("model-snapshots could not be read to its end in time")
        return self

    def get(self) -> dict[str, ModelSnapshot]:
        with self.lock:
            return dict(self._latest)

    def stop(self) -> None:
        self.reader.stop()


def latest_snapshots(settings: Settings) -> dict[str, ModelSnapshot]:
    """The newest snapshot of every model name, read once."""
    snapshots = LatestSnapshots(settings).start()
    try:
        return snapshots.get()
    finally:
        snapshots.stop()


class Trainer:
    """The trainer's loop: consume examples, learn, publish due snapshots."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None):
        self.settings = settings
        self.metrics = metrics or Metrics(NAME)
        self.training = RankerTraining(snapshot_every=settings.snapshot_every)
        # Kept running: a rollback published by `cartstream model rollback` is adopted live.
        self.snapshots = LatestSnapshots(settings).start()
        self.topic = settings.topic("training-examples")
        self.consumer = Consumer(client_config(settings, {
            "group.id": settings.consumer_group(NAME),
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            # A snapshot's offsets deleted by retention meanwhile: learn from the oldest record
            # left, not from the end (the per-model guard keeps anything from being learnt twice).
            "auto.offset.reset": "earliest",
        }))
        self.producer = Producer(client_config(settings, {"enable.idempotence": True,
                                  "message.max.bytes": 4 * 1024 * 1024}))
        self.stopping = threading.Event()
        self.published: list[ModelSnapshot] = []
        self.read_to: dict[tuple[str, int], int] = {}  # past the furthest record read, per partition
        self._adopt_newer_snapshots()

    def _adopt_newer_snapshots(self) -> None:
        """Continue each model from a newer snapshot than its own (a rollback, a replayed
        model), reading again what was read past the snapshot's offsets."""
        for name, snapshot in self.snapshots.get().items():
            ranker = self.training.rankers.get(name)
            if ranker is None or snapshot.version > ranker.version:
                self.training.resume(snapshot)
                back = self.training.rewind(snapshot)
                for (topic, partition), offset in sorted(back.items()):
                    self.consumer.seek(TopicPartition(topic, partition, offset))
                log.info("continuing %s from version %d%s", name, snapshot.version,
                         f", reading again from {LogPoint('offsets', offsets=dict(sorted(back.items()))).describe()}"
                         if back else "")

    def assign(self) -> None:
        metadata = self.consumer.list_topics(self.topic, timeout=10)
        if self.topic not in metadata.topics or metadata.topics[self.topic].error is not None:
            raise missing_topic(self.settings, self.topic)
        starts = self.training.begin(self.topic, sorted(metadata.topics[self.topic].partitions))
        self.consumer.assign([
            TopicPartition(self.topic, p, OFFSET_BEGINNING if start is None else start) for p, start in starts.items()
        ])

    def run(self, idle_timeout: float | None = None) -> None:
        """Train until stopped (SIGTERM, SIGINT, `stop()`), or until idle for `idle_timeout` seconds."""
        self.assign()
        last_snapshot = last_message = time.monotonic()
        try:
            while not self.stopping.is_set():
                messages = self.consumer.consume(num_messages=500, timeout=0.5)
                for msg in messages:
                    self._learn(msg)
                # After the batch: a rewind seeks, and must not be followed by older reads.
                self._adopt_newer_snapshots()
                now = time.monotonic()
                if messages:
                    last_message = now
                if now - last_snapshot >= self.settings.snapshot_interval_s:
                    self.publish(self.training.pending())
                    last_snapshot = now
                if idle_timeout is not None and now - last_message >= idle_timeout:
                    break
        finally:
            self.publish(self.training.pending())
            self.producer.flush(30)
            self.consumer.close()
            self.snapshots.stop()

    def _learn(self, msg) -> None:
        if msg.error() is not None:
            raise BrokerUnavailableError(f"reading {msg.topic()}: {msg.error().str()}")
        where = (msg.topic(), msg.partition())
        # Read again after a rewind: learnt by the adopted model only, not counted or dead-lettered twice.
        again = msg.offset() < self.read_to.get(where, 0)
        self.read_to[where] = max(self.read_to.get(where, 0), msg.offset() + 1)
        try:
            example = TrainingExample.from_json(msg.value())
        except ValidationError as exc:
            if not again:
                self._dead_letter(msg, f"schema violation: {exc.errors()[0]['msg']}")
            self.training.skip(msg.topic(), msg.partition(), msg.offset())
            return
        if not again:
            self.metrics.events.labels(self.topic).inc()
        due = self.training.learn(example.model_dump(), msg.topic(), msg.partition(), msg.offset())
        self.publish(due)

    def publish(self, names: list[str]) -> None:
        """Publish a new snapshot of each named model and wait until the broker has it."""
        for name in names:
            snapshot = self.training.snapshot(name)
            self.producer.produce(self.settings.topic("model-snapshots"), key=name, value=snapshot.to_json())
            self.metrics.model_version.labels(name).set(snapshot.version)
            self.published.append(snapshot)
            log.info("published %s version %d after %d examples", name, snapshot.version, snapshot.examples_seen)
        if names and self.producer.flush(30) != 0:
            raise BrokerUnavailableError("model snapshot not acknowledged within 30s")

    def _dead_letter(self, msg, reason: str) -> None:
        self.metrics.dead_letters.labels("schema").inc()
        letter = dead_letter_for(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), reason,
                                 int(time.time() * 1000))
        self.producer.produce(self.settings.topic("dead-letters"), key=msg.key(), value=letter.to_json())

    def stop(self, *_args) -> None:
        self.stopping.set()

    def is_stopping(self) -> bool:
        return self.stopping.is_set()


def run(settings: Settings) -> None:
    """Run the trainer until SIGTERM or SIGINT."""
    serve(Trainer(settings), settings)
