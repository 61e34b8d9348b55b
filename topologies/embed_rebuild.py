"""`cartstream embed --rebuild`: re-embed the live catalog with another model, then switch to it.

Steps, each safe to repeat after a crash (the transactional id is fixed per deployment,
so starting a rebuild also fences one that is still running):

1. read `item-vectors`: which vectors the new model already has (a re-run embeds only
   what is missing) and which model the deployment serves now;
2. read `menu-items` to its end: the live catalog;
3. embed and publish, in one transaction per batch, every live item whose latest
   `item-vectors` record is not the new model's vector of its current menu record;
   readers index these beside the active model's vectors and do not search them;
4. read the menu changes made meanwhile and publish those the same way, until none is left;
5. make the new model active on `embedding-models`, with the `item-vectors` offsets that
   hold its vectors and the `menu-items` offsets it embedded. Readers switch once they
   have read that far; the live embedder stops, and once restarted with the new model it
   redoes the menu changes the old one committed after step 4.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaException, Producer

from ..models.embedder import TextEmbedder
from ..operators.item_text import item_text, text_hash
from ..operators.validation import Accepted, validate_record
from ..operators.vectorize import KnownVector, vectorize
from ..schemas import ItemVector, MenuItem
from .clients import client_config
from .embedding_models import ModelWatch, active_record, produce_active
from .exceptions import BrokerUnavailableError, EmbeddingModelMismatch
from .table_reader import TableReader
from .settings import Settings
from .topics import admin_client, existing_topics, require_topics

Positions = dict[int, int]


@dataclasses.dataclass
class VectorLog:
    """What `item-vectors` holds: the new model's vectors, and the latest record's facts per item."""

    known: dict[str, KnownVector] = dataclasses.field(default_factory=dict)
    latest: dict[str, tuple[str, str, int]] = dataclasses.field(default_factory=dict)  # model, text hash, event time
    dims: dict[str, int] = dataclasses.field(default_factory=dict)  # model -> vector length

    def apply(self, model_id: str, key: str, value: bytes | None) -> None:
        if value is None:
            self.known.pop(key, None)
            self.latest.pop(key, None)
            return
        v = ItemVector.from_json(value)
        self.latest[key] = (v.model_id, v.text_hash, v.event_time)
        self.dims[v.model_id] = v.dim
        if v.model_id == model_id:
            self.known[key] = KnownVector(v.text_hash, v.model_id, v.vector_array())

    def is_current(self, model_id: str, item: MenuItem) -> bool:
        """Whether the item's latest record is already `model_id`'s vector of this menu record."""
        return self.latest.get(item.item_id) == (model_id, text_hash(item_text(item.model_dump())), item.event_time)

    def served_models(self, model_id: str) -> set[str]:
        """The models other than `model_id` that some item's latest record is a vector of."""
        return {model for model, _, _ in self.latest.values()} - {model_id}


@dataclasses.dataclass
class RebuildReport:
    """What a rebuild did."""

    model_id: str
    items: int
    written: int
    embedded: int
    seconds: float
    already_active: bool = False


def read_topic(settings: Settings, name: str, handler: Callable[[str, bytes | None], None],
               start: Positions) -> Positions:
    """Apply the records of topic `name` from `start` (partition -> offset) to its current end;
    returns the next offset of every partition."""
    topic = settings.topic(name)
    reader = TableReader(settings, {topic: handler}, threading.Lock(),
                         start_offsets={(topic, p): o for p, o in start.items()}).start()
    try:
        if not reader.wait_caught_up(settings.tables_timeout_s):
            raise BrokerUnavailableError(f"{topic} could not be read to its end within {settings.tables_timeout_s:g}s")
    finally:
        reader.stop()
    partitions = existing_topics(admin_client(settings))[topic]
    return {p: reader.positions.get((topic, p), start.get(p, 0)) for p in range(partitions)}


def menu_changes(settings: Settings, start: Positions) -> tuple[dict[str, MenuItem | None], Positions]:
    """The latest valid `menu-items` record per item after `start` (None: deleted), and the end."""
    changes: dict[str, MenuItem | None] = {}

    def keep(key: str, value: bytes | None) -> None:
        checked = validate_record("menu-items", key.encode(), value)
        if isinstance(checked, Accepted):  # the live embedder dead-letters the rest
            changes[key] = None if checked.is_tombstone else checked.message

    return changes, read_topic(settings, "menu-items", keep, start)


