import orjson
import pytest

from cartstream.models.covisitation import CoVisitation

DAY = 86_400_000


def test_pairs_are_counted_both_ways_once_per_session_item():
    covis = CoVisitation(prior=0.0)
    covis.learn_one("naan", ["curry", "curry", "naan"], 0)
    assert covis.neighbours("curry", 5) == [("naan", 1.0)]
    assert covis.neighbours("naan", 5) == [("curry", 1.0)]


def test_scores_are_shares_of_the_row_damped_by_the_prior():
    covis = CoVisitation(prior=1.0)
    for other in ["naan", "naan", "lassi"]:
        covis.learn_one(other, ["curry"], 0)
    assert covis.neighbours("curry", 5) == [("naan", 0.5), ("lassi", 0.25)]


def test_old_co_visits_fade_with_event_time():
    covis = CoVisitation(half_life_ms=DAY, prior=0.0)
    covis.learn_one("naan", ["curry"], 0)
    covis.learn_one("naan", ["curry"], 0)
    covis.learn_one("lassi", ["curry"], 3 * DAY)
    # naan: 2 * 1/8 = 0.25 against lassi's 1
    assert covis.neighbours("curry", 2) == [("lassi", pytest.approx(0.8)), ("naan", pytest.approx(0.2))]


def test_ties_are_broken_by_item_id():
    covis = CoVisitation()
    for other in ["c", "a", "b"]:
        covis.learn_one(other, ["x"], 0)
    assert [i for i, _ in covis.neighbours("x", 3)] == ["a", "b", "c"]


def test_neighbours_per_item_are_bounded():
    covis = CoVisitation(max_neighbours=2)
    covis.learn_one("a", ["x"], 0)
    covis.learn_one("a", ["x"], 0)
    covis.learn_one("b", ["x"], 0)
    covis.learn_one("c", ["x"], 1)
    assert len(covis.rows["x"]) == 2
    assert covis.neighbours("x", 5)[0][0] == "a"


def test_the_least_recently_updated_rows_are_dropped_first():
    covis = CoVisitation(max_items=3)
    covis.learn_one("b", ["a"], 0)
    covis.learn_one("d", ["c"], 1)
    assert list(covis.rows) == ["a", "d", "c"]
    assert covis.neighbours("b", 1) == []
    assert covis.neighbours("a", 1) == [("b", 0.5)]


def test_unknown_items_have_no_neighbours():
    assert CoVisitation().neighbours("nothing", 5) == []


def test_covisitation_round_trips_through_json():
    covis = CoVisitation(max_items=10)
    covis.learn_one("b", ["a"], 0)
    covis.learn_one("c", ["a", "b"], DAY)
    again = CoVisitation.from_dict(orjson.loads(orjson.dumps(covis.to_dict())))
    assert again.to_dict() == covis.to_dict()
    again.learn_one("d", ["a"], 2 * DAY)
    covis.learn_one("d", ["a"], 2 * DAY)
    assert again.to_dict() == covis.to_dict()
