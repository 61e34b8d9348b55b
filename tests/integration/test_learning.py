"""Learning beats popularity: synthetic diners through the real broker, item-stats, recommender and trainer."""

from __future__ import annotations

import time

import orjson
import pytest
from confluent_kafka import Producer

from cartstream.models.ranker import Ranker
from cartstream.operators.evaluation import next_action_hit_rates
from cartstream.schemas import ModelSnapshot
from cartstream.topologies.demo import event_of
from cartstream.topologies.settings import Settings
from cartstream.topologies.synthetic import FoodWorld

from tests.integration.support import consume_until, produce, read_all

# The trainer's Ranker trusts its model from this many examples on.
TRAINED_AFTER = 500


@pytest.fixture
def settings(settings):
    # Snapshots every 300 examples: a trained ranker goes live early in the stream.
    return settings.model_copy(update={"snapshot_every": 300})


def produce_in_order(settings: Settings, stream: list[tuple[str, dict]], first_ms: int) -> int:
    """Produce clicks and cart events keyed by user, with strictly increasing Kafka timestamps.

    The recommender reads `clicks` and `carts` aligned by timestamp, so equal timestamps
    could swap a diner's click and add; returns the next free timestamp.
    """
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True})
    for n, (topic, event) in enumerate(stream):
        producer.produce(settings.topic(topic), key=event["user_id"], value=orjson.dumps(event),
                         timestamp=first_ms + n)
        producer.poll(0)
    assert producer.flush(30) == 0, "broker did not acknowledge every event"
    return first_ms + len(stream)


def warm_up(settings: Settings, stream: list[tuple[str, dict]], served_share: float = 3 / 5) -> tuple[int, int]:
    """Produce the first part of ``stream`` until the trainer publishes a model that is
    served; returns where the rest of the stream starts and its first free timestamp.

    Two steps: 2/5 of the stream for the trainer to publish a trained model, then up to
    ``served_share`` of it, which the recommender ranks both ways, the model in the
    fallback's shadow, until a snapshot says the model's lists held at least as many of the
    items taken (over at least 50 lists: `Ranker.min_compared`). Each step is sent once the snapshot
    it needs is out, stamped at sending: the recommender sees the tables (the model) as of
    each event's record time, so a stream stamped before a snapshot is ranked without it.
    """
    trained_cut, served_cut = len(stream) * 2 // 5, int(len(stream) * served_share)
    next_ms = produce_in_order(settings, stream[:trained_cut], int(time.time() * 1000))
    consume_until(settings, "model-snapshots", timeout=120, done=lambda ms: any(
        orjson.loads(m.value())["examples_seen"] >= TRAINED_AFTER for m in ms))
    next_ms = produce_in_order(settings, stream[trained_cut:served_cut], max(next_ms, int(time.time() * 1000)))
    consume_until(settings, "model-snapshots", timeout=120, done=lambda ms: any(served(m.value()) for m in ms))
    return served_cut, max(next_ms, int(time.time() * 1000))


def served(snapshot: bytes) -> bool:
    """Whether the ranker in this snapshot serves its model (it beat the fallback in its shadow)."""
    return Ranker.loads(ModelSnapshot.from_json(snapshot).model_bytes()).serves_model


def test_learnt_ranking_beats_popularity_on_the_same_stream(settings, topology):
    world = FoodWorld.generate(seed=11, restaurants=6, diners=30)
    stream = world.events(sessions=5)
    produce(settings, "menu-items", [(m["item_id"], m) for m in world.menu])
    for name in ("item-stats", "recommender", "trainer"):
        topology(name)

    served_cut, next_ms = warm_up(settings, stream)
    # Then the rest of the stream, ranked by what it learnt.
    produce_in_order(settings, stream[served_cut:], next_ms)
    consume_until(settings, "recommendations", lambda ms: len(ms) >= len(stream), timeout=120)
    recs = [orjson.loads(m.value()) for m in read_all(settings, [settings.topic("recommendations")])]

    assert len(recs) == len({r["trigger_event_id"] for r in recs}) == len(stream)  # one list per event
    learnt = {r["trigger_event_id"]: [i["item_id"] for i in r["items"]] for r in recs if r["mode"] == "model"}
    model, popularity = next_action_hit_rates([event_of(t, e) for t, e in stream], learnt, world.catalog())
    print(f"HR@10 of {model.n} model-ranked lists: recommender {model.get():.3f}, popularity {popularity.get():.3f}")
    assert model.n >= 200, f"too few model-ranked lists were judged: {model.n}"
    assert model.get() > popularity.get() + 0.1, (model, popularity)
