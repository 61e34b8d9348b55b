"""Which items are worth scoring for a diner right now, and why each one came up.

With an active cart, a cart belongs to one restaurant: the candidates are that
restaurant's available items not yet in the cart, each with how well its category rounds
off the cart, learnt from co-visitation (`complements_of`). A menu is
usually small enough to score whole; a bigger one (a grocery store) is cut to a
pre-selection of at most ``max_cart_candidates``: co-visitation neighbours of the cart
and recently seen items first, as direct evidence, then the items most like the diner's
taste and the trending ones, alternately. Without a cart: nearest neighbours of the taste vector,
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
...     print(c.item_id, c.sources, c.covisited_with, c.complement_of, round(c.complement, 2))
lassi ('menu',) None None 0.17
naan ('covisitation', 'menu') curry curry 0.67

The one cart that held curry held naan: a side rounds curry off now, more than the usual
rules' third each for a side, a drink and a dessert.

With a cap of one, the co-visited naan is the one kept:

>>> [c.item_id for c in candidates_for(state, catalog, covisitation=covis, trending=trending,
...                                    max_cart_candidates=1)]
['naan']

>>> state.on_cart("checkout", None, quantity=1, event_time=2_000)
>>> [(c.item_id, c.sources) for c in candidates_for(state, catalog, covisitation=covis, trending=trending)]
[('naan', ('covisitation',)), ('pizza', ('trending',))]
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple, Protocol

import numpy as np

from cartstream.operators.catalog import CATEGORIES, Catalog, ItemInfo
from cartstream.operators.item_vectors import ItemVectors
from cartstream.operators.user_state import UserState

__all__ = ["COMPLEMENTS", "COMPLEMENT_MIN_SHARE", "Candidate", "CandidateSource", "candidate_of", "candidates_for",
           "complements_of"]

# Which categories round off a cart holding a given category before co-visitation says
# otherwise: a drink or dessert next to a main, a main after a starter.
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "main": ("side", "drink", "dessert"),
    "starter": ("main", "drink"),
    "side": ("main", "drink"),
    "drink": (),
    "dessert": (),
}

#: A category rounding off a cart item at least this strongly makes "goes with your ...".
#: With no co-visitation yet a main's three complements get a third each, a starter's two half.
COMPLEMENT_MIN_SHARE = 0.2

#: How much the usual rules weigh against co-visitation's evidence, which is at most 1
#: (all of an item's neighbours). At 0.5 the synthetic diners' lists were ranked as well as
#: with the fixed rules alone (HR@10 0.80-0.81 both, the loop of tests/unit/operators).
COMPLEMENT_PRIOR = 0.5

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
        Co-visitation score with the cart items (or, without a cart, recent items): the
        item's neighbour scores summed over them.
    covisited_with
        The one of them it was most often seen with, for "often added with ...".
    complement_of
        The cart item this one rounds off, for "goes with your ...".
    complement
        How strongly its category rounds off the cart (`complements_of`), 0 to 1.
    """

    item: ItemInfo
    sources: tuple[str, ...]
    covisitation: float = 0.0
    covisited_with: str | None = None
    complement_of: str | None = None
    complement: float = 0.0

    @property
    def item_id(self) -> str:
        return self.item.item_id


