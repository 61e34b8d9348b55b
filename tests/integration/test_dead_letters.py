"""`cartstream dead-letters` against the real broker, with user-activity writing the letters."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
from confluent_kafka import Consumer, TopicPartition

from cartstream.operators.validation import dead_letter_for
from cartstream.schemas.dead_letter import DeadLetter
from cartstream.topologies.dead_letters import describe

from tests.integration.support import ROOT, consume_until, produce, settings_env

EVENT_TIME = 1_767_225_600_000


def click(user: str, event_id: str) -> dict:
    return {"event_id": event_id, "event_time": EVENT_TIME, "user_id": user, "item_id": "i1", "restaurant_id": "r1"}


MALFORMED = [
    (b"u1", b"{not json"),
    (b"u2", orjson.dumps({**click("u2", "e2"), "event_time": "yesterday"})),
    (None, orjson.dumps(click("u3", "e3"))),
    (b"u4", b"\xff\xfe binary"),
]


def cartstream(settings, *args: str) -> subprocess.CompletedProcess:
    """The CLI as an operator runs it, configured for this test's topics."""
    return subprocess.run([sys.executable, "-m", "cartstream.topologies.cli", *args], cwd=ROOT,
                          env=settings_env(settings), capture_output=True, text=True, timeout=120)


def dead_letters(settings, at_least: int) -> list[DeadLetter]:
    messages = consume_until(settings, "dead-letters", lambda ms: len(ms) >= at_least)
    return [DeadLetter.model_validate_json(m.value()) for m in messages]


def records_in(settings, topic: str) -> int:
    """How many offsets a topic's partitions span now (markers included): moves whenever anything is written."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "watermarks"})
    try:
        name = settings.topic(topic)
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def test_count_tail_and_replay_of_malformed_clicks(settings, topology):
    clicks = settings.topic("clicks")
    topology("user-activity")
    produce(settings, "clicks", MALFORMED)
    letters = dead_letters(settings, len(MALFORMED))

    count = cartstream(settings, "dead-letters", "count")
    assert count.returncode == 0, count.stderr
    lines = [line.split() for line in count.stdout.splitlines()]
    assert lines[0] == ["dead", "letters:", "4"]
    assert [clicks, "4"] in lines
    for kind in (["not", "JSON"], ["schema", "violation"], ["key", "missing"], ["not", "UTF-8"]):
        assert [*kind, "1"] in lines, count.stdout

    everything = cartstream(settings, "dead-letters", "tail", "-n", "10")
    assert sorted(everything.stdout.splitlines()) == sorted(describe(letter) for letter in letters)
    last_two = cartstream(settings, "dead-letters", "tail", "-n", "2").stdout.splitlines()
    assert len(last_two) == 2 and set(last_two) <= set(everything.stdout.splitlines())
    # Lines start with the ISO failure time, which sorts like the time itself.
    older = set(everything.stdout.splitlines()) - set(last_two)
    assert all(line.split()[0] <= min(last.split()[0] for last in last_two) for line in older)

    target = next(letter for letter in letters if letter.error.startswith("not JSON"))
    coordinates = f"{target.source_topic}:{target.partition}:{target.offset}"
    before = records_in(settings, "clicks")
    dry = cartstream(settings, "dead-letters", "replay", "--offsets", coordinates, "--dry-run")
    assert dry.stdout.splitlines() == [describe(target), "dry run: would re-publish 1 dead letter"]
    assert records_in(settings, "clicks") == before

    replayed = cartstream(settings, "dead-letters", "replay", "--offsets", coordinates)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines()[-1] == "re-published 1 dead letter"

    # Partitions interleave when read, so the new records are told apart by their coordinates.
    original = {(letter.partition, letter.offset) for letter in letters}
    [again] = [m for m in consume_until(settings, "clicks", lambda ms: len(ms) > len(MALFORMED))
               if (m.partition(), m.offset()) not in original]
    assert (again.partition(), again.key(), again.value()) == (target.partition, b"u1", b"{not json")
    # Still not JSON, so the topology dead-letters it once more, under its new coordinates.
    [newest] = [letter for letter in dead_letters(settings, len(MALFORMED) + 1)
                if (letter.partition, letter.offset) not in original]
    assert (newest.source_topic, newest.partition, newest.offset) == (clicks, again.partition(), again.offset())
    assert newest.error == target.error and newest.payload_bytes() == b"{not json"


def test_a_valid_record_replayed_from_a_dead_letter_flows_through_the_topology(settings, topology):
    valid = orjson.dumps(click("u-replayed", "e-replayed"))
    letter = dead_letter_for(settings.topic("clicks"), 0, 0, b"u-replayed", valid,
                             "schema violation: rejected by an older contract", int(time.time() * 1000))
    produce(settings, "dead-letters", [(b"u-replayed", letter.to_json())])
    topology("user-activity")

    result = cartstream(settings, "dead-letters", "replay", "--source", settings.topic("clicks"),
                        "--error-contains", "older contract")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [describe(letter), "re-published 1 dead letter"]

    out = consume_until(settings, "user-activity", lambda ms: any(m.key() == b"u-replayed" for m in ms))
    activity = orjson.loads(next(m.value() for m in out if m.key() == b"u-replayed"))
    assert activity["clicks"] == 1


def test_records_that_are_not_dead_letters_are_skipped_and_reported(settings):
    letter = dead_letter_for(settings.topic("clicks"), 0, 7, b"u1", b"{", "not JSON: x", int(time.time() * 1000))
    # One key, so one partition, in this order: the letter, then junk that tail must read past.
    produce(settings, "dead-letters", [(b"u1", letter.to_json())] + [(b"u1", b"not a dead letter")] * 5)

    tail = cartstream(settings, "dead-letters", "tail", "-n", "1")
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.splitlines() == [describe(letter)]
    skipped = f"skipped 5 records of {settings.topic('dead-letters')} that are not dead letters\n"
    assert tail.stderr == skipped
    count = cartstream(settings, "dead-letters", "count")
    assert count.stdout.splitlines()[0] == "dead letters: 1" and count.stderr == skipped


def test_replay_to_a_topic_that_is_gone_fails_in_one_line_and_sends_nothing(settings):
    gone = settings.topic("gone")
    letter = dead_letter_for(gone, 0, 0, b"u1", b"{}", "not JSON: x", int(time.time() * 1000))
    produce(settings, "dead-letters", [(b"u1", letter.to_json())])
    result = cartstream(settings, "dead-letters", "replay", "--source", gone)
    assert (result.returncode, result.stdout.splitlines()[-1:]) == (1, [describe(letter)])
    assert result.stderr == f"cartstream: error: topic {gone} does not exist; create the topics with: cartstream topics create\n"


def test_missing_topic_and_unreachable_broker_fail_in_one_line(settings):
    absent = ["--topic-prefix", f"absent-{settings.topic_prefix}"]
    cases = [(["count", *absent], f"topic absent-{settings.topic('dead-letters')} does not exist"),
             (["tail", *absent], f"topic absent-{settings.topic('dead-letters')} does not exist"),
             (["replay", "--all", *absent], f"topic absent-{settings.topic('dead-letters')} does not exist"),
             # Every command meets the broker through the same metadata request; one waits its timeout.
             (["count", "--bootstrap-servers", "127.0.0.1:9"], "cannot reach Kafka")]
    for args, message in cases:
        result = cartstream(settings, "dead-letters", *args)
        assert result.returncode == 1
        # Checked on the real stderr: librdkafka's own connection logs would show up here too.
        assert result.stderr.startswith(f"cartstream: error: {message}"), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
