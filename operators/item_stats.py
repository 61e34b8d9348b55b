"""Per-item statistics behind an ``ItemStats`` message: window counts, trending, co-visitation.

One click or cart add of item X that joined a session already holding S becomes one update
for X (count the event, X gains S) and one for each Y in S (Y gains X): co-visitation is
symmetric, and each item's state lives under its own key. Every update leaves the item's
state a function of the updates it has seen, read by event time only.

Examples
--------
Ann adds a curry, then naan to the same session; Bob clicks the curry later in the window
(``T`` is 2026-01-01 00:00 UTC, the start of a window):

>>> T = 1_767_225_600_000
>>> updates = updates_for("naan", "add", T + 60_000, held=("curry",))
>>> [(u["item_id"], u["action"], u["with"]) for u in updates]
[('naan', 'add', ['curry']), ('curry', None, ['naan'])]

>>> curry = ItemStatsState("curry", window_ms=900_000, trending_half_life_ms=3_600_000)
>>> curry.learn_one(T, "add")
>>> curry.learn_one(T + 60_000, None, ["naan"])
>>> curry.learn_one(T + 120_000, "click")
>>> stats = curry.to_message(k=5)
>>> stats.event_time - T, stats.clicks, stats.adds, stats.trending
(120000, 1, 1, 3.0)
>>> [(n.item_id, round(n.score, 3)) for n in stats.neighbours]
[('naan', 0.5)]

An hour later a new window starts its counts afresh, and trending has halved before the
new click counts:

>>> curry.learn_one(T + 3_600_000, "click")
>>> stats = curry.to_message(k=5)
>>> stats.clicks, stats.adds, stats.trending
(1, 0, 2.5)
"""

from __future__ import annotations

from collections.abc import Iterable

from cartstream.models.decay import DecayedWeights
from cartstream.models.trending import window_start_of
from cartstream.schemas.base import MAX_LIST_ITEMS
from cartstream.schemas.item_stats import ItemStats

__all__ = ["ACTION_WEIGHTS", "ItemStatsState", "updates_for"]

#: How much one event counts towards trending: adding to a cart says more than looking.
ACTION_WEIGHTS = {"click": 1.0, "add": 2.0}


def updates_for(item_id: str, action: str, event_time: int, held: Iterable[str]) -> list[dict]:
    """The per-item updates made by ``item_id`` joining a session that held ``held``.

    Each is a JSON dict ``{"item_id", "event_time", "action", "with"}``: ``action`` is the
    click or add to count (None for the neighbours, whose own events were counted when
    they happened) and ``with`` the items it was seen with, sorted.
    """
    others = sorted(set(held) - {item_id})
    own = {"item_id": item_id, "event_time": event_time, "action": action, "with": others}
    return [own] + [{"item_id": other, "event_time": event_time, "action": None, "with": [item_id]}
                    for other in others]


class ItemStatsState:
    """What one item's ``ItemStats`` is made of, updated one event at a time.

    Parameters
    ----------
    item_id
        The item the state belongs to.
    window_ms
        Width of the tumbling windows of the counts, aligned on the Unix epoch.
    trending_half_life_ms
        Event time after which a window's weighted events count half in trending.
    covisitation_half_life_ms
        Event time after which a co-visit counts half.
    max_neighbours
        Neighbours kept; the lightest are dropped first. At least the largest K a message
        may carry, so every top-K is a true top-K of what is kept.
    prior
        Pseudo-count added to the row total in neighbour scores, as in ``CoVisitation``.

    Attributes
    ----------
    clock
        The latest event time of any update, or None before the first.
    clicks, adds
        Clicks and cart adds of the item in the current window.
    trending
        The item's weighted event count, decayed by whole windows to `window_start`: every
        event counts as if it happened at the start of its window, like ``Trending``.
    row
        Co-visited items and their decayed co-visit counts, as of `clock`.
    """

    def __init__(
        self,
        item_id: str,
        window_ms: int = 15 * 60_000,
        trending_half_life_ms: float = 3 * 3_600_000,
        covisitation_half_life_ms: float = 7 * 86_400_000,
        max_neighbours: int = MAX_LIST_ITEMS,
        prior: float = 1.0,
    ) -> None:
        if window_ms <= 0:
            raise ValueError(f"window_ms must be positive, got {window_ms}")
        self.item_id = item_id
        self.window_ms = window_ms
        self.max_neighbours = max_neighbours
        self.prior = prior
        self.clock: int | None = None
        self.clicks = 0
        self.adds = 0
        self.trending = DecayedWeights(trending_half_life_ms)
        self.row = DecayedWeights(covisitation_half_life_ms)

    def learn_one(self, event_time: int, action: str | None = None, seen_with: Iterable[str] = ()) -> None:
        """Apply one update: count a ``click`` or ``add`` (if given), co-visit ``seen_with``.

        Every update moves the clock forward to its event time, so the counts and scores of
        the message that follows describe the window of the newest event. A late event
        still adds to trending and co-visitation, discounted by how late it is; it adds to
        the counts only if its window is still the current one.
        """
        previous = self.window_start
        self.clock = event_time if self.clock is None else max(self.clock, event_time)
        current = self.window_start
        if current != previous:
            self.clicks, self.adds = 0, 0
        event_window = window_start_of(event_time, self.window_ms)
        if action is not None:
            if action not in ACTION_WEIGHTS:
                raise ValueError(f"action must be one of {sorted(ACTION_WEIGHTS)} or None, got {action!r}")
            if event_window == current:
                self.clicks += action == "click"
                self.adds += action == "add"
        # An empty update still moves the decay clocks on, so both read as of the clock.
        self.trending.add({self.item_id: ACTION_WEIGHTS[action]} if action else {}, event_window)
        self.row.add({other: 1.0 for other in seen_with}, event_time)
        self.row.prune(max_keys=self.max_neighbours)

    @property
    def window_start(self) -> int | None:
        """Start of the window that holds the clock: the current window."""
        return None if self.clock is None else window_start_of(self.clock, self.window_ms)

    def neighbours(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` items most often seen with this one, with their share of the row."""
        return self.row.top_shares(k, self.prior)

    def to_message(self, k: int) -> ItemStats:
        """The item's ``ItemStats`` as of its clock, with its top-``k`` neighbours."""
        if self.clock is None:
            raise ValueError(f"item {self.item_id!r} has no events yet")
        return ItemStats(
            item_id=self.item_id,
            event_time=self.clock,
            window_ms=self.window_ms,
            clicks=self.clicks,
            adds=self.adds,
            trending=self.trending.get(self.item_id),
            neighbours=[{"item_id": other, "score": score} for other, score in self.neighbours(k)],
        )

    def to_dict(self) -> dict:
        return {
            "item_id": self.item_id,
            "window_ms": self.window_ms,
            "max_neighbours": self.max_neighbours,
            "prior": self.prior,
            "clock": self.clock,
            "clicks": self.clicks,
            "adds": self.adds,
            "trending": self.trending.to_dict(),
            "row": self.row.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ItemStatsState:
        state = cls(data["item_id"], data["window_ms"], data["trending"]["half_life_ms"],
                    data["row"]["half_life_ms"], data["max_neighbours"], data["prior"])
        state.clock = data["clock"]
        state.clicks = data["clicks"]
        state.adds = data["adds"]
        state.trending = DecayedWeights.from_dict(data["trending"])
        state.row = DecayedWeights.from_dict(data["row"])
        return state
