"""Training examples from outcomes: what the diner did next with the list we showed.

Examples
--------
>>> shown = {
...     "items": [["lassi", {"similarity": 0.6}], ["naan", {"similarity": 0.2}]],
...     "trigger_event_id": "e1",
...     "event_time": 1_000,
... }
>>> for example in examples_from(shown, "naan", event_time=5_000):
...     print(example["item_id"], example["label"], example["features"])
lassi 0 {'similarity': 0.6}
naan 1 {'similarity': 0.2}
>>> examples_from(None, "naan", event_time=5_000)
[]
"""

from __future__ import annotations

__all__ = ["example", "examples_from"]

# After this long, the next action answers some other list, not the one we showed.
MAX_DELAY_MS = 30 * 60_000


def examples_from(
    shown: dict | None, acted_item_id: str, event_time: int, max_delay_ms: int = MAX_DELAY_MS
) -> list[dict]:
    """One example per shown item: label 1 for the item acted on, 0 for the others.

    Parameters
    ----------
    shown
        The list shown, as kept by `UserState.show` (take it with `UserState.take_shown`,
        so that a list is labelled once), or None if nothing was shown.
    acted_item_id
        The item the diner clicked or added to the cart next.
    event_time
        Event time of that action; it becomes the example's event time.
    max_delay_ms
        An action later than this after the list, or earlier than it (out of order),
        labels nothing.

    Returns
    -------
    Dicts with ``item_id``, ``trigger_event_id``, ``event_time``, ``features`` and
    ``label``, the fields of a TrainingExample short of model name and user id.
    """
    if shown is None or not 0 <= event_time - shown["event_time"] <= max_delay_ms:
        return []
    return [example(shown, item_id, features, int(item_id == acted_item_id), event_time)
            for item_id, features in shown["items"]]


def example(shown: dict, item_id: str, features: dict[str, float], label: int, event_time: int) -> dict:
    """One labelled example of ``item_id`` for the list ``shown`` (the shape of `examples_from`'s)."""
    return {"item_id": item_id, "trigger_event_id": shown["trigger_event_id"], "event_time": event_time,
            "features": features, "label": label}