def candidates_for(
    state: UserState,
    catalog: Catalog,
    *,
    covisitation: Neighbours,
    trending: Popularity,
    taste: np.ndarray | None = None,
    search: Search | None = None,
    vectors: Mapping[str, np.ndarray] | None = None,
    k_ann: int = 50,
    k_neighbours: int = 20,
    k_trending: int = 20,
    max_anchors: int = 5,
    max_cart_candidates: int | None = None,
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
    vectors
        Item id -> vector: with ``taste``, how a big menu is pre-selected by likeness.
    k_ann, k_neighbours, k_trending
        How many items each source contributes at most (before filtering).
    max_anchors
        Without a cart, how many of the most recent items seed co-visitation.
    max_cart_candidates
        With a cart, the most menu items scored; None scores the whole menu.
    """
    if state.cart_restaurant is not None:
        in_cart = _in_cart(state, catalog)
        covisited = _covisited([info.item_id for info in in_cart], covisitation, k_neighbours)
        menu = [info for info in catalog.available_items_of(state.cart_restaurant) if info.item_id not in state.cart]
        if max_cart_candidates is not None and len(menu) > max_cart_candidates:
            menu = _preselected(menu, max_cart_candidates, covisited=covisited, recent_ids=state.recent_ids(),
                                similar=_most_similar(menu, taste, vectors or {}), trending=trending)
        return _cart_candidates(menu, in_cart, covisited, complements_of(in_cart, catalog, covisitation, k_neighbours))

    covisited = _covisited(state.recent_ids()[:max_anchors], covisitation, k_neighbours)
    offered = [
        (CandidateSource.ANN.value, [item_id for item_id, _ in search(taste, k_ann)] if taste is not None and search else []),
        (CandidateSource.COVISITATION.value, covisited),
        (CandidateSource.TRENDING.value, [item_id for item_id, _ in trending.top(k_trending)]),
    ]
    # The sources are offered in name order and list each item once, so every item's
    # sources come out sorted.
    found: dict[str, list[str]] = {}
    for name, item_ids in offered:
        for item_id in item_ids:
            found.setdefault(item_id, []).append(name)

    candidates = []
    get = catalog.items.get
    for item_id in sorted(found):
        info = get(item_id)
        if info is not None and info.available:
            score, anchor = covisited.get(item_id, _NO_NEIGHBOUR)
            candidates.append(Candidate(info, tuple(found[item_id]), score, anchor))
    return candidates


def candidate_of(
    info: ItemInfo,
    state: UserState,
    catalog: Catalog,
    *,
    covisitation: Neighbours,
    k_neighbours: int = 20,
    max_anchors: int = 5,
) -> Candidate:
    """``info`` with the evidence `candidates_for` would give it for ``state``, whether or not
    it would have made the list: how the item a diner acted on looked when it was not shown.

    >>> from cartstream.models.covisitation import CoVisitation
    >>> catalog = Catalog()
    >>> for item in [ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
    ...              ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True)]:
    ...     catalog.upsert(item)
    >>> covis = CoVisitation()
    >>> covis.learn_one("naan", ["curry"], event_time=0)
    >>> state = UserState()
    >>> state.on_cart("add", catalog.get("curry"), quantity=1, event_time=1_000)
    >>> c = candidate_of(catalog.get("naan"), state, catalog, covisitation=covis)
    >>> c.sources, c.covisited_with, c.complement_of
    (('covisitation', 'menu'), 'curry', 'curry')
    """
    if state.cart_restaurant is not None:
        in_cart = [item for item in _in_cart(state, catalog) if item.item_id != info.item_id]
        covisited = _covisited([item.item_id for item in in_cart], covisitation, k_neighbours)
        complements = complements_of(in_cart, catalog, covisitation, k_neighbours)
        [candidate] = _cart_candidates([info], in_cart, covisited, complements)
        return candidate
    score, anchor = _covisited(state.recent_ids()[:max_anchors], covisitation, k_neighbours).get(
        info.item_id, _NO_NEIGHBOUR)
    return Candidate(info, () if anchor is None else (CandidateSource.COVISITATION.value,), score, anchor)


_NO_NEIGHBOUR = (0.0, None)
_MENU = (CandidateSource.MENU.value,)
_MENU_AND_COVISITATION = tuple(sorted((CandidateSource.MENU.value, CandidateSource.COVISITATION.value)))


def _in_cart(state: UserState, catalog: Catalog) -> list[ItemInfo]:
    """The cart's items by id; a deleted item is no anchor."""
    in_cart = [catalog.get(i) for i in sorted(state.cart)]
    return [info for info in in_cart if info is not None]


def _cart_candidates(menu: list[ItemInfo], in_cart: list[ItemInfo], covisited: dict[str, tuple[float, str]],
                     complements: dict[str, tuple[float, str]]) -> list[Candidate]:
    candidates = []
    for info in menu:
        score, anchor = covisited.get(info.item_id, _NO_NEIGHBOUR)
        sources = _MENU if anchor is None else _MENU_AND_COVISITATION
        strength, rounds_off = complements.get(info.category, _NO_NEIGHBOUR)
        complement_of = rounds_off if strength >= COMPLEMENT_MIN_SHARE else None
        candidates.append(Candidate(info, sources, score, anchor, complement_of, strength))
    return candidates


def _preselected(menu: list[ItemInfo], cap: int, *, covisited: dict[str, tuple[float, str]],
                 recent_ids: list[str], similar: list[str], trending: Popularity) -> list[ItemInfo]:
    """At most ``cap`` items of ``menu`` (sorted by id), in the same order.

    Co-visitation neighbours of the cart (best first) and recently seen items (latest
    first) are evidence about this diner and this cart, so they go in first. The rest of
    the budget alternates between the items most like the taste and the trending ones
    (the best ``cap`` of the whole catalog that are on this menu), so neither crowds the
    other out; the menu in id order fills whatever is left when both run dry.
    """
    on_menu = {info.item_id for info in menu}
    covisited_ids = sorted(covisited, key=lambda item_id: (-covisited[item_id][0], item_id))
    popular = [item_id for item_id, score in trending.top(cap) if score > 0]
    kept: dict[str, None] = {}
    offered = itertools.chain(covisited_ids, recent_ids, _alternating(similar, popular), (i.item_id for i in menu))
    for item_id in offered:
        if item_id in on_menu and item_id not in kept:
            kept[item_id] = None
            if len(kept) == cap:
                break
    return [info for info in menu if info.item_id in kept]


