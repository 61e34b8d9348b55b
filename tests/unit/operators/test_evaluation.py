"""Prequential scores of a replay: what is judged, by which list, and the baselines beside it."""

from __future__ import annotations

import random

from cartstream.operators.evaluation import CoVisited, MostAdded, menu_releases, prequential_scores
from cartstream.operators.recommend import Event


def add(event_id: str, user: str, item: str) -> Event:
    return Event(event_id, 0, user, "add", item, "store")


def checkout(event_id: str, user: str) -> Event:
    return Event(event_id, 0, user, "checkout", None, None)


def test_the_first_add_of_an_order_is_judged_by_no_system():
    report = prequential_scores([add("a1", "o1", "x"), checkout("ac", "o1")], {}, catalog_size=1)
    assert all(r["judged"] == 0 for r in report.values())


def test_each_add_is_judged_by_the_list_after_the_diners_previous_event():
    events = [add("a1", "o1", "x"), add("b1", "o2", "y"), add("a2", "o1", "y"), add("b2", "o2", "x")]
    lists = {"a1": (["y"], "model"), "b1": (["z", "y"], "model")}  # o2's list misses x
    report = prequential_scores(events, lists, catalog_size=3, k=10)["cartstream"]
    assert (report["judged"], report["hr@10"], report["mrr@10"], report["missing"]) == (2, 0.5, 0.5, 0)
    assert report["coverage"] == round(2 / 3, 6)


def test_a_list_that_never_came_is_a_miss_and_counted():
    events = [add("a1", "o1", "x"), add("a2", "o1", "y")]
    report = prequential_scores(events, {}, catalog_size=2)["cartstream"]
    assert (report["judged"], report["hr@10"], report["missing"]) == (1, 0.0, 1)


def test_lists_not_ranked_by_the_model_count_as_degraded():
    events = [add("a1", "o1", "x"), add("a2", "o1", "y"), add("a3", "o1", "z")]
    lists = {"a1": (["y"], "popularity"), "a2": (["z"], "model")}
    assert prequential_scores(events, lists, catalog_size=3)["cartstream"]["degraded_share"] == 0.5


def test_a_checkout_ends_the_order_so_the_next_add_starts_a_new_one():
    events = [add("a1", "u", "x"), checkout("ac", "u"), add("b1", "u", "y"), add("b2", "u", "x")]
    lists = {"ac": (["y"], "model"), "b1": (["x"], "model")}
    report = prequential_scores(events, lists, catalog_size=2)
    assert report["cartstream"]["judged"] == 1 and report["cartstream"]["hr@10"] == 1.0


def test_baselines_rank_before_the_add_and_leave_out_the_cart():
    # o1 teaches x+y; in o2, after x the baselines offer y (popularity ranks x first, but x is in the cart).
    events = [add("a1", "o1", "x"), add("a2", "o1", "y"), checkout("ac", "o1"),
              add("b1", "o2", "x"), add("b2", "o2", "y")]
    report = prequential_scores(events, {}, catalog_size=2, k=1)
    # o1 has nothing learnt yet before y: both miss; before o2 adds y, both offer y.
    assert report["popularity"]["judged"] == 2
    assert report["popularity"]["hr@1"] == 0.5 and report["co_visitation"]["hr@1"] == 0.5
    # o1's y had never been added: only o2's y counts among adds of known items.
    assert report["popularity"]["judged_known_items"] == 1 and report["popularity"]["hr@1_known_items"] == 1.0


def test_most_added_keeps_the_same_ranking_as_a_full_sort():
    rng = random.Random(3)
    cached, reference = MostAdded(keep=8), MostAdded(keep=10_000)
    for _ in range(3_000):
        item = f"i{int(rng.paretovariate(1.2)) % 200}"
        cached.learn_one(item)
        reference.learn_one(item)
        exclude = {f"i{rng.randrange(20)}" for _ in range(rng.randrange(6))}
        assert cached.top(5, exclude) == reference.top(5, exclude)


def test_co_visited_counts_each_pair_of_an_order_both_ways():
    covis = CoVisited()
    covis.learn_one("b", ["a"])
    covis.learn_one("c", ["a", "b"])
    covis.learn_one("c", ["a"])
    assert covis.top(["a"], 5) == ["c", "b"] and covis.top(["c"], 5, exclude={"a"}) == ["b"]
    assert covis.top(["a", "b"], 5, exclude={"a", "b"}) == ["c"]


def test_known_and_all_item_scores_come_from_the_same_judged_adds():
    # Judged: o1's y (new), o2's x (known), o2's z (new): only x counts among known items.
    events = [add("a1", "o1", "x"), add("a2", "o1", "y"), checkout("ac", "o1"),
              add("b1", "o2", "y"), add("b2", "o2", "x"), add("b3", "o2", "z")]
    lists = {"b1": (["x"], "model"), "b2": (["q", "z"], "model")}
    report = prequential_scores(events, lists, catalog_size=4, k=2)
    assert {name: (r["judged"], r["judged_known_items"]) for name, r in report.items()} == {
        "cartstream": (3, 1), "popularity": (3, 1), "co_visitation": (3, 1)}
    cartstream = report["cartstream"]
    assert (cartstream["hr@2"], cartstream["hr@2_known_items"], cartstream["mrr@2_known_items"]) == (
        round(2 / 3, 6), 1.0, 1.0)
    # z had never been added, yet the list after b2 held it: the replay leaked the future.
    assert cartstream["hits_on_new_items"] == 1 and report["popularity"]["hits_on_new_items"] == 0


def test_a_menu_item_waits_for_the_list_that_judges_its_first_add():
    stream = [("menu-items", {"item_id": "x"}), ("carts", {"event_id": "a1", "user_id": "o1"}),
              ("menu-items", {"item_id": "y"}), ("carts", {"event_id": "b1", "user_id": "o2"}),
              ("carts", {"event_id": "a2", "user_id": "o1"}),
              ("menu-items", {"item_id": "z"}), ("carts", {"event_id": "a3", "user_id": "o1"})]
    releases = [(r.item["item_id"], r.first_add, r.after) for r in menu_releases(stream)]
    # y opens o2's order: no list judges it. z is judged by the list after a2, o1's latest event.
    assert releases == [("x", 0, None), ("y", 1, None), ("z", 3, "a2")]
