"""The same input log gives byte-identical recommendations: a live run recorded, replayed twice."""

from __future__ import annotations

import time

import orjson
from confluent_kafka import Producer

from cartstream.topologies.synthetic import FoodWorld

from cartstream.models.ranker import Ranker
from cartstream.schemas import ModelSnapshot

from tests.integration.support import TopologyProcess, consume_until, produce, read_all
from tests.integration.test_learning import produce_in_order, warm_up


def lists_of(settings, generation: int) -> dict[str, bytes]:
    """The lists one generation published, by trigger event (one each)."""
    published = [(orjson.loads(m.value())["trigger_event_id"], m.value())
                 for m in read_all(settings, [settings.topic("recommendations")])
                 if dict(m.headers() or [])["generation"] == str(generation).encode()]
    lists = dict(published)
    assert len(lists) == len(published), f"generation {generation} published two lists for one trigger event"
    return lists


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
    # Three partitions per topic, read by one process in one record-time order (see README, "Replay").
    settings = settings.model_copy(update={"snapshot_every": 100, "snapshot_interval_s": 1.0})
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
    used = {trigger: orjson.loads(v)["model_version"] for trigger, v in first.items()}
    assert used == {trigger: expected_model(snapshots, event_ms[trigger]) for trigger in used}
    early = {event["event_id"] for _, event in stream[:served_cut]}
    assert any(not version for trigger, version in used.items() if trigger in early)
    assert any(version for trigger, version in used.items() if trigger not in early)


def test_a_replay_reads_the_events_of_all_partitions_in_record_time_order(settings, tmp_path):
    # Partition 0 holds the latest events. Read first, as Quix Streams reads partition numbers,
    # they would release the menu's deletion of an item before the earlier events on
    # partition 2 that name it, and those would be dead-lettered as naming an unknown item.
    world = FoodWorld.generate(seed=5, restaurants=2, diners=2)
    # Recent record times: the broker's retention (7 days) would delete older records.
    start = int(time.time() * 1000) - 120_000
    gone = world.menu[0]
    others = [m for m in world.menu[1:] if m["restaurant_id"] == gone["restaurant_id"]][:3]
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True})

    def send(topic: str, key: str, value: dict | None, at_ms: int, partition: int = -1) -> None:
        producer.produce(settings.topic(topic), key=key, value=None if value is None else orjson.dumps(value),
                         timestamp=at_ms, partition=partition)

    for item in world.menu:
        send("menu-items", item["item_id"], item, start - 60_000)
    send("menu-items", gone["item_id"], None, start + 5_000)  # deleted from the menu at +5 s

    def event(topic: str, user: str, item: dict, at_ms: int, partition: int, **extra) -> str:
        event_id = f"{user}-{at_ms - start}"
        send(topic, user, {"event_id": event_id, "event_time": at_ms, "user_id": user, "item_id": item["item_id"],
                           "restaurant_id": item["restaurant_id"], **extra}, at_ms, partition)
        return event_id

    # Cart adds: a list is the rest of that restaurant's menu, so a deleted item would show.
    late = [event("carts", "late", item, start + 10_000 + n, 0, action="add", quantity=1)
            for n, item in enumerate(others)]
    early = [event("clicks", "early", item, start + 1_000 + n, 2) for n, item in enumerate([gone, *others])]
    assert producer.flush(30) == 0, "broker did not acknowledge every record"

    replay = TopologyProcess("recommender", settings, tmp_path / "replay.log", command=("replay",),
                             options=("--until", "2100-01-01T00:00:00Z", "--emit")).start()
    assert replay.proc.wait(180) == 0, replay.log()[-3000:]
    lists = {trigger: orjson.loads(value) for trigger, value in lists_of(settings, 1).items()}
    assert not read_all(settings, [settings.topic("dead-letters")]), "an event was read after a later deletion"
    assert sorted(lists) == sorted(early + late)
    assert all(lists[trigger]["items"] for trigger in late)
    assert all(gone["item_id"] not in {i["item_id"] for i in lists[trigger]["items"]} for trigger in late)
