"""Holding table readers apply records as of the stream's record time, in one order for every run."""

from __future__ import annotations

import threading

from cartstream.topologies.settings import Settings
from cartstream.topologies.table_reader import TableReader

from tests.unit.topologies.kafka_records import Record


def holding_reader(applied: list, hold_max_s=None) -> TableReader:
    def handler(topic):
        return lambda key, value: applied.append((topic, value))

    return TableReader(Settings(), {"stats": handler("stats"), "models": handler("models")}, threading.Lock(),
                       hold=True, hold_max_s=hold_max_s)


def test_held_records_apply_only_before_the_events_record_time_in_time_order():
    applied = []
    reader = holding_reader(applied)
    for record in [Record("stats", 0, 0, 100, b"s100"), Record("models", 0, 0, 50, b"m50"),
                   Record("stats", 0, 1, 200, b"s200")]:
        reader._read(record)
    assert applied == []
    reader.release(100)  # strictly before: a record of the event's own time is not yet visible
    assert applied == [("models", b"m50")]
    reader.release(201)
    assert applied == [("models", b"m50"), ("stats", b"s100"), ("stats", b"s200")]
    assert reader.positions == {("models", 0): 1, ("stats", 0): 2}


def test_a_partition_is_applied_in_offset_order_even_when_its_record_times_go_back():
    applied = []
    reader = holding_reader(applied)
    reader._read(Record("stats", 0, 0, 300, b"first"))
    reader._read(Record("stats", 0, 1, 100, b"second"))  # an earlier time after a later one
    reader.release(200)
    assert applied == []
    reader.release(301)
    assert applied == [("stats", b"first"), ("stats", b"second")]


def test_live_readers_release_what_was_held_too_long():
    applied = []
    reader = holding_reader(applied, hold_max_s=0.0)
    reader._read(Record("stats", 0, 0, 10**13, b"far future"))
    reader._release(None)
    assert applied == [("stats", b"far future")]


def test_release_key_applies_the_first_held_record_of_a_key_now_and_again_at_its_time():
    applied = []
    reader = holding_reader(applied)
    for record in [Record("stats", 0, 0, 100, b"x1", key_=b"x"), Record("stats", 0, 1, 200, b"y1", key_=b"y"),
                   Record("stats", 0, 2, 300, b"y2", key_=b"y")]:
        reader._read(record)
    assert reader.release_key("stats", b"y")
    assert applied == [("stats", b"y1")] and reader.positions == {}, "positions follow only records applied in order"
    assert not reader.release_key("stats", b"z") and not reader.release_key("models", b"y")
    assert not reader.release_key("stats", b"x", wanted=lambda: False) and len(applied) == 1
    reader.release(1_000)
    assert applied == [("stats", b"y1"), ("stats", b"x1"), ("stats", b"y1"), ("stats", b"y2")]
    assert reader.positions == {("stats", 0): 3}


def test_release_key_skips_a_held_tombstone_for_the_record_after_it():
    applied = []
    reader = holding_reader(applied)
    for record in [Record("stats", 0, 0, 100, None, key_=b"y"), Record("stats", 0, 1, 200, b"y1", key_=b"y")]:
        reader._read(record)
    assert reader.release_key("stats", b"y") and applied == [("stats", b"y1")]
