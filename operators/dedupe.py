"""Suppress duplicate events (same event_id) per Kafka key, within an event-time window.

The remembered ids live in the topology's per-key Quix Streams ``State``, so they move with
their partition and survive restarts through the changelog topic. Memory stays bounded two
ways: ids older than the window, measured in event time from the newest event seen for the
key, are forgotten, and at most ``max_ids`` ids are kept per key (the oldest go first).
Event time, never wall-clock time, decides, so replaying a log suppresses the same events.

Examples
--------
>>> class DictState:
...     def __init__(self): self.data = {}
...     def get(self, key, default=None): return self.data.get(key, default)
...     def set(self, key, value): self.data[key] = value
>>> dedupe = DuplicateFilter(window_ms=60_000)
>>> state = DictState()
>>> [dedupe.is_new(state, event_id, t) for event_id, t in
...  [("e1", 1_000), ("e2", 2_000), ("e1", 1_000), ("e3", 90_000), ("e1", 1_000)]]
[True, True, False, True, True]

The last ``e1`` is 89 seconds behind the key's newest event, outside the one-minute window,
so it is no longer remembered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class KeyState(Protocol):
    """The part of Quix Streams' per-key ``State`` that dedupe uses; values must be JSON."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under key, or default."""

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serializable value under key."""


@dataclass(frozen=True, slots=True)
class DuplicateFilter:
    """Remembers recent event ids per key and tells whether an event is seen for the first time.

    Parameters
    ----------
    window_ms
        How long, in event time behind the newest event of the key, an id is remembered.
    max_ids
        At most this many ids are remembered per key; beyond it the oldest are forgotten.
    state_key
        The name under which the ids are stored in the key's state.
    """

    window_ms: int
    max_ids: int = 1000
    state_key: str = "dedupe"

    def __post_init__(self) -> None:
        if self.window_ms <= 0:
            raise ValueError(f"window_ms must be positive, got {self.window_ms}")
        if self.max_ids <= 0:
            raise ValueError(f"max_ids must be positive, got {self.max_ids}")

    def is_new(self, state: KeyState, event_id: str, event_time: int) -> bool:
        """Record the event and return True the first time its id is seen in the window, else False.

        An event older than the window (behind the key's newest event by more than
        ``window_ms``) is let through unremembered: the window is the promise.
        """
        stored = state.get(self.state_key)
        # State holds {"newest": event time, "seen": {event_id: event time}}.
        seen: dict[str, int] = stored["seen"] if stored else {}
        newest = max(stored["newest"], event_time) if stored else event_time
        horizon = newest - self.window_ms
        # Entries behind the horizon may linger until the next write; they no longer count.
        if seen.get(event_id, horizon - 1) >= horizon:
            return False
        if event_time < horizon:
            return True
        # A fresh dict: a state store may hand back its cached object, which must not change
        # until set() is called.
        kept = {i: t for i, t in seen.items() if t >= horizon}
        kept[event_id] = event_time
        if len(kept) > self.max_ids:
            # Forget the oldest by event time (ties by id), so the choice is replay-stable.
            oldest = sorted(kept.items(), key=lambda it: (it[1], it[0]))[: len(kept) - self.max_ids]
            for old_id, _ in oldest:
                del kept[old_id]
        state.set(self.state_key, {"newest": newest, "seen": kept})
        return True
