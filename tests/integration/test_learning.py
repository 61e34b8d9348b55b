"""Learning beats popularity: synthetic diners through the real broker, item-stats, recommender and trainer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

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


@pytest.fixture
def settings(settings):
    # Snapshots every 300 examples, and within a second of the last example: the test sees
    # a model that has learnt everything sent so far soon after sending it.
    return settings.model_copy(update={"snapshot_every": 300, "snapshot_interval_s": 1.0})


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


def warm_up(settings: Settings, stream: list[tuple[str, dict]], until: Callable[[Ranker], bool],
            chunks: int = 12, most: float = 3 / 4) -> tuple[int, int]:
    """Produce ``stream`` a chunk at a time until the ranker the trainer learnt from all of
    it so far meets ``until``; returns where the rest of the stream starts and its first
    free timestamp.

    Each chunk is sent once the trainer has learnt the one before, stamped at sending: the
    recommender sees the tables (the model) as of each event's record time.
    """
    size, cut, next_ms = len(stream) // chunks, 0, 0
    while cut + size <= len(stream) * most:
        next_ms = produce_in_order(settings, stream[cut:cut + size], max(next_ms, int(time.time() * 1000)))
        cut += size
        if until(learnt_from_all(settings, cut)):
            return cut, max(next_ms, int(time.time() * 1000))
    pytest.fail(f"the trainer's model did not meet {until.__name__} within {cut} of {len(stream)} events")


def learnt_from_all(settings: Settings, events: int) -> Ranker:
    """The ranker of the first snapshot that learnt every example of the first ``events`` lists."""
    consume_until(settings, "recommendations", lambda ms: len(ms) >= events, timeout=120)
    # A list and its examples commit in one transaction: every example is on the topic now.
    examples = len(read_all(settings, [settings.topic("training-examples")]))
    if examples == 0:  # nothing to learn yet (an item nobody took before labels nothing)
        return Ranker()
    snapshots = consume_until(settings, "model-snapshots", timeout=120, done=lambda ms: any(
        orjson.loads(m.value())["examples_seen"] >= examples for m in ms))
    complete = next(s for s in map(ModelSnapshot.from_json, (m.value() for m in snapshots))
                    if s.examples_seen >= examples)
    return Ranker.loads(complete.model_bytes())


def clearly_better(ranker: Ranker) -> bool:
    """Whether the ranker serves its model, whose lists held more of the items taken than
    the fallback's by more than twice the standard deviation (the mirror of the test that
    stops serving it).

    Served is not enough to judge what it learnt: a model served on a tie (`Ranker.compare`)
    may still lose its place, as early models on this stream do, and the rest of the stream
    would be ranked by the fallback.
    """
    only_model, only_fallback = ranker.contested()
    return ranker.serves_model and only_model - only_fallback > 2 * math.sqrt(only_model + only_fallback)


def test_learnt_ranking_beats_popularity_on_the_same_stream(settings, topology):
    world = FoodWorld.generate(seed=11, restaurants=6, diners=30)
    stream = world.events(sessions=8)
    produce(settings, "menu-items", [(m["item_id"], m) for m in world.menu])
    for name in ("item-stats", "recommender", "trainer"):
        topology(name)

    served_cut, next_ms = warm_up(settings, stream, until=clearly_better)
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
