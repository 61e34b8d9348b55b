import random

import orjson
import pytest

from cartstream.operators.item_stats import ItemStatsState, updates_for
from cartstream.operators.sessions import SessionTracker

MINUTE = 60_000
HOUR = 60 * MINUTE
T = 1_767_225_600_000  # 2026-01-01 00:00 UTC, the start of a 15-minute window


def item(item_id="curry", **params) -> ItemStatsState:
    return ItemStatsState(item_id, window_ms=15 * MINUTE, trending_half_life_ms=3 * HOUR, **params)


def test_an_item_joining_a_session_updates_it_and_every_item_it_joined():
    updates = updates_for("lassi", "add", T, held=("naan", "curry"))
    assert updates == [
        {"item_id": "lassi", "event_time": T, "action": "add", "with": ["curry", "naan"]},
        {"item_id": "curry", "event_time": T, "action": None, "with": ["lassi"]},
        {"item_id": "naan", "event_time": T, "action": None, "with": ["lassi"]},
    ]


def test_counts_are_of_the_current_window_and_restart_with_the_next():
    curry = item()
    curry.learn_one(T, "click")
    curry.learn_one(T + MINUTE, "add")
    curry.learn_one(T + 2 * MINUTE, "click")
    stats = curry.to_message(k=5)
    assert (stats.clicks, stats.adds, stats.window_ms, stats.event_time) == (2, 1, 15 * MINUTE, T + 2 * MINUTE)
    curry.learn_one(T + 15 * MINUTE, "add")
    assert (curry.clicks, curry.adds, curry.window_start) == (0, 1, T + 15 * MINUTE)


def test_a_co_visit_alone_moves_the_item_into_the_window_of_its_event():
    curry = item()
    curry.learn_one(T, "click")
    curry.learn_one(T + 20 * MINUTE, None, ["naan"])
    stats = curry.to_message(k=5)
    assert (stats.clicks, stats.adds, stats.event_time) == (0, 0, T + 20 * MINUTE)


def test_trending_weighs_adds_double_and_is_read_at_the_start_of_the_current_window():
    curry = item()
    curry.learn_one(T + MINUTE, "click")
    curry.learn_one(T + 14 * MINUTE, "add")
    assert curry.to_message(k=1).trending == 3.0
    # Three hours later, whole windows: the old window counts half, the new click in full.
    curry.learn_one(T + 3 * HOUR + 14 * MINUTE, "click")
    assert curry.to_message(k=1).trending == pytest.approx(1.5 + 1.0)


def test_a_late_event_adds_to_trending_discounted_but_not_to_the_current_counts():
    curry = item()
    curry.learn_one(T + 3 * HOUR, "click")
    curry.learn_one(T, "add")
    stats = curry.to_message(k=1)
    assert (stats.clicks, stats.adds, stats.event_time) == (1, 0, T + 3 * HOUR)
    assert stats.trending == pytest.approx(1.0 + 2.0 / 2)


def test_the_final_state_does_not_depend_on_the_order_updates_arrive_in():
    updates = [(T + n * 7 * MINUTE, ("click", "add", None)[n % 3], [f"i{n % 4}"]) for n in range(30)]
    expected = None
    for seed in range(5):
        shuffled = list(updates)
        random.Random(seed).shuffle(shuffled)
        curry = item()
        for event_time, action, seen_with in shuffled:
            curry.learn_one(event_time, action, seen_with)
        stats = curry.to_message(k=3)
        summary = (stats.event_time, stats.clicks, stats.adds, round(stats.trending, 9),
                   [(n.item_id, round(n.score, 9)) for n in stats.neighbours])
        assert expected is None or summary == expected
        expected = summary


def test_neighbours_are_shares_of_the_row_strongest_first_ties_by_item_id():
    curry = item()
    for other in ["naan", "rice", "naan", "lassi", "rice", "naan"]:
        curry.learn_one(T, None, [other])
    assert [(i, round(s, 6)) for i, s in curry.neighbours(3)] == [
        ("naan", round(3 / 7, 6)), ("rice", round(2 / 7, 6)), ("lassi", round(1 / 7, 6))]
    assert [n.item_id for n in curry.to_message(k=2).neighbours] == ["naan", "rice"]
    tied = item()
    tied.learn_one(T, None, ["b", "a", "c"])
    assert [i for i, _ in tied.neighbours(3)] == ["a", "b", "c"]


def test_the_row_keeps_at_most_max_neighbours():
    curry = item(max_neighbours=2)
    curry.learn_one(T, None, ["a", "a"])
    for other in ["a", "b", "c"]:
        curry.learn_one(T, None, [other])
    assert len(curry.row) == 2


def test_items_of_one_session_become_each_others_neighbours_and_others_do_not():
    sessions = SessionTracker(gap_ms=30 * MINUTE)
    states: dict[str, ItemStatsState] = {}
    for action, item_id, t in [("add", "curry", T), ("add", "naan", T + 1), ("checkout", None, T + 2),
                               ("add", "pizza", T + 3)]:
        held = sessions.learn_one(action, item_id, t)
        for update in updates_for(item_id, action, t, held) if held is not None else []:
            state = states.setdefault(update["item_id"], item(update["item_id"]))
            state.learn_one(update["event_time"], update["action"], update["with"])
    assert [i for i, _ in states["curry"].neighbours(5)] == ["naan"]
    assert [i for i, _ in states["naan"].neighbours(5)] == ["curry"]
    assert states["pizza"].neighbours(5) == []


def test_an_unknown_action_is_rejected():
    with pytest.raises(ValueError, match="action"):
        item().learn_one(T, "remove")


def test_an_item_without_events_has_no_message():
    with pytest.raises(ValueError, match="no events"):
        item().to_message(k=1)


def test_the_state_round_trips_through_json_and_carries_on_alike():
    curry = item()
    curry.learn_one(T, "add", ["naan"])
    curry.learn_one(T + 20 * MINUTE, "click", ["rice"])
    again = ItemStatsState.from_dict(orjson.loads(orjson.dumps(curry.to_dict())))
    assert again.to_dict() == curry.to_dict()
    for state in (curry, again):
        state.learn_one(T + 21 * MINUTE, "add", ["naan"])
    assert again.to_message(k=5) == curry.to_message(k=5)
