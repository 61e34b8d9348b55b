"""The same input log gives byte-identical recommendations: a live run recorded, replayed twice."""

from __future__ import annotations

import orjson

from cartstream.topologies.synthetic import FoodWorld
from cartstream.topologies.topics import create_topics

from tests.integration.support import TopologyProcess, consume_until, produce
from tests.integration.test_learning import produce_in_order, warm_up
from tests.integration.support import read_all


def lists_of(settings, generation: int) -> list[bytes]:
    """The lists one generation published, in the order it published them."""
    return [m.value() for m in read_all(settings, [settings.topic("recommendations")])
            if dict(m.headers() or [])["generation"] == str(generation).encode()]


def test_two_replays_of_a_recorded_log_publish_byte_identical_lists(settings, topology, tmp_path):
    # One partition per topic: every run reads the inputs in one order (see README, "Replay").
    settings = settings.model_copy(update={"topic_prefix": settings.topic_prefix + "one.", "partitions": 1,
                                           "snapshot_every": 100})
    create_topics(settings)
    world = FoodWorld.generate(seed=11, restaurants=6, diners=30)
    stream = world.events(sessions=4)
    produce(settings, "menu-items", [(m["item_id"], m) for m in world.menu])
    live = [topology(name, settings) for name in ("item-stats", "recommender", "trainer")]

    # Record a log in which item stats and model snapshots change between events.
    # A third of the stream to compare the model with the fallback: some 90 lists, 50 needed.
    served_cut, next_ms = warm_up(settings, stream, served_share=2 / 3)
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
    # Tables as of each event's record time: no list of the warm-up was ranked by the
    # model the trainer published after it, and the rest was.
    modes = {orjson.loads(v)["trigger_event_id"]: orjson.loads(v)["mode"] for v in first}
    early = {event["event_id"] for _, event in stream[:served_cut]}
    assert all(mode != "model" for trigger, mode in modes.items() if trigger in early)
    assert any(mode == "model" for trigger, mode in modes.items() if trigger not in early)
