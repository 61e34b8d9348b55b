"""user-activity through the real broker: per-user state, exactly-once output, changelog recovery."""

from __future__ import annotations

import shutil

import orjson

from tests.integration.support import consume_until, produce, read_all


def clicks(user: str, items: list[str], start: int) -> list[tuple[str, dict]]:
    return [
        (user, {"event_id": f"{user}-{start + n}", "event_time": 1_767_225_600_000 + (start + n) * 1000,
                "user_id": user, "item_id": item, "restaurant_id": "r1"})
        for n, item in enumerate(items)
    ]


def latest_by_user(messages) -> dict[str, dict]:
    return {m.key().decode(): orjson.loads(m.value()) for m in messages}


def test_user_activity_state_survives_restart_from_changelog(settings, topology):
    produce(settings, "clicks", clicks("ann", ["a", "b", "c"], 0) + clicks("bob", ["x"], 0))
    first = topology("user-activity")
    out = consume_until(settings, "user-activity", lambda ms: len(ms) >= 4)
    assert latest_by_user(out)["ann"] == {
        "user_id": "ann", "clicks": 3, "adds": 0, "recent_items": ["c", "b", "a"],
        "last_event_time": 1_767_225_602_000,
    }
    assert first.stop() == 0

    # Wipe the local state: the restarted instance must rebuild it from the changelog topic.
    shutil.rmtree(settings.state_dir)
    produce(settings, "clicks", clicks("ann", ["a"], 3))
    topology("user-activity")
    consume_until(settings, "user-activity", lambda ms: len(ms) >= 5)
    out = read_all(settings, [settings.topic("user-activity")])
    assert len(out) == 5, "an input was processed twice or an output duplicated"
    ann = latest_by_user(out)["ann"]
    assert ann["clicks"] == 4
    assert ann["recent_items"] == ["a", "c", "b"]