def _most_similar(menu: list[ItemInfo], taste: np.ndarray | None, vectors: Mapping[str, np.ndarray]) -> list[str]:
    """Menu item ids by cosine with ``taste``, best first, ties by id; none without a taste."""
    if taste is None:
        return []
    item_ids = [info.item_id for info in menu]
    scores = ItemVectors.of(vectors).cosines(taste, item_ids)
    # A stable sort of a list sorted by id breaks ties by id.
    return [item_ids[n] for n in np.argsort(-scores, kind="stable").tolist() if scores[n] > 0]


def _alternating(*rankings: Iterable[str]) -> Iterator[str]:
    """The first of each ranking, then the second of each, and so on.

    >>> list(_alternating(["a", "b", "c"], ["x"]))
    ['a', 'x', 'b', 'c']
    """
    for row in itertools.zip_longest(*rankings):
        yield from (item_id for item_id in row if item_id is not None)


def _covisited(anchors: list[str], covisitation: Neighbours, k: int) -> dict[str, tuple[float, str]]:
    """Neighbour id -> (its scores summed over the anchors, the anchor with the best one);
    the first anchor wins ties.

    The sum, not the best: an item seen with several of the cart's items is more likely
    next than one seen with a single item as often (on the Instacart subset, summed
    neighbour scores plus popularity reach HR@10 0.066 where the best score plus popularity
    stays at popularity's 0.063).
    """
    summed: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    for anchor in anchors:
        for item_id, score in covisitation.neighbours(anchor, k):
            if item_id in anchors:
                continue
            summed[item_id] = summed.get(item_id, 0.0) + score
            if score > best.get(item_id, _NO_NEIGHBOUR)[0]:
                best[item_id] = (score, anchor)
    return {item_id: (summed[item_id], anchor) for item_id, (_, anchor) in best.items()}


def complements_of(in_cart: list[ItemInfo], catalog: Catalog, covisitation: Neighbours,
                   k: int = 20) -> dict[str, tuple[float, str]]:
    """Category -> (how strongly it rounds off the cart, the cart item it rounds off best);
    only categories missing from the cart, ties to the first cart item.

    Learnt from co-visitation: an item's neighbour scores are shares of everything seen
    with it, and its neighbours of other categories say which categories go with it (those
    of its own category are alternatives a diner looked at, not complements). The usual
    rules, `COMPLEMENTS`, weigh as much as `COMPLEMENT_PRIOR` of that evidence, so a new
    restaurant starts from them and its diners' carts take over as they come in.

    >>> from cartstream.models.covisitation import CoVisitation
    >>> catalog = Catalog()
    >>> for info in [ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
    ...              ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True),
    ...              ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True)]:
    ...     catalog.upsert(info)
    >>> curry = [catalog.get("curry")]
    >>> {c: (round(s, 3), anchor) for c, (s, anchor) in complements_of(curry, catalog, CoVisitation()).items()}
    {'side': (0.333, 'curry'), 'drink': (0.333, 'curry'), 'dessert': (0.333, 'curry')}

    Once curry has been taken with a lassi nine times and never with a dessert, drinks
    round it off, and sides and desserts fall below `COMPLEMENT_MIN_SHARE`:

    >>> covis = CoVisitation()
    >>> for _ in range(9):
    ...     covis.learn_one("lassi", ["curry"], event_time=0)
    >>> {c: round(s, 3) for c, (s, _) in complements_of(curry, catalog, covis).items()}
    {'side': 0.119, 'drink': 0.762, 'dessert': 0.119}
    """
    cart_categories = {info.category for info in in_cart}
    best: dict[str, tuple[float, str]] = {}
    for info in in_cart:
        by_category = dict.fromkeys(CATEGORIES, 0.0)
        for item_id, score in covisitation.neighbours(info.item_id, k):
            if (neighbour := catalog.get(item_id)) is not None and neighbour.category != info.category:
                by_category[neighbour.category] += score
        seen = sum(by_category.values())
        usual = COMPLEMENTS[info.category]
        for category in usual:
            by_category[category] += COMPLEMENT_PRIOR / len(usual)
        for category in by_category:
            by_category[category] /= seen + COMPLEMENT_PRIOR
        for category, strength in by_category.items():
            if category not in cart_categories and strength > best.get(category, _NO_NEIGHBOUR)[0]:
                best[category] = (strength, info.item_id)
    return best
