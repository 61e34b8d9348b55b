"""The recommender through the real broker and Redis: food rules, labels, dead letters, mirror."""

from __future__ import annotations

import time

import orjson
import redis

from cartstream.topologies.recommender import model_for

from tests.integration.catalog import BASE_TIME, catalog
from tests.integration.support import consume_until, free_port, get, produce, read_all, samples


def event(user: str, n: int, item: str | None, action: str = "click") -> tuple[str, dict]:
    body = {"event_id": f"{user}-{n}", "event_time": BASE_TIME + n * 60_000, "user_id": user}
    if item is not None:
        body |= {"item_id": item, "restaurant_id": item.split("-")[0]}
    if action != "click":
        body |= {"action": action}
    return user, body


def test_cart_lists_stay_in_the_cart_restaurant_and_skip_unavailable_and_cart_items(settings, topology):
    settings = settings.model_copy(update={"metrics_port": free_port()})  # the same topics, and /metrics
    menu = catalog()
    produce(settings, "menu-items", [(m["item_id"], m) for m in menu])
    produce(settings, "clicks", [event("ann", 1, "r2-0")])
    produce(settings, "carts", [event("ann", 2, "r1-0", "add"), event("ann", 3, "r1-2", "add")])
    topology("recommender", settings)

    recs = consume_until(settings, "recommendations", lambda ms: len(ms) >= 3)
    lists = [orjson.loads(m.value()) for m in recs]
    assert [r["trigger_event_id"] for r in lists] == ["ann-1", "ann-2", "ann-3"]
    timings = orjson.loads(dict(recs[0].headers())["timings_ms"])
    assert set(timings) == {"queued", "process"} and min(timings.values()) >= 0 and timings["process"] > 0
    for rec, cart in ((lists[1], {"r1-0"}), (lists[2], {"r1-0", "r1-2"})):
        ids = [i["item_id"] for i in rec["items"]]
        assert ids, "a cart at r1 must get r1's other items"
        assert all(i["restaurant_id"] == "r1" for i in rec["items"])
        assert "r1-3" not in ids and not cart & set(ids)
        assert all(i["reason"] for i in rec["items"])
    assert {i["item_id"] for i in lists[2]["items"]} == {"r1-1", "r1-4", "r1-5"}
    assert lists[2]["mode"] == "popularity" and lists[2]["model_version"] == 0

    # The mirror holds the latest list under the test's prefix, soon: it is written beside
    # the stream, which never waits for Redis.
    mirror = redis.Redis.from_url(settings.redis_url)
    deadline = time.monotonic() + 10
    while (stored := mirror.get(f"{settings.topic_prefix}recs:ann")) is None or \
            orjson.loads(stored)["trigger_event_id"] != "ann-3":
        assert time.monotonic() < deadline, f"Redis holds {stored!r}, not the latest list"
        time.sleep(0.05)

    # What it did, on /metrics: the list of ann-1 was labelled by ann-2, and ann-2's by ann-3.
    found = samples(settings.metrics_port)
    assert found[("cartstream_events_total", (("topic", settings.topic("clicks")),))] == 1
    assert found[("cartstream_events_total", (("topic", settings.topic("carts")),))] == 2
    assert sum(v for (name, _), v in found.items() if name == "cartstream_recommendations_total") == 3
    assert found[("cartstream_event_to_recommendation_seconds_count", ())] == 3
    assert 0 <= found[("cartstream_online_hr_at_10", (("model", "ranker"),))] <= 1
    assert get(settings.metrics_port, "/health/ready") == (200, "ready\n")


