"""Per-user activity: how many clicks a diner made and which items, most recent first.

Examples
--------
>>> a = updated_activity(None, {"item_id": "i1", "event_time": 10}, recent_limit=2)
>>> a = updated_activity(a, {"item_id": "i2", "event_time": 20}, recent_limit=2)
>>> a = updated_activity(a, {"item_id": "i3", "event_time": 15}, recent_limit=2)
>>> a
{'clicks': 3, 'recent_items': ['i3', 'i2'], 'last_event_time': 20}
"""

from __future__ import annotations


def updated_activity(activity: dict | None, click: dict, recent_limit: int = 20) -> dict:
    """The activity after one more click; the input is not modified."""
    activity = activity or {"clicks": 0, "recent_items": [], "last_event_time": 0}
    item_id = click["item_id"]
    recent = [item_id] + [i for i in activity["recent_items"] if i != item_id]
    return {
        "clicks": activity["clicks"] + 1,
        "recent_items": recent[:recent_limit],
        # Event time, never wall-clock, so a replay rebuilds the same state.
        "last_event_time": max(activity["last_event_time"], click["event_time"]),
    }
