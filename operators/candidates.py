"""Which items are worth scoring for a diner right now, and why each one came up.

With an active cart, a cart belongs to one restaurant: the candidates are all of that
restaurant's available items not yet in the cart (menus are small, so all are scored),
with complements flagged. Without a cart: nearest neighbours of the taste vector,
co-visitation neighbours of recent items, and trending items for cold start. Recent
items may come back (reordering a favourite is common in food); cart items never do.
Unknown and unavailable items never become candidates.

Examples
--------
>>> from cartstream.models.covisitation import CoVisitation
>>> from cartstream.models.trending import Trending
>>> from cartstream.operators.catalog import Catalog, ItemInfo
>>> from cartstream.operators.user_state import UserState
>>> catalog = Catalog()
>>> for info in [
...     ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
...     ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True),
...     ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True),
...     ItemInfo("kulfi", "r1", "Kulfi", "dessert", "indian", 5.0, True, available=False),
...     ItemInfo("pizza", "r2", "Margherita", "main", "italian", 10.0, True),
... ]:
...     catalog.upsert(info)
>>> covis, trending = CoVisitation(), Trending()
>>> covis.learn_one("naan", ["curry"], event_time=0)
>>> trending.learn_one("pizza", event_time=0)

>>> state = UserState()
>>> state.on_cart("add", catalog.get("curry"), quantity=1, event_time=1_000)
>>> for c in candidates_for(state, catalog, covisitation=covis, trending=trending):
...     print(c.item_id, c.sources, c.complement_of, c.covisited_with)
lassi ('menu',) curry None
naan ('covisitation', 'menu') curry curry

>>> state.on_cart("checkout", None, quantity=1, event_time=2_000)
>>> [(c.item_id, c.sources) for c in candidates_for(state, catalog, covisitation=covis, trending=trending)]
[('naan', ('covisitation',)), ('pizza', ('trending',))]
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import NamedTuple, Protocol

import numpy as np

from cartstream.operators.catalog import Catalog, ItemInfo
from cartstream.operators.user_state import UserState

__all__ = ["COMPLEMENTS", "Candidate", "CandidateSource", "candidates_for"]

# Which categories round off a cart holding a given category: a drink or dessert next to
# a main, a main after a starter. Only categories missing from the cart count.
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "main": ("side", "drink", "dessert"),
    "starter": ("main", "drink"),
    "side": ("main", "drink"),
    "drink": (),
    "dessert": (),
}

Search = Callable[[np.ndarray, int], list[tuple[str, float]]]


class CandidateSource(enum.StrEnum):
    """Where a candidate came from; strings, so they travel in JSON as they are."""

    MENU = "menu"
    ANN = "ann"
    COVISITATION = "covisitation"
    TRENDING = "trending"


class Neighbours(Protocol):
    def neighbours(self, item_id: str, k: int) -> list[tuple[str, float]]: ...


class Popularity(Protocol):
    def top(self, k: int) -> list[tuple[str, float]]: ...


class Candidate(NamedTuple):
    """One item to score, with the evidence that brought it up.

    A named tuple, not a frozen dataclass: a list makes dozens per event, and a tuple is
    built in half the time.

    Attributes
    ----------
    item
        The item itself.
    sources
        Every `CandidateSource` that produced it, sorted.
    covisitation
        Best co-visitation score with the cart items (or, without a cart, recent items).
    covisited_with
        The item that gave that score, for "often added with ...".
    complement_of
        The cart item this one rounds off, for "goes with your ...".
    """

    item: ItemInfo
    sources: tuple[str, ...]
    covisitation: float = 0.0
    covisited_with: str | None = None
    complement_of: str | None = None

    @property
    def item_id(self) -> str:
        return self.item.item_id

    @property
    def complement(self) -> bool:
        return self.complement_of is not None


def candidates_for(
    state: UserState,
    catalog: Catalog,
    *,
    covisitation: Neighbours,
    trending: Popularity,
    taste: np.ndarray | None = None,
    search: Search | None = None,
    k_ann: int = 50,
    k_neighbours: int = 20,
    k_trending: int = 20,
    max_anchors: int = 5,
) -> list[Candidate]:
    """The candidates for ``state``, sorted by item id.

    Parameters
    ----------
    state
        The diner.
    catalog
        Decides what exists and is available.
    covisitation
        Anything with ``neighbours(item_id, k)``, such as `CoVisitation`.
    trending
        Anything with ``top(k)``, such as `Trending`.
    taste
        The diner's `UserState.taste_vector`, the query of the nearest-neighbour source.
        Without it (or ``search``), that source is skipped.
    search
        ``search(vector, k) -> [(item_id, score), ...]``: the vector index.
    k_ann, k_neighbours, k_trending
        How many items each source contributes at most (before filtering).
    max_anchors
        Without a cart, how many of the most recent items seed co-visitation.
    """
    if state.cart_restaurant is not None:
        return _cart_candidates(state, catalog, covisitation, k_neighbours)

    best = _best_neighbours(state.recent_ids()[:max_anchors], covisitation, k_neighbours)
    offered = [
        (CandidateSource.ANN, [item_id for item_id, _ in search(taste, k_ann)] if taste is not None and search else []),
        (CandidateSource.COVISITATION, best),
        (CandidateSource.TRENDING, [item_id for item_id, _ in trending.top(k_trending)]),
    ]
    found: dict[str, set[str]] = {}
    for source, item_ids in offered:
        name = source.value
        for item_id in item_ids:
            found.setdefault(item_id, set()).add(name)

    candidates = []
    for item_id in sorted(found):
        info = catalog.get(item_id)
        if info is not None and info.available:
            score, anchor = best.get(item_id, (0.0, None))
            candidates.append(Candidate(info, tuple(sorted(found[item_id])), score, covisited_with=anchor))
    return candidates


def _cart_candidates(state: UserState, catalog: Catalog, covisitation: Neighbours, k: int) -> list[Candidate]:
    in_cart = [catalog.get(i) for i in sorted(state.cart)]
    in_cart = [info for info in in_cart if info is not None]  # a deleted item is no anchor
    best = _best_neighbours([info.item_id for info in in_cart], covisitation, k)
    cart_categories = {info.category for info in in_cart}
    candidates = []
    for info in catalog.available_items_of(state.cart_restaurant):
        if info.item_id in state.cart:
            continue
        score, anchor = best.get(info.item_id, (0.0, None))
        sources = {CandidateSource.MENU.value}
        if anchor is not None:
            sources.add(CandidateSource.COVISITATION.value)
        candidates.append(
            Candidate(
                item=info,
                sources=tuple(sorted(sources)),
                covisitation=score,
                covisited_with=anchor,
                complement_of=_complemented(info, in_cart, cart_categories),
            )
        )
    return candidates


def _best_neighbours(anchors: list[str], covisitation: Neighbours, k: int) -> dict[str, tuple[float, str]]:
    """Neighbour id -> (best score, the anchor that gave it); the first anchor wins ties."""
    best: dict[str, tuple[float, str]] = {}
    for anchor in anchors:
        for item_id, score in covisitation.neighbours(anchor, k):
            if item_id not in anchors and score > best.get(item_id, (0.0, None))[0]:
                best[item_id] = (score, anchor)
    return best


def _complemented(info: ItemInfo, in_cart: list[ItemInfo], cart_categories: set[str]) -> str | None:
    """The first cart item (by id) that ``info`` rounds off, if its category is missing."""
    if info.category in cart_categories:
        return None
    for other in in_cart:
        if info.category in COMPLEMENTS[other.category]:
            return other.item_id
    return None
