"""What the recommender remembers about one diner, kept in per-user state as a JSON dict.

Examples
--------
>>> from cartstream.operators.catalog import ItemInfo
>>> curry = ItemInfo("i1", "r1", "Butter Chicken", "main", "indian", 12.0, False)
>>> lassi = ItemInfo("i2", "r1", "Mango Lassi", "drink", "indian", 4.0, True)
>>> pizza = ItemInfo("i3", "r2", "Margherita", "main", "italian", 10.0, True)

>>> state = UserState()
>>> state.on_click(curry, event_time=1_000)
>>> state.on_cart("add", curry, quantity=2, event_time=2_000)
>>> state.on_cart("add", lassi, quantity=1, event_time=3_000)
>>> state.cart_restaurant, state.cart
('r1', {'i1': 2, 'i2': 1})

Adding an item of another restaurant starts a new cart, as food apps do:

>>> state.on_cart("add", pizza, quantity=1, event_time=4_000)
>>> state.cart_restaurant, state.cart
('r2', {'i3': 1})
>>> state.recent_ids()
['i3', 'i2', 'i1']
>>> round(state.cuisine_share("indian"), 2), round(state.veg_ratio(), 2)
(0.71, 0.57)
>>> UserState.from_dict(state.to_dict()).to_dict() == state.to_dict()
True
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

import numpy as np

from cartstream.models.decay import DecayedWeights, decay_factor
from cartstream.operators.catalog import ItemInfo
from cartstream.operators.item_vectors import ItemVectors

__all__ = ["CART_ACTIONS", "UserState"]

CART_ACTIONS = ("add", "remove", "clear", "checkout")

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class UserState:
    """Recent items, the active cart, decayed tastes and the last list shown to one diner.

    Parameters
    ----------
    half_life_ms
        Half-life of the category, cuisine, veg and price memory.
    taste_half_life_ms
        Half-life of the recency weights in `taste_vector`: shorter, because the taste
        vector follows what the diner is looking at now.
    max_recent
        How many distinct recent items to keep.
    cart_ttl_ms
        A cart untouched for this long is abandoned; the next event starts without it.
    add_weight
        How much a cart add counts towards the tastes, relative to a click: adding is a
        stronger sign of intent than looking.

    Attributes
    ----------
    recent
        ``[item_id, restaurant_id, event_time]`` rows, oldest first, one per item.
    cart_restaurant
        The restaurant of the active cart, or None.
    cart
        Item id -> quantity in the active cart.
    profile
        Decayed weights: ``n`` (observations), ``veg``, ``price`` (price-weighted),
        ``category:<name>`` and ``cuisine:<name>``. Tastes are ratios of these, so they
        do not depend on when they are read.
    shown
        The last list shown: ``{"items": [[item_id, features], ...], "trigger_event_id",
        "event_time"}``, or None.
    """

    def __init__(
        self,
        half_life_ms: float = 14 * DAY_MS,
        taste_half_life_ms: float = HOUR_MS,
        max_recent: int = 20,
        cart_ttl_ms: int = 6 * HOUR_MS,
        add_weight: float = 2.0,
    ) -> None:
        self.taste_half_life_ms = taste_half_life_ms
        self.max_recent = max_recent
        self.cart_ttl_ms = cart_ttl_ms
        self.add_weight = add_weight
        self.recent: list[list] = []
        self.cart_restaurant: str | None = None
        self.cart: dict[str, int] = {}
        self.cart_time: int | None = None
        self.profile = DecayedWeights(half_life_ms)
        self.shown: dict | None = None

    # -- events ---------------------------------------------------------------------------

    def on_click(self, item: ItemInfo, event_time: int) -> None:
        """The diner looked at ``item``."""
        self._expire_cart(event_time)
        self._touch(item, event_time)
        self._observe(item, 1.0, event_time)

    def on_cart(self, action: str, item: ItemInfo | None, quantity: int, event_time: int) -> None:
        """Apply one cart event: ``add``, ``remove``, ``clear`` or ``checkout``.

        ``item`` is required for add and remove and ignored otherwise. Removing an item that
        is not in the cart does nothing: the event is old news, not an error.
        """
        if action not in CART_ACTIONS:
            raise ValueError(f"action must be one of {CART_ACTIONS}, got {action!r}")
        self._expire_cart(event_time)
        if action in ("clear", "checkout"):
            self._clear_cart()
            return
        if item is None:
            raise ValueError(f"a cart {action} needs an item")
        if action == "add":
            if item.restaurant_id != self.cart_restaurant:
                self._clear_cart()
                self.cart_restaurant = item.restaurant_id
            self.cart[item.item_id] = self.cart.get(item.item_id, 0) + quantity
            self.cart_time = event_time
            self._touch(item, event_time)
            self._observe(item, self.add_weight, event_time)
        elif item.item_id in self.cart:
            left = self.cart[item.item_id] - quantity
            if left > 0:
                self.cart[item.item_id] = left
            else:
                del self.cart[item.item_id]
            self.cart_time = event_time
            if not self.cart:
                self._clear_cart()

    def show(
        self, items: list[tuple[str, Mapping[str, float]]], trigger_event_id: str, event_time: int,
        listed: Mapping[str, list[str]] | None = None,
    ) -> None:
        """Remember the list just shown, with its features, so the next action labels it;
        ``listed``: the item ids each ranking policy listed (see ``Ranking.listed``)."""
        self.shown = {
            "items": [[item_id, dict(features)] for item_id, features in items],
            "trigger_event_id": trigger_event_id,
            "event_time": event_time,
        }
        if listed:
            self.shown["listed"] = {policy: list(ids) for policy, ids in listed.items()}

    def take_shown(self) -> dict | None:
        """The last list shown, forgotten on the way out so that it is labelled only once."""
        shown, self.shown = self.shown, None
        return shown

    # -- what the state says ----------------------------------------------------------------

    def recent_ids(self) -> list[str]:
        """Recent item ids, most recent first."""
        return [row[0] for row in reversed(self.recent)]

    def session_ids(self, event_time: int, session_gap_ms: int = 30 * 60_000) -> list[str]:
        """Recent items seen within ``session_gap_ms`` before ``event_time``, most recent first:
        the session an item seen at ``event_time`` joins, for co-visitation."""
        return [row[0] for row in reversed(self.recent) if 0 <= event_time - row[2] <= session_gap_ms]

    @property
    def current_restaurant(self) -> str | None:
        """The cart's restaurant, else the restaurant of the latest item: the menu in view."""
        if self.cart_restaurant is not None:
            return self.cart_restaurant
        return self.recent[-1][1] if self.recent else None

    def category_share(self, category: str) -> float:
        """Decayed share of the diner's items in ``category``; 0 with no history."""
        return self._ratio(f"category:{category}")

    def cuisine_share(self, cuisine: str) -> float:
        """Decayed share of the diner's items of ``cuisine``; 0 with no history."""
        return self._ratio(f"cuisine:{cuisine}")

    def veg_ratio(self) -> float | None:
        """Decayed share of vegetarian items, or None with no history."""
        return self._ratio("veg") if self.profile.get("n") > 0 else None

    def price_band(self) -> float | None:
        """Decayed mean price of the diner's items, or None with no history."""
        return self._ratio("price") if self.profile.get("n") > 0 else None

    def taste_vector(self, vectors: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """Recency-weighted mean of the recent items' vectors, unit length.

        Items without a vector are skipped; None if none has one (or they cancel out).
        """
        vectors = ItemVectors.of(vectors)
        rows = vectors.rows_of([item_id for item_id, _, _ in self.recent])
        found = rows >= 0
        if not found.any():
            return None
        times = np.array([t for _, _, t in self.recent], dtype=float)[found]
        # Unit rows: every item counts alike, whatever its vector's length.
        taste = decay_factor(times[-1] - times, self.taste_half_life_ms) @ vectors.unit_rows(rows[found])
        norm = float(np.linalg.norm(taste))
        return taste / norm if norm > 0 else None

    # -- serialization ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "taste_half_life_ms": self.taste_half_life_ms,
            "max_recent": self.max_recent,
            "cart_ttl_ms": self.cart_ttl_ms,
            "add_weight": self.add_weight,
            "recent": [list(row) for row in self.recent],
            "cart_restaurant": self.cart_restaurant,
            "cart": dict(self.cart),
            "cart_time": self.cart_time,
            "profile": self.profile.to_dict(),
            "shown": self.shown,
        }

    @classmethod
    def from_dict(cls, data: dict) -> UserState:
        state = cls(
            half_life_ms=data["profile"]["half_life_ms"],
            taste_half_life_ms=data["taste_half_life_ms"],
            max_recent=data["max_recent"],
            cart_ttl_ms=data["cart_ttl_ms"],
            add_weight=data["add_weight"],
        )
        state.recent = [list(row) for row in data["recent"]]
        state.cart_restaurant = data["cart_restaurant"]
        state.cart = dict(data["cart"])
        state.cart_time = data["cart_time"]
        state.profile = DecayedWeights.from_dict(data["profile"])
        state.shown = data["shown"]
        return state

    # -- internals --------------------------------------------------------------------------

    def _touch(self, item: ItemInfo, event_time: int) -> None:
        previous = next((row for row in self.recent if row[0] == item.item_id), None)
        if previous is not None:
            if previous[2] >= event_time:
                return  # a late event says nothing newer about this item
            self.recent.remove(previous)
        # Kept sorted by event time, so late events land where they belong.
        times = [row[2] for row in self.recent]
        row = [item.item_id, item.restaurant_id, event_time]
        self.recent.insert(bisect.bisect_right(times, event_time), row)
        del self.recent[: max(0, len(self.recent) - self.max_recent)]

    def _observe(self, item: ItemInfo, weight: float, event_time: int) -> None:
        self.profile.add(
            {
                "n": weight,
                "veg": weight if item.veg else 0.0,
                "price": weight * item.price,
                f"category:{item.category}": weight,
                f"cuisine:{item.cuisine}": weight,
            },
            event_time,
        )
        # Cuisines are open-ended; forgotten ones fade to nothing and are dropped.
        self.profile.prune(min_weight=1e-6 * self.profile.get("n"))

    def _ratio(self, key: str) -> float:
        n = self.profile.get("n")
        return self.profile.get(key) / n if n > 0 else 0.0

    def _expire_cart(self, event_time: int) -> None:
        if self.cart_time is not None and event_time - self.cart_time > self.cart_ttl_ms:
            self._clear_cart()

    def _clear_cart(self) -> None:
        self.cart_restaurant = None
        self.cart = {}
        self.cart_time = None

