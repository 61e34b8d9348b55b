"""The pure parts of the dead-letter commands: selection, error kinds, lines and counts."""

from __future__ import annotations

import pytest

from cartstream.operators.validation import dead_letter_for
from cartstream.schemas.dead_letter import DeadLetter
from cartstream.topologies.cli import main
from cartstream.topologies.dead_letters import (
    Counts,
    Selection,
    SourceOffset,
    describe,
    error_kind,
    latest,
    parse_offsets,
)
from cartstream.topologies.exceptions import InvalidSelectionError

FAILED_AT = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def letter(topic="p.clicks", partition=0, offset=0, key=b"u1", value=b"{}", error="not JSON: x", failed_at=FAILED_AT):
    return dead_letter_for(topic, partition, offset, key, value, error, failed_at)


def test_offsets_parse_into_source_coordinates():
    assert parse_offsets("p.clicks:0:17,p.carts:2:5") == {
        SourceOffset("p.clicks", 0, 17), SourceOffset("p.carts", 2, 5)}


@pytest.mark.parametrize("text", ["p.clicks:0", "p.clicks:0:x", ":0:1", "p.clicks:-1:3", "p.clicks:0:1,", ""])
def test_malformed_offsets_are_refused_naming_the_bad_part(text):
    with pytest.raises(InvalidSelectionError, match="TOPIC:PARTITION:OFFSET"):
        parse_offsets(text)


def test_selectors_combine_with_and():
    record = letter(topic="p.clicks", partition=1, offset=9, error="key missing: clicks is keyed by user_id")
    assert Selection.parse(source="p.clicks", error_contains="KEY MISSING").matches(record)
    assert not Selection.parse(source="p.carts", error_contains="key missing").matches(record)
    assert not Selection.parse(source="p.clicks", offsets="p.clicks:1:8").matches(record)
    assert Selection.parse(offsets="p.carts:0:0,p.clicks:1:9").matches(record)


def test_selecting_everything_needs_all_and_all_excludes_selectors():
    assert Selection.parse(everything=True).matches(letter())
    with pytest.raises(InvalidSelectionError, match="--all"):
        Selection.parse()
    with pytest.raises(InvalidSelectionError, match="drop it"):
        Selection.parse(source="p.clicks", everything=True)


@pytest.mark.parametrize("error, kind", [
    ("not JSON: expected value at line 1 column 1", "not JSON"),
    ("schema violation: event_time: Input should be a valid integer", "schema violation"),
    ("key missing: clicks is keyed by user_id", "key missing"),
    ("no reason given", "no reason given"),
])
def test_error_kind_is_the_text_before_the_first_colon(error, kind):
    assert error_kind(error) == kind


def test_a_dead_letter_prints_on_one_line_with_time_coordinates_key_error_and_payload():
    record = letter(topic="p.clicks", partition=2, offset=41, key=b"u7", value=b'{"a":\n 1}',
                    error="not JSON: trailing characters")
    assert describe(record) == (
        '2026-01-01T00:00:00.000Z  p.clicks[2]@41  key=u7  not JSON: trailing characters  payload={"a":\\n 1}')


def test_binary_null_and_long_payloads_are_previewed_briefly():
    binary = describe(letter(key=None, value=b"\xff\x00"))
    assert binary.endswith("key=null  not JSON: x  payload=base64:/wA=")
    assert describe(letter(value=None)).endswith("payload=null")
    long_line = describe(letter(value=b"x" * 10_000))
    assert long_line.endswith("x…") and len(long_line) < 200


def test_latest_keeps_the_last_failures_oldest_first():
    records = [letter(offset=n, failed_at=FAILED_AT + t) for n, t in enumerate([30, 10, 20, 40])]
    assert [r.offset for r in latest(records, 3)] == [2, 0, 3]
    assert [r.offset for r in latest(records, 10)] == [1, 2, 0, 3]


def test_counts_group_by_source_topic_and_error_kind_most_frequent_first():
    counts = Counts.of([
        letter(topic="p.clicks", error="not JSON: a"),
        letter(topic="p.clicks", error="schema violation: b"),
        letter(topic="p.carts", error="not JSON: c"),
    ], skipped=1)
    assert (counts.total, counts.skipped) == (3, 1)
    lines = counts.lines()
    assert lines[0] == "dead letters: 3"
    assert [line.split()[0] for line in lines[1:]] == ["by", "p.clicks", "p.carts", "by", "not", "schema"]
    assert lines[-2].split() == ["not", "JSON", "2"]


def test_a_dead_letter_round_trips_its_raw_bytes():
    record = letter(key=b"\xfe", value=b"\xff\x00")
    assert DeadLetter.model_validate_json(record.to_json()).payload_bytes() == b"\xff\x00"
    assert record.key_bytes() == b"\xfe"


@pytest.mark.parametrize("argv, message", [
    (["dead-letters", "replay"], "choose dead letters with --source"),
    (["dead-letters", "replay", "--offsets", "clicks:one:2"], "--offsets wants TOPIC:PARTITION:OFFSET"),
    (["dead-letters", "replay", "--all", "--source", "clicks"], "--all replays every dead letter"),
])
def test_a_bad_replay_selection_fails_in_one_line_before_touching_kafka(argv, message, capsys):
    # An unreachable broker proves the selection is checked first.
    assert main([*argv, "--bootstrap-servers", "127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"cartstream: error: {message}")
    assert err.count("\n") == 1

