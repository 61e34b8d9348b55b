"""The synthetic food world: valid messages, food-ordering habits, and choices that follow hidden tastes."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

import orjson
import pytest

from cartstream.operators.validation import Accepted, validate_record
from cartstream.topologies.synthetic import DINNER_HOURS, HOUR_MS, LUNCH_HOURS, FoodWorld


@pytest.fixture(scope="module")
def world() -> FoodWorld:
    return FoodWorld.generate(seed=5, restaurants=12, diners=80)


@pytest.fixture(scope="module")
def stream(world) -> list[tuple[str, dict]]:
    return world.events(sessions=6)


def sessions_of(stream) -> dict[str, list[tuple[str, dict]]]:
    by_session = defaultdict(list)
    for topic, event in stream:
        by_session[event["session_id"]].append((topic, event))
    return by_session


def test_the_same_seed_gives_the_same_world_and_another_seed_another(world, stream):
    again = FoodWorld.generate(seed=5, restaurants=12, diners=80)
    assert again.menu == world.menu and again.diners == world.diners
    assert again.events(sessions=6) == stream
    assert FoodWorld.generate(seed=6, restaurants=12, diners=80).events(sessions=6) != stream


def test_every_message_meets_its_topic_contract(world, stream):
    for item in world.menu:
        assert isinstance(validate_record("menu-items", item["item_id"].encode(), orjson.dumps(item)), Accepted)
    for topic, event in stream:
        assert isinstance(validate_record(topic, event["user_id"].encode(), orjson.dumps(event)), Accepted), event


def test_restaurants_serve_every_category_of_one_cuisine_with_unique_ids(world):
    ids = [m["item_id"] for m in world.menu]
    assert len(ids) == len(set(ids))
    by_restaurant = defaultdict(list)
    for m in world.menu:
        by_restaurant[m["restaurant_id"]].append(m)
    assert len(by_restaurant) == 12
    for items in by_restaurant.values():
        assert len({m["cuisine"] for m in items}) == 1
        assert {m["category"] for m in items} == {"main", "side", "starter", "drink", "dessert"}
        assert any(m["veg"] for m in items if m["category"] == "main")
        assert len(items) > 10  # more than a list holds, so ranking within a menu matters


def test_events_come_in_event_time_order_with_unique_ids(stream):
    times = [event["event_time"] for _, event in stream]
    assert times == sorted(times)
    assert len({event["event_id"] for _, event in stream}) == len(stream)


def test_a_cart_holds_one_restaurant_usually_a_main_with_complements_and_ends_in_checkout(world, stream):
    category = {m["item_id"]: m["category"] for m in world.menu}
    sessions = sessions_of(stream)
    with_complement = checked_out = 0
    for events in sessions.values():
        assert len({e["restaurant_id"] for _, e in events if "restaurant_id" in e}) == 1
        adds = [category[e["item_id"]] for _, e in events if e.get("action") == "add"]
        assert adds[0] == "main"
        with_complement += any(c in ("drink", "side", "dessert", "starter") for c in adds[1:])
        checked_out += events[-1][1].get("action") == "checkout"
        assert all(e.get("action") != "checkout" for _, e in events[:-1])
    assert with_complement / len(sessions) > 0.6
    assert 0.85 < checked_out / len(sessions) < 1.0  # a few carts are abandoned
    actions = Counter(e.get("action", "click") for _, e in stream)
    assert actions["remove"] > 0 and actions["click"] > 0


def test_sessions_start_at_the_diners_meal_hours(world, stream):
    meal_hours = {d.user_id: d.meal_hours for d in world.diners}
    for events in sessions_of(stream).values():
        first = events[0][1]
        hour = first["event_time"] % (24 * HOUR_MS) // HOUR_MS
        assert hour in meal_hours[first["user_id"]]
        assert hour in LUNCH_HOURS + DINNER_HOURS


def test_choices_follow_the_hidden_tastes(world, stream):
    items = {m["item_id"]: m for m in world.menu}
    diners = {d.user_id: d for d in world.diners}
    adds = [(diners[e["user_id"]], items[e["item_id"]]) for _, e in stream if e.get("action") == "add"]

    # Vegetarians add vegetarian items only; most orders are of a favourite cuisine.
    assert all(item["veg"] for diner, item in adds if diner.veg)
    favourite = sum(item["cuisine"] in diner.cuisines for diner, item in adds) / len(adds)
    assert favourite > 0.8

    # Price-sensitive diners pay less for their mains than diners who ignore prices.
    mains = defaultdict(list)
    for diner, item in adds:
        if item["category"] == "main":
            mains[diner.price_sensitivity].append(item["price"])
    assert statistics.mean(mains[2.0]) < statistics.mean(mains[0.0]) - 0.5

    # Drink lovers take a drink far more often than diners who rarely do.
    drinks = defaultdict(list)
    for events in sessions_of(stream).values():
        diner = diners[events[0][1]["user_id"]]
        drinks[diner.drink_rate > 0.6].append(any(
            items[e["item_id"]]["category"] == "drink" for _, e in events if e.get("action") == "add"))
    assert statistics.mean(drinks[True]) > statistics.mean(drinks[False]) + 0.25