def test_next_action_labels_the_shown_list_and_unknown_items_are_dead_letters(settings, topology):
    produce(settings, "menu-items", [(m["item_id"], m) for m in catalog()])
    # Someone clicked r2-1 before: an action on an item nobody had touched teaches nothing.
    produce(settings, "item-stats", [("r2-1", {"item_id": "r2-1", "event_time": BASE_TIME, "window_ms": 900_000,
                                               "clicks": 1, "adds": 0, "trending": 1.0, "neighbours": []})])
    produce(settings, "carts", [event("bob", 1, "r2-0", "add")])
    produce(settings, "clicks", [event("bob", 2, "r2-1"), event("bob", 3, "nowhere-9")])
    topology("recommender")

    # bob-3 is handled after bob-2, and exactly-once: its dead letter means bob-2's examples are in.
    dead = consume_until(settings, "dead-letters", lambda ms: len(ms) >= 1)
    examples = [orjson.loads(m.value()) for m in read_all(settings, [settings.topic("training-examples")])]
    shown_after_add = {e["item_id"] for e in examples}
    assert len(examples) > 1 and "r2-1" in shown_after_add
    assert {(e["item_id"], e["label"]) for e in examples if e["label"] == 1} == {("r2-1", 1)}
    assert all(e["trigger_event_id"] == "bob-1" and e["model_name"] == "ranker" for e in examples)

    letter = orjson.loads(dead[0].value())
    assert letter["error"] == "unknown item 'nowhere-9': not in menu-items"
    assert letter["source_topic"] == settings.topic("clicks")


def test_without_a_cart_taste_neighbours_come_from_the_vector_index_and_never_unavailable(settings, topology):
    menu = catalog(restaurants=3, items=6, unavailable=("r2-1",))
    produce(settings, "menu-items", [(m["item_id"], m) for m in menu])
    topology("embedder")
    consume_until(settings, "item-vectors", lambda ms: len(ms) >= len(menu))
    produce(settings, "clicks", [event("cat", 1, "r2-0"), event("cat", 2, "r2-2")])
    topology("recommender")
    lists = [orjson.loads(m.value()) for m in consume_until(settings, "recommendations", lambda ms: len(ms) >= 2)]
    for rec in lists:
        ids = [i["item_id"] for i in rec["items"]]
        assert ids and "r2-1" not in ids
        assert rec["mode"] == "similarity"
    assert any(i["reason"].startswith("similar to") for i in lists[-1]["items"])



def test_an_ab_split_serves_each_diner_one_arm_and_labels_and_counts_by_arm(settings, topology):
    arms = ["ranker-a", "ranker-b"]
    split = settings.model_copy(update={"model_names": arms, "metrics_port": free_port()})
    produce(split, "menu-items", [(m["item_id"], m) for m in catalog()])
    # Someone clicked r1-1 before: acting on it teaches the arm something.
    produce(split, "item-stats", [("r1-1", {"item_id": "r1-1", "event_time": BASE_TIME, "window_ms": 900_000,
                                            "clicks": 1, "adds": 0, "trending": 1.0, "neighbours": []})])
    diners = [f"diner{n}" for n in range(12)]
    produce(split, "clicks", [event(d, 1, "r1-0") for d in diners] + [event(d, 2, "r1-1") for d in diners])
    topology("recommender", split)

    lists = [orjson.loads(m.value()) for m in
             consume_until(split, "recommendations", lambda ms: len(ms) >= 2 * len(diners))]
    arm_of = {d: model_for(d, arms) for d in diners}
    assert set(arm_of.values()) == set(arms), "twelve diners fall in both arms"
    assert all(rec["model_name"] == arm_of[rec["user_id"]] for rec in lists)
    # Each diner's second click labels the list its arm showed, under that arm's name.
    examples = [(m.key().decode(), orjson.loads(m.value()))
                for m in read_all(split, [split.topic("training-examples")])]
    assert {e["user_id"] for _, e in examples} == set(diners)
    assert all(key == e["model_name"] == arm_of[e["user_id"]] for key, e in examples)
    found = samples(split.metrics_port)
    for arm in arms:
        served = sum(v for (name, labels), v in found.items()
                     if name == "cartstream_recommendations_total" and ("model", arm) in labels)
        assert served == 2 * sum(a == arm for a in arm_of.values())
        assert ("cartstream_online_hr_at_10", (("model", arm),)) in found
