"""The recommender's in-memory table of `item-stats`: co-visitation neighbours and trending.

Each ItemStats record carries an item's trending score as of the start of its window
(``event_time - event_time % window_ms``). Scores of different items were taken at
different times, so the table brings them all to one clock, the latest window start it
has seen, before comparing them: a record is decayed to the clock on arrival, and every
score is decayed once when the clock moves on (once a window, not once a lookup).

Examples
--------
>>> table = StatsTable(window_ms=60_000, half_life_ms=60_000)
>>> table.apply("naan", {"event_time": 10_000, "trending": 2.0,
...                      "neighbours": [{"item_id": "curry", "score": 0.5}]})
>>> table.apply("curry", {"event_time": 70_000, "trending": 3.0, "neighbours": []})
>>> table.top(2)
[('curry', 3.0), ('naan', 1.0)]
>>> table.neighbours("naan", k=5), table.score("pizza")
([('curry', 0.5)], 0.0)
>>> table.apply("curry", None)  # a deleted item leaves the table
>>> table.top(5)
[('naan', 1.0)]
"""

from __future__ import annotations

import itertools

from cartstream.models.decay import decay_factor

__all__ = ["StatsTable"]


class StatsTable:
    """Latest ItemStats per item, with trending scores brought to one clock.

    Parameters
    ----------
    window_ms
        The item-stats topology's window width.
    half_life_ms
        The item-stats topology's trending half-life.
    top_size
        How many of the most popular items `top` can serve from its cache.
    refresh_every
        The cached ranking is rebuilt after this many updates, or when the clock moves to
        a new window: a full sort per served list would cost more than the list itself.
    """

    def __init__(self, window_ms: int, half_life_ms: float, top_size: int = 200,
                 refresh_every: int = 500) -> None:
        self.window_ms = window_ms
        self.half_life_ms = half_life_ms
        self.top_size = top_size
        self.refresh_every = refresh_every
        self.clock = 0
        self._stale_updates = 0
        self._trending: dict[str, float] = {}
        self._neighbours: dict[str, list[tuple[str, float]]] = {}
        self._top: list[tuple[str, float]] | None = None

    def __len__(self) -> int:
        return len(self._trending)

    def apply(self, item_id: str, stats: dict | None) -> None:
        """Take one `item-stats` record (a dict of ItemStats fields), or a deletion (None)."""
        self._stale_updates += 1
        if stats is None:
            self._trending.pop(item_id, None)
            self._neighbours.pop(item_id, None)
            self._top = None  # a deleted item must never be served
            return
        window_start = stats["event_time"] - stats["event_time"] % self.window_ms
        if window_start > self.clock:
            factor = decay_factor(window_start - self.clock, self.half_life_ms)
            self._trending = {i: score * factor for i, score in self._trending.items()}
            self.clock = window_start
            self._top = None
        elif self._stale_updates >= self.refresh_every:
            self._top = None
        self._trending[item_id] = float(stats["trending"]) * decay_factor(self.clock - window_start, self.half_life_ms)
        self._neighbours[item_id] = [(n["item_id"], float(n["score"])) for n in stats["neighbours"]]

    def score(self, item_id: str) -> float:
        """Trending score as of the table's clock; 0 for an unknown item."""
        return self._trending.get(item_id, 0.0)

    def neighbours(self, item_id: str, k: int) -> list[tuple[str, float]]:
        """The `k` items most often seen with `item_id`, best first."""
        return self._neighbours.get(item_id, [])[:k]

    def top(self, k: int, exclude: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, float]]:
        """The `k` most popular items not in `exclude`, ties broken by item id."""
        if self._top is None:
            self._stale_updates = 0
            ranked = sorted(self._trending.items(), key=lambda s: (-s[1], s[0]))
            self._top = ranked[: self.top_size]
        return list(itertools.islice(((i, s) for i, s in self._top if i not in exclude), k))
