"""item-stats through the real broker: sessions -> group_by(item_id) -> windowed counts, trending, neighbours."""

from __future__ import annotations

import itertools

import orjson

from cartstream.schemas.item_stats import ItemStats

from tests.integration.support import consume_until, produce, read_all

T = 1_767_225_600_000  # 2026-01-01 00:00 UTC: the start of a 15-minute window
MINUTE = 60_000

# (minute, user, action, item); "click" goes to `clicks`, the rest to `carts`.
EVENTS = [
    (0, "ann", "click", "curry"),
    (1, "ann", "add", "curry"),
    (1, "bob", "click", "curry"),
    (2, "ann", "add", "naan"),
    (2, "bob", "add", "curry"),
    (3, "ann", "click", "lassi"),
    (3, "bob", "add", "rice"),
    (4, "ann", "add", "lassi"),
    (5, "ann", "checkout", None),  # ends ann's session: pizza is another meal
    (6, "ann", "click", "pizza"),
    (7, "ann", "add", "pizza"),
    (8, "cat", "click", "curry"),
    (9, "cat", "add", "curry"),
    (50, "bob", "add", "sushi"),  # 47 minutes after bob's last event: a new session
]
# One output per item an event touches: the item, plus each item already in its session.
EXPECTED_OUTPUTS = 17


def event(minute: int, user: str, action: str, item: str | None) -> tuple[str, str, dict]:
    body = {"event_id": f"{user}-{minute}-{action}", "event_time": T + minute * MINUTE, "user_id": user}
    if item is not None:
        body |= {"item_id": item, "restaurant_id": "r1"}
    if action == "click":
        return "clicks", user, body
    return "carts", user, body | {"action": action}


def produce_in_order(settings, records: list[tuple[str, str, bytes | dict]]) -> None:
    """Produce in this order across both topics: Quix reads them aligned by record timestamp."""
    for topic, run in itertools.groupby(records, key=lambda r: r[0]):
        produce(settings, topic, [(key, value) for _, key, value in run])


def latest_by_item(messages) -> dict[str, ItemStats]:
    return {m.key().decode(): ItemStats.from_json(m.value()) for m in messages}


def neighbours(stats: ItemStats) -> set[str]:
    return {n.item_id for n in stats.neighbours}


def test_sessions_become_neighbours_window_counts_and_trending(settings, topology):
    records = [event(*e) for e in EVENTS]
    cat_click = next(r for r in records if r[1] == "cat" and r[0] == "clicks")
    records.insert(records.index(cat_click) + 1, cat_click)  # a duplicate: counted once
    records.insert(0, ("clicks", "ann", b'{"event_id": "broken", "event_time": '))
    produce_in_order(settings, records)
    topology("item-stats")

    def settled(messages) -> bool:
        latest = latest_by_item(messages)
        return len(messages) >= EXPECTED_OUTPUTS and "sushi" in latest and latest["curry"].adds == 3

    consume_until(settings, "item-stats", settled, timeout=120)
    out = read_all(settings, [settings.topic("item-stats")])
    assert len(out) == EXPECTED_OUTPUTS
    stats = latest_by_item(out)

    # Added or clicked together in one session: each other's neighbours, both ways.
    assert neighbours(stats["curry"]) == {"naan", "lassi", "rice"}
    assert neighbours(stats["naan"]) == {"curry", "lassi"}
    assert neighbours(stats["lassi"]) == {"curry", "naan"}
    assert neighbours(stats["rice"]) == {"curry"}
    # After the checkout and after the gap, new sessions: no pairs with what came before.
    assert neighbours(stats["pizza"]) == set()
    assert neighbours(stats["sushi"]) == set()
    assert all(0 < n.score < 1 for n in stats["curry"].neighbours)

    # Window counts: curry's last update is cat's add at minute 9, in the first window.
    curry = stats["curry"]
    assert (curry.event_time, curry.window_ms) == (T + 9 * MINUTE, settings.window_ms)
    assert (curry.clicks, curry.adds) == (3, 3)
    assert (stats["sushi"].clicks, stats["sushi"].adds, stats["sushi"].event_time) == (0, 1, T + 50 * MINUTE)

    # Trending as of the window start: clicks 1, adds 2, all in the same window here.
    assert curry.trending == 3 * 1 + 3 * 2
    assert stats["rice"].trending == 2
    # Messages of different windows compare after decaying to one window start.
    sushi = stats["sushi"]
    windows_between = (sushi.event_time // settings.window_ms - curry.event_time // settings.window_ms)
    curry_then = curry.trending * 2 ** -(windows_between * settings.window_ms / settings.trending_half_life_ms)
    assert curry_then > sushi.trending > 0

    # The malformed record went to dead-letters, and the topology kept going.
    dead = consume_until(settings, "dead-letters", lambda ms: len(ms) >= 1)
    letter = orjson.loads(dead[0].value())
    assert letter["source_topic"] == settings.topic("clicks")
    assert letter["error"]
