"""embedder: `menu-items` -> validate -> micro-batches (size or deadline) -> ONNX -> `item-vectors`.

Exactly-once with a transactional producer: the vectors and dead letters of a batch and
the batch's input offsets are committed in one transaction. The model runs on a worker
thread while the consumer keeps polling (partitions are paused when the next batch is
full), so a slow batch never keeps the consumer from polling. What the embedder already
published with its model (text hash and vector per item) is read back from the compacted
`item-vectors` topic at start, so unchanged text is never embedded twice, even across
restarts.

It embeds only with the active model of `embedding-models` (the first embedder of a
deployment makes its own model active) and stops with a one-line error when a rebuild
activates another. Each offset commit carries the model id; the embedder that serves the
new model redoes the menu changes that a retired one committed after the rebuild's last
read (`menu_offsets` of the switch), so none keeps an old-model vector.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from ..models.embedder import TextEmbedder
from ..operators.validation import Accepted, dead_letter_for, validate_record
from ..operators.vectorize import KnownVector, vectorize
from ..schemas import ItemVector
from .clients import client_config
from .embedding_models import ModelWatch, active_record, produce_active, refuse_unless_active
from .exceptions import BrokerUnavailableError, EmbeddingModelMismatch
from .table_reader import read_to_end
from .observability import Metrics
from .service import serve
from .settings import Settings
from .topics import require_topics

NAME = "embedder"
log = logging.getLogger(__name__)


def known_vectors(settings: Settings, model_id: str) -> dict[str, KnownVector]:
    """The latest vector of `model_id` per item on `item-vectors`: what need not be embedded again.

    Vectors of other models are skipped, not forgotten: a price change the live embedder
    publishes with the old model during a rebuild must not erase the new model's vector.
    """
    known: dict[str, KnownVector] = {}

    def keep(key: str, value: bytes | None) -> None:
        if value is None:
            known.pop(key, None)
        else:
            v = ItemVector.from_json(value)
            if v.model_id == model_id:
                known[key] = KnownVector(v.text_hash, v.model_id, v.vector_array())

    read_to_end(settings, settings.topic("item-vectors"), keep)
    return known


class Embedder:
    """The embedder's loop: poll, batch, embed off-thread, commit transactionally."""

    def __init__(self, settings: Settings, embedder: TextEmbedder, metrics: Metrics | None = None):
        self.settings = settings
        self.model = embedder
        self.metrics = metrics or Metrics(NAME)
        self.watch = ModelWatch(settings).catch_up(settings.tables_timeout_s)
        try:
            refuse_unless_active(embedder.model_id, self.watch.active)
        except EmbeddingModelMismatch:
            self.watch.close()
            raise
        self.retired = False
        self.known = known_vectors(settings, embedder.model_id)
        self.source = settings.topic("menu-items")
        self.consumer = Consumer(client_config(settings, {
            "group.id": settings.consumer_group(NAME),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": settings.session_timeout_ms,
        }))
        self.producer = Producer(client_config(settings, {
            "transactional.id": f"{settings.consumer_group(NAME)}-{uuid.uuid4().hex[:12]}",
        }))
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self.stopping = threading.Event()
        self.batches = 0
        self.pending: list = []
        self.inflight: tuple[Future, list] | None = None
        self.batch_started = time.monotonic()

    def run(self, idle_timeout: float | None = None) -> None:
        """Embed until stopped, or until idle for `idle_timeout` seconds with nothing in flight."""
        self.producer.init_transactions(30)
        if self.watch.active is None:
            self._activate_own_model()
        self.consumer.subscribe([self.source], on_assign=self._on_assign,
                                on_revoke=lambda consumer, partitions: self._drain())
        last_message = time.monotonic()
        try:
            while not self.stopping.is_set():
                # Never more than the next batch has room for: a batch holds at most embed_batch_size.
                room = max(1, self.settings.embed_batch_size - len(self.pending))
                messages = self.consumer.consume(num_messages=room, timeout=0.05)
                for msg in messages:
                    if msg.error() is not None:
                        raise BrokerUnavailableError(f"reading {msg.topic()}: {msg.error().str()}")
                    if not self.pending:
                        self.batch_started = time.monotonic()
                    self.pending.append(msg)
                if messages or self.inflight is not None or not self.consumer.assignment():
                    # A batch in flight is activity (while it runs the consumer may be paused),
                    # and so is joining the group: idle counts from the first assignment.
                    last_message = time.monotonic()
                self._step()
                self._refuse_if_retired()
                if (idle_timeout is not None and not self.pending and self.inflight is None
                        and time.monotonic() - last_message >= idle_timeout):
                    break
        finally:
            self._drain()
            self.consumer.close()
            self.watch.close()
            self.worker.shutdown()

    def _activate_own_model(self) -> None:
        """The first embedder of a deployment makes its model the active one."""
        record = active_record(self.model.model_id, self.model.dim, len(self.known))
        self.producer.begin_transaction()
        produce_active(self.producer, self.settings, record)
        self.producer.commit_transaction(30)
        self.watch.active = record
        log.info("embedding model %s is active", record.model_id)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start where the last commit was, or earlier where a retired model's embedder committed
        menu changes after the rebuild that made this model active had read them."""
        redo = self.watch.active.menu_offsets if self.watch.active is not None else {}
        if redo:
            for tp, done in zip(partitions, consumer.committed(partitions, timeout=30)):
                start = redo.get(str(tp.partition))
                if start is not None and done.offset > start and done.metadata != self.model.model_id:
                    log.info("redoing %s[%d] from offset %d: committed by another model's embedder",
                             tp.topic, tp.partition, start)
                    tp.offset = start
        consumer.assign(partitions)
        log.info("embedding %s partitions %s", self.source, sorted(tp.partition for tp in partitions))

    def _refuse_if_retired(self) -> None:
        """Stop, leaving the batch uncommitted, once a rebuild made another model active."""
        self.watch.poll()
        try:
            refuse_unless_active(self.model.model_id, self.watch.active)
        except EmbeddingModelMismatch:
            self.retired = True
            raise

    def _step(self) -> None:
        if self.inflight is not None and self.inflight[0].done():
            self._commit(*self.inflight)
            self.inflight = None
        due = (len(self.pending) >= self.settings.embed_batch_size or
               (self.pending and time.monotonic() - self.batch_started >= self.settings.embed_deadline_ms / 1000))
        if self.inflight is None and due:
            batch, self.pending = self.pending, []
            self.inflight = (self.worker.submit(self._process, batch), batch)
        # Backpressure: stop fetching while the next batch is full, keep polling for liveness.
        assignment = self.consumer.assignment()
        if len(self.pending) >= self.settings.embed_batch_size:
            self.consumer.pause(assignment)
        else:
            self.consumer.resume(assignment)

    def _drain(self) -> None:
        """Finish the batch in flight and the pending one, before partitions move or at stop."""
        if self.retired:
            return
        if self.inflight is not None:
            self._commit(*self.inflight)
            self.inflight = None
        if self.pending:
            batch, self.pending = self.pending, []
            self._commit(self.worker.submit(self._process, batch), batch)

    def _process(self, batch: list) -> list[tuple[str, str, bytes | None, bytes | None]]:
        """(topic, ...) records for one batch: dead letters and item vectors, in input order."""
        out, accepted = [], []
        for msg in batch:
            checked = validate_record("menu-items", msg.key(), msg.value())
            if isinstance(checked, Accepted):
                accepted.append((checked.key, checked.message))
            else:
                self.metrics.dead_letters.labels(checked.kind).inc()
                letter = dead_letter_for(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                                         checked.reason, int(time.time() * 1000))
                out.append((self.settings.topic("dead-letters"), msg.key(), letter.to_json()))
        result = vectorize(accepted, self.known, self.model.embed_many, self.model.model_id)
        self.metrics.events.labels(self.source).inc(len(batch))
        self.metrics.embedded.inc(result.embedded)
        for item_id, vector in result.records:
            out.append((self.settings.topic("item-vectors"), item_id.encode(),
                        None if vector is None else vector.to_json()))
        return out

    def _commit(self, future: Future, batch: list) -> None:
        records = future.result()
        self._refuse_if_retired()
        offsets: dict[tuple[str, int], int] = {}
        for msg in batch:
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        try:
            self.producer.begin_transaction()
            for topic, key, value in records:
                self.producer.produce(topic, key=key, value=value)
            self.producer.send_offsets_to_transaction(
                [TopicPartition(t, p, o, metadata=self.model.model_id) for (t, p), o in offsets.items()],
                self.consumer.consumer_group_metadata(), 30)
            self.producer.commit_transaction(30)
        except KafkaException as exc:
            self.producer.abort_transaction(30)
            raise BrokerUnavailableError(f"committing an embedding batch failed: {exc.args[0].str()}") from None
        self.batches += 1

    def stop(self, *_args) -> None:
        self.stopping.set()

    def is_stopping(self) -> bool:
        return self.stopping.is_set()


def build(settings: Settings) -> Embedder:
    """The embedder with its model loaded and its memory of published vectors."""
    require_topics(settings)
    model = TextEmbedder(settings.embed_model_dir(), threads=settings.embed_threads)
    return Embedder(settings, model)


def run(settings: Settings) -> None:
    """Run the embedder until SIGTERM or SIGINT."""
    serve(build(settings), settings)
