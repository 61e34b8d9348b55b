import pytest

from cartstream.operators.stats_table import StatsTable


def record(t, trending, neighbours=()):
    return {"event_time": t, "trending": trending, "neighbours": [{"item_id": i, "score": s} for i, s in neighbours]}


def test_scores_taken_in_different_windows_are_compared_on_one_clock():
    table = StatsTable(window_ms=60_000, half_life_ms=60_000)
    table.apply("old", record(0, 4.0))
    table.apply("new", record(125_000, 1.5))  # two windows later: "old" counts a quarter
    table.apply("late", record(65_000, 2.0))  # a late record is decayed to the clock on arrival
    assert table.score("old") == pytest.approx(1.0)
    assert table.score("late") == pytest.approx(1.0)
    assert table.top(3) == [("new", 1.5), ("late", pytest.approx(1.0)), ("old", pytest.approx(1.0))]


def test_the_same_records_in_another_order_give_the_same_scores():
    records = [("a", record(0, 4.0)), ("b", record(60_000, 1.0)), ("c", record(180_000, 2.0)), ("a", record(120_000, 3.0))]
    forward, backward = StatsTable(60_000, 90_000), StatsTable(60_000, 90_000)
    for item_id, r in records:
        forward.apply(item_id, r)
    for item_id, r in [records[1], records[2], records[0], records[3]]:
        backward.apply(item_id, r)
    for item_id in "abc":
        assert forward.score(item_id) == pytest.approx(backward.score(item_id), rel=1e-12)
