"""Items that go together: decayed counts of items added to one cart or clicked in one session.

Examples
--------
A diner puts a curry, naan and a lassi in one cart; another takes curry with rice:

>>> covis = CoVisitation(half_life_ms=86_400_000)
>>> covis.learn_one("naan", ["curry"], event_time=1_000)
>>> covis.learn_one("lassi", ["curry", "naan"], event_time=1_000)
>>> covis.learn_one("rice", ["curry"], event_time=1_000)
>>> covis.neighbours("curry", k=2)
[('lassi', 0.25), ('naan', 0.25)]
>>> covis.neighbours("tiramisu", k=2)
[]
"""

from __future__ import annotations

from collections.abc import Iterable

from cartstream.models.decay import DecayedWeights

__all__ = ["CoVisitation"]


class CoVisitation:
    """Symmetric co-occurrence counts with event-time decay and bounded memory.

    Each item keeps a row of its neighbours' decayed co-occurrence weights. A neighbour's
    score is its share of the row, ``w / (row total + prior)``: a conditional frequency,
    comparable across items, unchanged by when it is read (decay scales a whole row at
    once), and damped by the prior for items seen only once or twice.

    Parameters
    ----------
    half_life_ms
        Event time after which a co-occurrence counts half.
    max_neighbours
        Neighbours kept per item; the lightest are dropped first.
    max_items
        Rows kept; the least recently updated (in log order) is dropped first.
    prior
        Pseudo-count added to every row total.
    """

    def __init__(
        self,
        half_life_ms: float = 7 * 86_400_000,
        max_neighbours: int = 50,
        max_items: int = 100_000,
        prior: float = 1.0,
    ) -> None:
        self.half_life_ms = half_life_ms
        self.max_neighbours = max_neighbours
        self.max_items = max_items
        self.prior = prior
        self.rows: dict[str, DecayedWeights] = {}

    def learn_one(
        self, item_id: str, session_items: Iterable[str], event_time: int, weight: float = 1.0
    ) -> None:
        """``item_id`` joined a cart or session that already held ``session_items``.

        Feeding each new item with what came before counts every pair of a session once,
        as it forms, so the counts are fresh while the session is still going.
        """
        for other in sorted(set(session_items) - {item_id}):
            self._bump(item_id, other, weight, event_time)
            self._bump(other, item_id, weight, event_time)

    def neighbours(self, item_id: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` items most often seen with ``item_id``, best first, ties by item id."""
        row = self.rows.get(item_id)
        if row is None:
            return []
        denominator = row.total() + self.prior
        return [(other, w / denominator) for other, w in row.top(k)]

    def to_dict(self) -> dict:
        return {
            "half_life_ms": self.half_life_ms,
            "max_neighbours": self.max_neighbours,
            "max_items": self.max_items,
            "prior": self.prior,
            "rows": {item_id: row.to_dict() for item_id, row in self.rows.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> CoVisitation:
        covis = cls(data["half_life_ms"], data["max_neighbours"], data["max_items"], data["prior"])
        covis.rows = {item_id: DecayedWeights.from_dict(row) for item_id, row in data["rows"].items()}
        return covis

    def _bump(self, item_id: str, other: str, weight: float, event_time: int) -> None:
        # Re-inserting moves the row to the end, so dict order is update order and the
        # first row is the least recently updated one (preserved through to_dict/JSON).
        row = self.rows.pop(item_id, None)
        if row is None:
            row = DecayedWeights(self.half_life_ms)
        row.add({other: weight}, event_time)
        row.prune(max_keys=self.max_neighbours)
        self.rows[item_id] = row
        if len(self.rows) > self.max_items:
            del self.rows[next(iter(self.rows))]
