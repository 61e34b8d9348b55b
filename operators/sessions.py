"""A diner's current session: which items were clicked or added together, for co-visitation.

A session ends after ``gap_ms`` of event time without an event from the diner, or at a cart
``clear`` or ``checkout``. Each click or add of an item reports the items the session already
held, so every pair of a session is counted once, as it forms (see ``CoVisitation.learn_one``).
Only event time decides, so the same events in the same order give the same sessions.

Examples
--------
>>> tracker = SessionTracker(gap_ms=1_000)
>>> tracker.learn_one("click", "curry", 0)
()
>>> tracker.learn_one("add", "naan", 100)
('curry',)
>>> tracker.learn_one("add", "curry", 200)  # already in the session: its pairs are counted
()
>>> tracker.learn_one("checkout", None, 300)
>>> tracker.learn_one("click", "pizza", 400)  # a new session after the checkout
()
>>> tracker.learn_one("click", "cola", 5_000)  # and another after a silent gap
()
>>> tracker.items
['cola']
"""

from __future__ import annotations

__all__ = ["SessionTracker"]

#: Actions that put an item into the session.
ITEM_ACTIONS = frozenset({"click", "add"})
#: Actions after which the diner starts afresh.
ENDING_ACTIONS = frozenset({"clear", "checkout"})


class SessionTracker:
    """The items of one diner's current session, bounded, with event-time boundaries.

    Parameters
    ----------
    gap_ms
        A session ends when the next event comes more than this much event time after the
        latest one.
    max_items
        Items kept per session; the least recently seen go first, so a long browse costs
        bounded state and bounded fan-out per event.

    Attributes
    ----------
    items
        The session's distinct items, least recently seen first.
    last_event_time
        The latest event time seen, or None before the first event.
    ended_at
        Event time of the latest clear or checkout, or None: events at or before it
        belong to the ended session, even when they arrive after it.
    """

    def __init__(self, gap_ms: int, max_items: int = 50) -> None:
        if gap_ms <= 0:
            raise ValueError(f"gap_ms must be positive, got {gap_ms}")
        if max_items <= 0:
            raise ValueError(f"max_items must be positive, got {max_items}")
        self.gap_ms = gap_ms
        self.max_items = max_items
        self.items: list[str] = []
        self.last_event_time: int | None = None
        self.ended_at: int | None = None

    def learn_one(self, action: str, item_id: str | None, event_time: int) -> tuple[str, ...] | None:
        """Apply one event; for a click or add, the items it joins (sorted), else None.

        An event too old for the current session (more than ``gap_ms`` behind the latest
        one, or not after the latest checkout) joins nothing and leaves the session as it
        is: the session it belonged to is gone, and pairing it with today's items would be
        wrong.
        """
        joins = action in ITEM_ACTIONS and item_id is not None
        if not self._belongs(event_time):
            return () if joins else None
        if self.last_event_time is not None and event_time - self.last_event_time > self.gap_ms:
            self.items = []
        self.last_event_time = event_time if self.last_event_time is None else max(self.last_event_time, event_time)
        if action in ENDING_ACTIONS:
            self.items = []
            self.ended_at = event_time
            return None
        if not joins:
            return None
        if item_id in self.items:
            self.items.remove(item_id)
            held: tuple[str, ...] = ()
        else:
            held = tuple(sorted(self.items))
        self.items = (self.items + [item_id])[-self.max_items:]
        return held

    def _belongs(self, event_time: int) -> bool:
        if self.ended_at is not None and event_time <= self.ended_at:
            return False
        return self.last_event_time is None or self.last_event_time - event_time <= self.gap_ms

    def to_dict(self) -> dict:
        return {
            "gap_ms": self.gap_ms,
            "max_items": self.max_items,
            "items": list(self.items),
            "last_event_time": self.last_event_time,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SessionTracker:
        tracker = cls(data["gap_ms"], data["max_items"])
        tracker.items = list(data["items"])
        tracker.last_event_time = data["last_event_time"]
        tracker.ended_at = data["ended_at"]
        return tracker
