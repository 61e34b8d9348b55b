"""`cartstream replay` against the real broker: a rebuilt generation equals the live one and takes over."""

from __future__ import annotations

import signal

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from cartstream.compose import process
from cartstream.topologies.exceptions import CartstreamError
from cartstream.topologies.generations import read_generation
from cartstream.topologies.log_points import parse_point, resolve_point
from cartstream.topologies.replay import replay
from cartstream.topologies.topics import admin_client

from tests.integration.catalog import catalog
from tests.integration.support import TopologyProcess, consume_until, produce, read_all
from tests.integration.test_recommender_recovery import publish, stream


def changelogs(settings, group: str) -> dict[tuple[str, bytes], bytes]:
    """The latest value of every state key in `group`'s changelog topics, by (store topic suffix, key)."""
    names = [n for n in admin_client(settings).list_topics(timeout=10).topics if n.startswith(f"changelog__{group}--")]
    assert names, f"no changelog topics for {group}"
    state = {}
    for msg in read_all(settings, names):
        key = (msg.topic().removeprefix(f"changelog__{group}"), msg.key())
        if msg.value() is None:
            state.pop(key, None)
        else:
            state[key] = msg.value()
    return state


def lag(settings, group: str) -> int:
    """Input events `group` has not committed yet."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    try:
        parts = [TopicPartition(settings.topic(t), p) for t in ("clicks", "carts") for p in range(settings.partitions)]
        return sum(consumer.get_watermark_offsets(tp, timeout=10)[1] - max(0, tp.offset)
                   for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def committed_to_end(settings, group: str) -> bool:
    return lag(settings, group) == 0


def silent_replay(settings, tmp_path) -> TopologyProcess:
    """`cartstream replay recommender --from earliest --no-emit`, started."""
    return TopologyProcess("recommender", settings, tmp_path / "replay.log", command=("replay",),
                           options=("--from", "earliest", "--no-emit")).start()


def triggers_after_switch_over(settings, total: int) -> list[str]:
    """The trigger event id of every list published, read once `total` lists are out and the
    rebuilt generation (1) has committed all of its input."""
    consume_until(settings, "recommendations", lambda ms: len(ms) >= total, timeout=120)
    rebuilt = settings.model_copy(update={"generation": 1})
    assert process.wait_until(lambda: committed_to_end(settings, rebuilt.consumer_group("recommender")), 60)
    return [orjson.loads(m.value())["trigger_event_id"] for m in read_all(settings, [settings.topic("recommendations")])]


def test_replay_from_earliest_rebuilds_the_live_state_then_takes_over_without_gaps_or_duplicates(
        settings, topology, tmp_path):
    produce(settings, "menu-items", [(m["item_id"], m) for m in catalog(unavailable=())])
    first = publish(settings, stream(240))
    live = topology("recommender")
    consume_until(settings, "recommendations", lambda ms: len(ms) >= first, timeout=120)

    rebuild = silent_replay(settings, tmp_path)
    try:
        # The rebuilt generation catches up, then the live one steps down by itself.
        assert process.wait_until(lambda: not live.alive(), 120), "the live generation did not step down"
        assert live.proc.returncode == 0
        assert process.wait_until(lambda: read_generation(settings, "recommender").live == 1, 60), rebuild.log()

        # Both generations read the same 240 events: their state stores hold the same bytes.
        rebuilt = settings.model_copy(update={"generation": 1})
        assert process.wait_until(lambda: committed_to_end(settings, rebuilt.consumer_group("recommender")), 60)
        assert changelogs(settings, rebuilt.consumer_group("recommender")) == \
            changelogs(settings, settings.consumer_group("recommender"))

        # After the switch-over the rebuilt generation serves: every trigger gets exactly one list.
        total = first + publish(settings, stream(120, start=240))
        triggers = triggers_after_switch_over(settings, total)
        assert len(triggers) == len(set(triggers)) == total, "a trigger lost or published twice at the switch-over"
        assert rebuild.alive(), "the rebuilt generation keeps serving after it took over"
    finally:
        if rebuild.alive():
            rebuild.stop()
        print(f"--- replay log ---\n{rebuild.log()[-4000:]}")


def test_a_silent_rebuild_never_passes_a_lagging_live_generation_so_every_event_gets_one_list(
        settings, topology, tmp_path):
    produce(settings, "menu-items", [(m["item_id"], m) for m in catalog(unavailable=())])
    total = publish(settings, stream(3000))
    live = topology("recommender")  # starts with the whole backlog to serve
    # The rebuild starts well behind the live generation, and catches it up while it still lags.
    assert process.wait_until(lambda: lag(settings, settings.consumer_group("recommender")) <= total - 300, 120)
    rebuild = silent_replay(settings, tmp_path)
    try:
        # Silent, the rebuild runs several times the live rate: it would overtake the live
        # generation, and the events it passed before the switch-over would get no list.
        assert process.wait_until(lambda: read_generation(settings, "recommender").live == 1, 240), rebuild.log()
        assert process.wait_until(lambda: not live.alive(), 60) and live.proc.returncode == 0
        triggers = triggers_after_switch_over(settings, total)
        assert len(triggers) == len(set(triggers)) == total, "an event got no list, or two, at the switch-over"
        assert "were not published" not in rebuild.log()
    finally:
        if rebuild.alive():
            rebuild.stop()
        print(f"--- replay log ---\n{rebuild.log()[-4000:]}")


def test_a_rebuild_takes_over_from_a_stopped_live_generation_and_serves_what_it_left(settings, topology, tmp_path):
    produce(settings, "menu-items", [(m["item_id"], m) for m in catalog(unavailable=())])
    served = publish(settings, stream(200))
    live = topology("recommender")
    assert process.wait_until(lambda: committed_to_end(settings, settings.consumer_group("recommender")), 120)
    assert live.stop() == 0
    total = served + publish(settings, stream(100, start=200))  # nobody serves these yet
    rebuild = silent_replay(settings, tmp_path)
    try:
        assert process.wait_until(lambda: read_generation(settings, "recommender").live == 1, 180), rebuild.log()
        triggers = triggers_after_switch_over(settings, total)
        assert len(triggers) == len(set(triggers)) == total, "the events the stopped generation left got no list"
    finally:
        if rebuild.alive():
            rebuild.stop()
        print(f"--- replay log ---\n{rebuild.log()[-4000:]}")


def test_a_replay_takes_an_item_the_log_knows_only_from_a_later_menu_record(settings, tmp_path):
    # What compaction leaves of an item published before the events and changed after them:
    # its one menu record comes after the events that name it.
    menu = catalog(unavailable=())
    renamed = next(m for m in menu if m["item_id"] == "r1-0")
    produce(settings, "menu-items", [(m["item_id"], m) for m in menu if m is not renamed])
    total = publish(settings, stream(60))
    produce(settings, "menu-items", [("r1-0", {**renamed, "name": "Lamb Rogan Josh"})])
    rebuild = TopologyProcess("recommender", settings, tmp_path / "replay.log", command=("replay",),
                              options=("--until", "2100-01-01T00:00:00Z", "--emit")).start()
    assert rebuild.proc.wait(120) == 0, rebuild.log()
    named = sum(1 for records in stream(60).values() for _, body in records if body.get("item_id") == "r1-0")
    assert named > 0 and "item r1-0 taken from a later menu record" in rebuild.log()
    recs = read_all(settings, [settings.topic("recommendations")])
    assert len(recs) == total, "an event naming r1-0 was dead-lettered"
    assert read_all(settings, [settings.topic("dead-letters")]) == []


def test_replay_until_an_offset_stops_there_and_leaves_the_live_generation(settings, topology, tmp_path):
    produce(settings, "menu-items", [(m["item_id"], m) for m in catalog(unavailable=())])
    total = publish(settings, stream(60))
    rebuild = TopologyProcess("recommender", settings, tmp_path / "replay.log", command=("replay",),
                              options=("--until", "clicks:0:5", "--emit")).start()  # as the README writes it
    assert rebuild.proc.wait(120) == 0, rebuild.log()
    assert "reached --until" in rebuild.log() and "superseded" not in rebuild.log(), "it finished, it was not superseded"
    record = read_generation(settings, "recommender")
    assert (record.live, record.newest, record.rebuild) == (0, 1, None)
    rebuilt = settings.model_copy(update={"generation": 1})
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers,
                         "group.id": rebuilt.consumer_group("recommender")})
    clicks0 = consumer.committed([TopicPartition(settings.topic("clicks"), 0)], timeout=10)[0].offset
    consumer.close()
    assert clicks0 >= 5
    # With --emit, the bounded replay published one list per event before the bound, no more.
    beyond = sum(1 for m in read_all(settings, [settings.topic("clicks")]) if m.partition() == 0 and m.offset() >= 5)
    recs = read_all(settings, [settings.topic("recommendations")])
    assert beyond > 0 and len(recs) == total - beyond

    wrong = TopologyProcess("recommender", settings, tmp_path / "wrong.log", command=("replay",),
                            options=("--until", "clicks:9:5", "--emit")).start()
    assert wrong.proc.wait(60) == 1
    assert f"clicks:9 is not an input partition of this topology; its input partitions are {settings.topic('carts')}:0" \
        in wrong.log() and "Traceback" not in wrong.log()
    assert read_generation(settings, "recommender").rebuild is None, "a refused replay leaves no rebuild behind"


def test_a_replay_killed_mid_way_resumes_its_generation_and_rebuilds_the_same_state(settings, topology, tmp_path):
    produce(settings, "menu-items", [(m["item_id"], m) for m in catalog(unavailable=())])
    total = publish(settings, stream(1500))
    live = topology("recommender")
    assert process.wait_until(lambda: committed_to_end(settings, settings.consumer_group("recommender")), 180), \
        f"lag {lag(settings, settings.consumer_group('recommender'))} of {total}"
    assert live.stop() == 0

    def replay() -> TopologyProcess:
        return TopologyProcess("recommender", settings, tmp_path / "replay.log", command=("replay",),
                               options=("--until", "2100-01-01T00:00:00Z", "--emit")).start()

    first = replay()
    rebuilt = settings.model_copy(update={"generation": 1}).consumer_group("recommender")
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": rebuilt})
    parts = [TopicPartition(settings.topic(t), p) for t in ("clicks", "carts") for p in range(settings.partitions)]

    def replayed() -> int:
        return sum(max(0, tp.offset) for tp in consumer.committed(parts, timeout=10))

    # Killed once some of the log is rebuilt, before all of it is.
    assert process.wait_until(lambda: replayed() > 0, 120, interval=0.01), first.log()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert replayed() < total, "the replay finished before it could be killed"
    assert read_generation(settings, "recommender").rebuild["generation"] == 1

    second = replay()
    assert second.proc.wait(120) == 0, second.log()
    consumer.close()
    record = read_generation(settings, "recommender")
    assert (record.newest, record.rebuild, record.live) == (1, None, 0), "the same generation must resume"
    assert changelogs(settings, rebuilt) == changelogs(settings, settings.consumer_group("recommender"))
    # Backfilled with --emit across the crash: one list per event from each generation. The
    # killed replay's open transaction holds read_committed readers back until it times out.
    consume_until(settings, "recommendations", lambda ms: len(ms) >= 2 * total, timeout=60)
    lists = read_all(settings, [settings.topic("recommendations")])
    assert len(lists) == 2 * total
    assert len({(dict(m.headers())["generation"], m.value()) for m in lists}) == 2 * total


def test_a_replay_from_an_offset_past_the_log_is_refused_and_leaves_no_rebuild(settings):
    publish(settings, stream(3))
    ends = sum(1 for m in read_all(settings, [settings.topic("clicks")]) if m.partition() == 0)
    with pytest.raises(CartstreamError, match=f"clicks:0:{ends + 1200} is outside the log"):
        replay(settings, "recommender", parse_point(f"clicks:0:{ends + 1200}"), None, emit=False)
    assert read_generation(settings, "recommender").rebuild is None


def test_a_position_list_starts_the_partitions_it_leaves_out_at_the_earliest_offset(settings):
    publish(settings, stream(30))
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "test-resolve"})
    partitions = [TopicPartition(settings.topic(t), p) for t in ("clicks", "carts") for p in range(settings.partitions)]
    marks = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10) for tp in partitions}
    point = parse_point("clicks:0:0")
    start = resolve_point(consumer, partitions, point, settings.topic, start=True)
    until = resolve_point(consumer, partitions, point, settings.topic, start=False)
    consumer.close()
    others = [tp for tp in marks if tp != (settings.topic("clicks"), 0)]
    assert any(marks[tp][1] > marks[tp][0] for tp in others), "a partition left out holds records"
    assert all(start[tp] == marks[tp][0] for tp in others), "a replay from there starts them at the earliest"
    assert all(until[tp] == marks[tp][1] for tp in others), "a replay until there runs them to the end"
