"""`cartstream replay trainer`: learn every model again from `training-examples`, then hand it over.

The trainer keeps its progress in its snapshots, not in a consumer group, so its replay
needs no generation. It learns fresh models from `--from` to the end of the log as it was
when the replay started, publishing nothing on the way, then publishes each model it
learnt as that model's newest version, covering the offsets it reached. Recommenders switch
to it as to any new version. A running trainer adopts it, reads again what came after its
offsets (examples the live trainer had learnt into the model it replaces) and learns on; a
trainer started later resumes from it. Nothing is learnt twice and nothing is skipped.

A crashed replay has published nothing: running the same command again starts it over.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from confluent_kafka import Consumer, KafkaError, TopicPartition
from pydantic import ValidationError

from ..operators.training import RankerTraining
from ..schemas import ModelSnapshot, TrainingExample
from .clients import client_config
from .exceptions import BrokerUnavailableError, CartstreamError
from .log_points import LogPoint, resolve_point
from .model_admin import publish_snapshots
from .settings import Settings
from .topics import missing_topic
from .trainer import latest_snapshots

__all__ = ["replay_trainer"]

PROGRESS_EVERY_S = 1.0


def replay_trainer(settings: Settings, start: LogPoint, out: TextIO = sys.stderr) -> list[ModelSnapshot]:
    """Learn fresh models from `start` to the log's end; publish them as the newest versions."""
    topic = settings.topic("training-examples")
    consumer = Consumer(client_config(settings, {
        "group.id": f"{settings.consumer_group('trainer')}-replay",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        # Records deleted by retention since the bounds were read: start at the oldest left.
        "auto.offset.reset": "earliest",
    }))
    # No snapshot is due on the way: the models are published once, when they are whole.
    training = RankerTraining(snapshot_every=0)
    try:
        starts, ends = _bounds(consumer, settings, topic, start)
        for partition, offset in starts.items():
            training.offsets[(topic, partition)] = offset
        _learn_to_end(consumer, training, topic, starts, ends, out)
    finally:
        consumer.close()
    if not training.rankers:
        raise CartstreamError(f"no training examples on {topic} from {start.describe()}: no model to publish")
    newest = latest_snapshots(settings)
    for name, ranker in training.rankers.items():
        # Above the live versions, so recommenders and the live trainer take the new one.
        ranker.version = newest[name].version if name in newest else 0
    return publish_snapshots(settings, [training.snapshot(name) for name in sorted(training.rankers)])


def _bounds(consumer: Consumer, settings: Settings, topic: str,
            start: LogPoint) -> tuple[dict[int, int], dict[int, int]]:
    """Per partition of `topic`, the offset `start` names and the log's end now."""
    metadata = consumer.list_topics(topic, timeout=10)
    if topic not in metadata.topics or metadata.topics[topic].error is not None:
        raise missing_topic(settings, topic)
    partitions = [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
    # A snapshot claiming an offset the log does not hold would make trainers skip examples:
    # resolve_point refuses a start outside the log.
    starts = resolve_point(consumer, partitions, start,
                           lambda t: settings.topic(t) if t == "training-examples" else t, start=True)
    ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1] for tp in partitions}
    return {p: offset for (_, p), offset in starts.items()}, ends


def _learn_to_end(consumer: Consumer, training: RankerTraining, topic: str, starts: dict[int, int],
                  ends: dict[int, int], out: TextIO) -> None:
    pending = {p for p in starts if starts[p] < ends[p]}
    total = sum(ends[p] - starts[p] for p in pending)
    consumer.assign([TopicPartition(topic, p, starts[p]) for p in sorted(pending)])
    learnt = skipped = 0
    began = last_progress = time.monotonic()
    while pending:
        for msg in consumer.consume(num_messages=1000, timeout=1.0):
            partition = msg.partition()
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    raise BrokerUnavailableError(f"reading {topic}: {msg.error().str()}")
                pending.discard(partition)
                continue
            if msg.offset() >= ends[partition]:
                pending.discard(partition)
                continue
            try:
                example = TrainingExample.from_json(msg.value())
            except ValidationError:
                # The live trainer dead-lettered it; a replay publishes nothing but models.
                training.skip(topic, partition, msg.offset())
                skipped += 1
            else:
                training.learn(example.model_dump(), topic, partition, msg.offset())
                learnt += 1
            if msg.offset() + 1 >= ends[partition]:
                pending.discard(partition)
        now = time.monotonic()
        if now - last_progress >= PROGRESS_EVERY_S or not pending:
            last_progress = now
            rate = (learnt + skipped) / max(now - began, 1e-9)
            print(f"trainer replay: {learnt:,} examples learnt ({skipped:,} skipped) of about {total:,}, "
                  f"{rate:,.0f}/s", file=out, flush=True)
