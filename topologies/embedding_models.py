"""The `embedding-models` topic: which embedding model is active, followed and written.

Its one record (see `schemas/embedding_model.py`) is written by `cartstream embed
--rebuild`, and once by the first embedder of a deployment. The live embedder follows it
to refuse serving a model that is not active and to stop when a rebuild switches models;
readers apply it in `global_tables`.
"""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from ..schemas import EmbeddingModel
from ..schemas.embedding_model import ACTIVE_KEY
from .clients import client_config
from .exceptions import BrokerUnavailableError, EmbeddingModelMismatch
from .settings import Settings
from .topics import missing_topic

TOPIC = "embedding-models"


def active_record(model_id: str, dim: int, items: int, previous_model_id: str | None = None,
                  vector_offsets: dict[int, int] | None = None,
                  menu_offsets: dict[int, int] | None = None) -> EmbeddingModel:
    """An `embedding-models` record that makes `model_id` active now; offsets by partition number."""
    return EmbeddingModel(model_id=model_id, previous_model_id=previous_model_id, dim=dim, items=items,
                          vector_offsets={str(p): o for p, o in sorted((vector_offsets or {}).items())},
                          menu_offsets={str(p): o for p, o in sorted((menu_offsets or {}).items())},
                          event_time=int(time.time() * 1000))


def produce_active(producer: Producer, settings: Settings, record: EmbeddingModel) -> None:
    """Produce the record on `embedding-models` (inside the caller's transaction)."""
    producer.produce(settings.topic(TOPIC), key=ACTIVE_KEY.encode(), value=record.to_json())


def refuse_unless_active(model_id: str, active: EmbeddingModel | None) -> None:
    """Raise when another model is active: vectors of two models must never meet in one index."""
    if active is not None and active.model_id != model_id:
        raise EmbeddingModelMismatch(
            f"the embedder's model {model_id} is not the active embedding model {active.model_id}; run it with "
            f"CARTSTREAM_EMBED_MODEL={active.model_id}, or make {model_id} active with: "
            f"cartstream embed --rebuild --model {model_id}")


class ModelWatch:
    """The active model on `embedding-models`, read to the end once, then polled.

    Parameters
    ----------
    settings
        Where the broker is and the topic prefix.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.topic = settings.topic(TOPIC)
        self.active: EmbeddingModel | None = None
        self.consumer = Consumer(client_config(settings, {
            "group.id": f"{settings.group_prefix}-embedding-models",  # never commits: assigned, not subscribed
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }))

    def catch_up(self, timeout: float) -> "ModelWatch":
        """Read the topic from the beginning to its current end."""
        metadata = self.consumer.list_topics(self.topic, timeout=10)
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            raise missing_topic(self.settings, self.topic)
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in topic.partitions])
        pending, deadline = set(topic.partitions), time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(f"{self.topic} could not be read to its end within {timeout:g}s")
            pending -= self._read(0.2)
        return self

    def poll(self) -> None:
        """Apply whatever arrived since, without waiting."""
        self._read(0)

    def close(self) -> None:
        self.consumer.close()

    def _read(self, timeout: float) -> set[int]:
        """Apply the records at hand; the partitions whose end was reached."""
        ended = set()
        for msg in self.consumer.consume(num_messages=100, timeout=timeout):
            error = msg.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                ended.add(msg.partition())
            elif error is not None:
                raise BrokerUnavailableError(f"reading {self.topic}: {error.str()}")
            elif msg.value() is not None:
                self.active = EmbeddingModel.from_json(msg.value())
        return ended
