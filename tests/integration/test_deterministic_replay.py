"""The same input log gives byte-identical recommendations: a live run recorded, replayed twice."""

from __future__ import annotations

import orjson

from cartstream.topologies.synthetic import FoodWorld
from cartstream.topologies.topics import create_topics

from cartstream.models.ranker import Ranker
from cartstream.schemas import ModelSnapshot

from tests.integration.support import TopologyProcess, consume_until, produce, read_all
from tests.integration.test_learning import produce_in_order, warm_up


def lists_of(settings, generation: int) -> list[bytes]:
    """The lists one generation published, in the order it published them."""
    return [m.value() for m in read_all(settings, [settings.topic("recommendations")])
            if dict(m.headers() or [])["generation"] == str(generation).encode()]


def served_by_time(settings) -> list[tuple[int, int, bool]]:
    """Every model snapshot as (record time, version, whether it serves its model)."""
    return [(m.timestamp()[1], snap.version, Ranker.loads(snap.model_bytes()).serves_model)
            for m in read_all(settings, [settings.topic("model-snapshots")])
            for snap in [ModelSnapshot.from_json(m.value())]]


def expected_model(snapshots: list[tuple[int, int, bool]], event_ms: int) -> int:
    """The version of the model that ranks an event's list: the latest snapshot recorded
    before the event, if it serves its model; 0 (not the model) otherwise."""
    before = [(version, serves) for record_ms, version, serves in snapshots if record_ms < event_ms]
    return max(before)[0] if before and max(before)[1] else 0


def test_two_replays_of_a_recorded_log_publish_byte_identical_lists(settings, topology, tmp_path):
    # One partition per topic: every run reads the inputs in one order (see README, "Replay").
    settings = settings.model_copy(update={"topic_prefix": settings.topic_prefix + "one.", "partitions": 1,
                                           "snapshot_every": 100, "snapshot_interval_s": 1.0})
    create_topics(settings)
    world = FoodWorld.generate(seed=11, restaurants=6, diners=30)
    stream = world.events(sessions=4)
    produce(settings, "menu-items", [(m["item_id"], m) for m in world.menu])
    live = [topology(name, settings) for name in ("item-stats", "recommender", "trainer")]

    # Record a log in which item stats and model snapshots change between events, up to a
    # model that serves: the lists after it are ranked by the model.
    served_cut, next_ms = warm_up(settings, stream, until=lambda ranker: ranker.serves_model)
    produce_in_order(settings, stream[served_cut:], next_ms)
    consume_until(settings, "recommendations", lambda ms: len(ms) >= len(stream), timeout=180)
    for proc in live:
        assert proc.stop() == 0

    for generation in (1, 2):
        replay = TopologyProcess("recommender", settings, tmp_path / f"replay-{generation}.log", command=("replay",),
                                 options=("--until", "2100-01-01T00:00:00Z", "--emit")).start()
        assert replay.proc.wait(180) == 0, replay.log()[-3000:]

    first, second = lists_of(settings, 1), lists_of(settings, 2)
    assert len(first) == len(stream)
    assert first == second, "two replays of one log published different lists"
    # Tables as of each event's record time: each list was ranked by the model of the
    # latest snapshot recorded before its event, whatever the trainer published after.
    event_ms = {orjson.loads(m.value())["event_id"]: m.timestamp()[1]
                for m in read_all(settings, [settings.topic("clicks"), settings.topic("carts")])}
    snapshots = served_by_time(settings)
    used = {orjson.loads(v)["trigger_event_id"]: orjson.loads(v)["model_version"] for v in first}
    assert used == {trigger: expected_model(snapshots, event_ms[trigger]) for trigger in used}
    early = {event["event_id"] for _, event in stream[:served_cut]}
    assert any(not version for trigger, version in used.items() if trigger in early)
    assert any(version for trigger, version in used.items() if trigger not in early)
