import orjson
import pytest

from cartstream.models.trending import Trending

MINUTE = 60_000


def test_events_in_one_window_count_alike():
    trending = Trending(window_ms=10 * MINUTE, half_life_ms=MINUTE)
    trending.learn_one("a", 0)
    trending.learn_one("b", 9 * MINUTE)
    assert trending.score("a") == trending.score("b") == 1.0


def test_older_windows_fade_by_the_half_life():
    trending = Trending(window_ms=MINUTE, half_life_ms=MINUTE)
    trending.learn_one("a", 0, weight=4.0)
    trending.learn_one("b", 2 * MINUTE + 30_000)
    assert trending.window_start == 2 * MINUTE
    assert trending.score("a") == pytest.approx(1.0)


def test_late_events_are_discounted_by_the_windows_they_missed():
    trending = Trending(window_ms=MINUTE, half_life_ms=MINUTE)
    trending.learn_one("b", 2 * MINUTE)
    trending.learn_one("a", 0, weight=4.0)
    assert trending.score("a") == pytest.approx(1.0)
    assert trending.window_start == 2 * MINUTE


def test_top_skips_excluded_items_and_breaks_ties_by_item_id():
    trending = Trending()
    for item_id, weight in [("c", 1.0), ("b", 1.0), ("a", 2.0), ("d", 1.0)]:
        trending.learn_one(item_id, 0, weight)
    assert trending.top(3, exclude={"a"}) == [("b", 1.0), ("c", 1.0), ("d", 1.0)]


def test_faded_items_are_dropped_when_a_window_closes():
    trending = Trending(window_ms=MINUTE, half_life_ms=MINUTE, min_score=0.3)
    trending.learn_one("old", 0)
    trending.learn_one("new", 2 * MINUTE)
    assert trending.top(5) == [("new", 1.0)]


def test_items_beyond_the_bound_are_dropped_when_a_window_closes():
    trending = Trending(window_ms=MINUTE, max_items=2)
    for item_id, weight in [("a", 3.0), ("b", 2.0), ("c", 1.0)]:
        trending.learn_one(item_id, 0, weight)
    trending.learn_one("a", MINUTE)
    assert [i for i, _ in trending.top(5)] == ["a", "b"]


def test_trending_round_trips_through_json():
    trending = Trending(window_ms=MINUTE)
    trending.learn_one("a", 0)
    trending.learn_one("b", MINUTE)
    again = Trending.from_dict(orjson.loads(orjson.dumps(trending.to_dict())))
    assert again.to_dict() == trending.to_dict()
    assert again.top(2) == trending.top(2)
