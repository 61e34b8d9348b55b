"""Per-user activity: how many clicks and cart adds a diner made, and which items, most recent first.

Examples
--------
>>> a = updated_activity(None, "click", "i1", 10, recent_limit=2)
>>> a = updated_activity(a, "add", "i2", 20, recent_limit=2)
>>> a = updated_activity(a, "click", "i3", 15, recent_limit=2)
>>> a
{'clicks': 2, 'adds': 1, 'recent_items': ['i3', 'i2'], 'last_event_time': 20}
>>> updated_activity(a, "checkout", None, 30)["recent_items"]
['i3', 'i2']
"""

from __future__ import annotations

EMPTY = {"clicks": 0, "adds": 0, "recent_items": [], "last_event_time": 0}


def updated_activity(activity: dict | None, action: str, item_id: str | None, event_time: int,
                     recent_limit: int = 20) -> dict:
    """The activity after one more event (a click, or a cart action); the input is not modified."""
    activity = activity or EMPTY
    recent = activity["recent_items"]
    if item_id is not None and action in ("click", "add"):
        recent = ([item_id] + [i for i in recent if i != item_id])[:recent_limit]
    return {
        "clicks": activity["clicks"] + (action == "click"),
        "adds": activity["adds"] + (action == "add"),
        "recent_items": recent,
        # Event time, never wall-clock, so a replay rebuilds the same state.
        "last_event_time": max(activity["last_event_time"], event_time),
    }
