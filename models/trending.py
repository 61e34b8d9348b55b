"""What is popular right now: event-time tumbling windows of counts, older windows decayed.

Examples
--------
>>> trending = Trending(window_ms=60_000, half_life_ms=60_000)
>>> for item_id, t in [("pizza", 0), ("pizza", 10_000), ("sushi", 20_000), ("ramen", 70_000)]:
...     trending.learn_one(item_id, event_time=t)
>>> trending.top(3)
[('pizza', 1.0), ('ramen', 1.0), ('sushi', 0.5)]
>>> trending.top(2, exclude={"pizza"})
[('ramen', 1.0), ('sushi', 0.5)]
>>> trending.score("pizza"), trending.score("tiramisu")
(1.0, 0.0)
"""

from __future__ import annotations

from cartstream.models.decay import DecayedWeights

__all__ = ["Trending", "window_start_of"]


def window_start_of(event_time: int, window_ms: int) -> int:
    """Start of the tumbling window, aligned on the Unix epoch, that holds ``event_time``.

    >>> window_start_of(125_000, window_ms=60_000)
    120000
    """
    return event_time - event_time % window_ms


class Trending:
    """Decayed popularity per item, where time advances one tumbling window at a time.

    Events within one window count alike, so the ranking does not jitter with every event,
    and the decay (a pass over all items) runs once per window rather than once per event.
    A late event is discounted by the windows it missed.

    Parameters
    ----------
    window_ms
        Width of the tumbling windows, aligned on the Unix epoch.
    half_life_ms
        Event time after which a window's counts count half.
    max_items
        Items kept; the least popular are dropped first when a window closes.
    min_score
        Items whose score fades below this are dropped when a window closes.
    """

    def __init__(
        self,
        window_ms: int = 15 * 60_000,
        half_life_ms: float = 3 * 3_600_000,
        max_items: int = 100_000,
        min_score: float = 1e-3,
    ) -> None:
        self.window_ms = window_ms
        self.max_items = max_items
        self.min_score = min_score
        self.scores = DecayedWeights(half_life_ms)

    @property
    def window_start(self) -> int | None:
        """Start of the latest window seen, or None before the first event."""
        return self.scores.clock

    def learn_one(self, item_id: str, event_time: int, weight: float = 1.0) -> None:
        """Count one event (a click, or a cart add with a larger weight) for ``item_id``."""
        window_start = window_start_of(event_time, self.window_ms)
        closing = self.scores.clock is not None and window_start > self.scores.clock
        self.scores.add({item_id: weight}, window_start)
        if closing:
            self.scores.prune(max_keys=self.max_items, min_weight=self.min_score)

    def score(self, item_id: str) -> float:
        """Decayed count as of the latest window; 0 for an item never seen."""
        return self.scores.get(item_id)

    def top(self, k: int, exclude: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, float]]:
        """The ``k`` most popular items not in ``exclude``, ties broken by item id."""
        return self.scores.top(k, exclude)

    def to_dict(self) -> dict:
        return {
            "window_ms": self.window_ms,
            "max_items": self.max_items,
            "min_score": self.min_score,
            "scores": self.scores.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Trending:
        half_life_ms = data["scores"]["half_life_ms"]
        trending = cls(data["window_ms"], half_life_ms, data["max_items"], data["min_score"])
        trending.scores = DecayedWeights.from_dict(data["scores"])
        return trending
