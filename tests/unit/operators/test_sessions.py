import orjson
import pytest

from cartstream.operators.sessions import SessionTracker

MINUTE = 60_000


def test_each_new_item_reports_the_items_the_session_already_held():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    assert tracker.learn_one("click", "curry", 0) == ()
    assert tracker.learn_one("add", "naan", MINUTE) == ("curry",)
    assert tracker.learn_one("add", "lassi", 2 * MINUTE) == ("curry", "naan")


def test_an_item_seen_again_in_the_session_reports_nothing_so_pairs_count_once():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("click", "curry", 0)
    tracker.learn_one("click", "naan", 1)
    assert tracker.learn_one("add", "curry", 2) == ()
    assert tracker.items == ["naan", "curry"]


def test_checkout_and_clear_end_the_session():
    for ending in ("checkout", "clear"):
        tracker = SessionTracker(gap_ms=30 * MINUTE)
        tracker.learn_one("add", "curry", 0)
        assert tracker.learn_one(ending, None, MINUTE) is None
        assert tracker.learn_one("add", "pizza", 2 * MINUTE) == ()


def test_a_gap_longer_than_gap_ms_ends_the_session():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("click", "curry", 0)
    assert tracker.learn_one("click", "naan", 30 * MINUTE) == ("curry",)
    assert tracker.learn_one("click", "sushi", 61 * MINUTE) == ()


def test_any_event_of_the_diner_keeps_the_session_alive():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("add", "curry", 0)
    assert tracker.learn_one("remove", "curry", 20 * MINUTE) is None
    assert tracker.learn_one("add", "naan", 40 * MINUTE) == ("curry",)


def test_a_late_event_within_the_gap_joins_the_session():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("click", "curry", 10 * MINUTE)
    assert tracker.learn_one("click", "naan", 5 * MINUTE) == ("curry",)
    assert tracker.last_event_time == 10 * MINUTE


def test_an_event_older_than_the_session_joins_nothing_and_leaves_it_alone():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("click", "curry", 60 * MINUTE)
    assert tracker.learn_one("click", "stale", 0) == ()
    assert tracker.items == ["curry"]
    assert tracker.learn_one("checkout", None, 0) is None
    assert tracker.learn_one("click", "naan", 61 * MINUTE) == ("curry",)


def test_an_event_from_before_the_checkout_does_not_join_the_next_session():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("add", "curry", 0)
    tracker.learn_one("checkout", None, 2 * MINUTE)
    tracker.learn_one("click", "pizza", 3 * MINUTE)
    assert tracker.learn_one("add", "naan", MINUTE) == ()
    assert tracker.items == ["pizza"]


def test_the_session_keeps_the_most_recently_seen_items_up_to_its_bound():
    tracker = SessionTracker(gap_ms=30 * MINUTE, max_items=3)
    for n, item in enumerate(["a", "b", "c", "a", "d"]):
        tracker.learn_one("click", item, n)
    assert tracker.items == ["c", "a", "d"]
    assert tracker.learn_one("click", "e", 5) == ("a", "c", "d")


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="gap_ms"):
        SessionTracker(gap_ms=0)
    with pytest.raises(ValueError, match="max_items"):
        SessionTracker(gap_ms=1, max_items=0)


def test_the_tracker_round_trips_through_json_and_carries_on_alike():
    tracker = SessionTracker(gap_ms=30 * MINUTE)
    tracker.learn_one("add", "curry", 0)
    tracker.learn_one("checkout", None, MINUTE)
    tracker.learn_one("click", "naan", 2 * MINUTE)
    again = SessionTracker.from_dict(orjson.loads(orjson.dumps(tracker.to_dict())))
    assert again.to_dict() == tracker.to_dict()
    assert again.learn_one("click", "rice", 3 * MINUTE) == tracker.learn_one("click", "rice", 3 * MINUTE) == ("naan",)