class Rebuild:
    """Re-embeds the catalog with `model` and makes it the active embedding model.

    Parameters
    ----------
    settings
        Broker, topic prefix, group prefix.
    model
        The embedder of the new model; its manifest's model id names the vectors.
    batch_size
        Items per transaction on `item-vectors`.
    progress
        Called with one line of progress now and then.
    """

    def __init__(self, settings: Settings, model: TextEmbedder, batch_size: int = 256,
                 progress: Callable[[str], None] = print):
        self.settings = settings
        self.model = model
        self.batch_size = batch_size
        self.progress = progress
        self.delivered: Positions = {}
        self.producer = Producer(client_config(settings, {
            "transactional.id": settings.consumer_group("embed-rebuild"),
            "linger.ms": 20,
        }))

    def run(self) -> RebuildReport:
        started = time.monotonic()
        require_topics(self.settings)
        model_id = self.model.model_id
        watch = ModelWatch(self.settings).catch_up(self.settings.tables_timeout_s)
        watch.close()
        active = watch.active
        if active is not None and active.model_id == model_id:
            return RebuildReport(model_id, active.items, 0, 0, time.monotonic() - started, already_active=True)
        log = VectorLog()
        self.progress(f"reading {self.settings.topic('item-vectors')}")
        vector_end = read_topic(self.settings, "item-vectors", lambda k, v: log.apply(model_id, k, v), {})
        self.producer.init_transactions(30)
        if active is not None and active.previous_model_id == model_id:
            # Back to the model the active one replaced: readers ignore that model's vectors
            # until told it is retired no longer.
            unretire = active.model_copy(update={"previous_model_id": None})
            self._transaction(lambda: produce_active(self.producer, self.settings, unretire))
        previous = active.model_id if active is not None else self._adopt_served_model(log, model_id)

        self.progress(f"reading {self.settings.topic('menu-items')}")
        changes, menu_end = menu_changes(self.settings, {})
        catalog = {item_id: item for item_id, item in changes.items() if item is not None}
        todo = [(item_id, item) for item_id, item in catalog.items() if not log.is_current(model_id, item)]
        self.progress(f"{len(catalog)} live items, {len(catalog) - len(todo)} already have a {model_id} vector")
        written, embedded = self._publish(todo, log, time.monotonic())
        while True:
            changes, end = menu_changes(self.settings, menu_end)
            if not changes:
                break
            self.progress(f"{len(changes)} menu changes arrived meanwhile")
            menu_end = end
            for item_id, item in changes.items():
                if item is None:
                    catalog.pop(item_id, None)
                else:
                    catalog[item_id] = item
            more = self._publish(list(changes.items()), log, time.monotonic())
            written, embedded = written + more[0], embedded + more[1]

        offsets = {p: max(o, self.delivered.get(p, 0)) for p, o in vector_end.items()}
        record = active_record(model_id, self.model.dim, len(catalog), previous, offsets, menu_end)
        self._transaction(lambda: produce_active(self.producer, self.settings, record))
        return RebuildReport(model_id, len(catalog), written, embedded, time.monotonic() - started)

    def _adopt_served_model(self, log: VectorLog, model_id: str) -> str | None:
        """With no active model recorded yet, make the one `item-vectors` holds active first,
        so readers that start mid-rebuild never take the new model for it."""
        served = log.served_models(model_id)
        if len(served) > 1:
            raise EmbeddingModelMismatch(
                f"item-vectors holds vectors of {', '.join(sorted(served))} and {self.settings.topic('embedding-models')} "
                "names none active; run the embedder with the one to keep, then rebuild")
        if not served:
            return None
        (model,) = served
        record = active_record(model, log.dims[model], len(log.latest))
        self._transaction(lambda: produce_active(self.producer, self.settings, record))
        return model

    def _publish(self, changes: list[tuple[str, MenuItem | None]], log: VectorLog,
                 started: float) -> tuple[int, int]:
        """Embed and publish changes in transactions; (records written, texts embedded)."""
        written = embedded = 0
        last_report = time.monotonic()
        for start in range(0, len(changes), self.batch_size):
            batch = changes[start : start + self.batch_size]
            result = vectorize(batch, log.known, self.model.embed_many, self.model.model_id)
            self._transaction(lambda: self._produce(result.records))
            written, embedded = written + len(result.records), embedded + result.embedded
            now = time.monotonic()
            if start == 0 or now - last_report >= 2 or start + self.batch_size >= len(changes):
                rate = (start + len(batch)) / max(now - started, 1e-9)
                left = (len(changes) - start - len(batch)) / max(rate, 1e-9)
                self.progress(f"{start + len(batch)}/{len(changes)} items, {rate:.0f} items/s, "
                              f"{embedded} embedded, about {left:.0f} s left")
                last_report = now
        return written, embedded

    def _produce(self, records: list[tuple[str, ItemVector | None]]) -> None:
        topic = self.settings.topic("item-vectors")
        for item_id, vector in records:
            self.producer.produce(topic, key=item_id.encode(), value=None if vector is None else vector.to_json(),
                                  on_delivery=self._delivered)

    def _delivered(self, error, msg) -> None:
        if error is None:
            self.delivered[msg.partition()] = max(self.delivered.get(msg.partition(), 0), msg.offset() + 1)

    def _transaction(self, produce: Callable[[], None]) -> None:
        try:
            self.producer.begin_transaction()
            produce()
            self.producer.flush(30)  # serves the delivery reports that carry the offsets
            self.producer.commit_transaction(30)
        except KafkaException as exc:
            error = exc.args[0]
            if not error.fatal():
                self.producer.abort_transaction(30)
            raise BrokerUnavailableError(f"publishing the rebuild failed: {error.str()}; run it again") from None
