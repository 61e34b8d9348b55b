"""The ranker's view of a candidate: a fixed set of float features, and a reason to show.

Examples
--------
>>> import numpy as np
>>> from cartstream.models.trending import Trending
>>> from cartstream.operators.candidates import Candidate
>>> from cartstream.operators.catalog import Catalog, ItemInfo
>>> from cartstream.operators.user_state import UserState
>>> catalog = Catalog()
>>> catalog.upsert(ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False))
>>> catalog.upsert(ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True))
>>> vectors = {"curry": np.array([1.0, 0.0]), "lassi": np.array([0.6, 0.8])}
>>> trending = Trending()
>>> trending.learn_one("lassi", event_time=0)
>>> state = UserState()
>>> state.on_cart("add", catalog.get("curry"), quantity=1, event_time=6 * 3_600_000)
>>> lassi = Candidate(catalog.get("lassi"), ("menu",), complement_of="curry", complement=0.333)
>>> [features] = features_for([lassi], state, event_time=6 * 3_600_000, vectors=vectors, trending=trending)
>>> {name: round(value, 3) for name, value in features.items()}  # doctest: +NORMALIZE_WHITESPACE
{'similarity': 0.6, 'covisitation': 0.0, 'popularity': 0.693, 'category_affinity': 0.0,
 'cuisine_affinity': 1.0, 'veg_match': 0.0, 'price_fit': 0.333, 'hour_sin': 1.0,
 'hour_cos': 0.0, 'same_restaurant': 1.0, 'complement_strength': 0.333}
>>> reasons_for([(lassi, features)], state=state, catalog=catalog, vectors=vectors)
['goes with your Butter Chicken']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from cartstream.operators.candidates import Candidate, CandidateSource
from cartstream.operators.catalog import Catalog, ItemInfo
from cartstream.operators.item_vectors import ItemVectors
from cartstream.operators.user_state import UserState

__all__ = ["FEATURE_NAMES", "feature_matrix", "features_for", "reasons_for"]

FEATURE_NAMES = (
    "similarity",
    "covisitation",
    "popularity",
    "category_affinity",
    "cuisine_affinity",
    "veg_match",
    "price_fit",
    "hour_sin",
    "hour_cos",
    "same_restaurant",
    "complement_strength",
)

DAY_MS = 86_400_000

# Below this cosine, "similar to ..." would overstate the likeness.
SIMILAR_ENOUGH = 0.3


class Scores(Protocol):
    def score(self, item_id: str) -> float: ...


def features_for(
    candidates: Sequence[Candidate],
    state: UserState,
    *,
    event_time: int,
    vectors: Mapping[str, np.ndarray] | None = None,
    trending: Scores | None = None,
) -> list[dict[str, float]]:
    """One dict per candidate, in order, with exactly the keys of `FEATURE_NAMES`: the rows
    of `feature_matrix` for the diner's `UserState.taste_vector`."""
    taste = state.taste_vector(vectors or {})
    matrix = feature_matrix(candidates, state, event_time=event_time, vectors=vectors, taste=taste,
                            trending=trending)
    return [dict(zip(FEATURE_NAMES, row)) for row in matrix.tolist()]


def feature_matrix(
    candidates: Sequence[Candidate],
    state: UserState,
    *,
    event_time: int,
    vectors: Mapping[str, np.ndarray] | None = None,
    taste: np.ndarray | None = None,
    trending: Scores | None = None,
) -> np.ndarray:
    """The features of the candidates, one row per candidate, one column per `FEATURE_NAMES` name.

    A list is scored as a whole, so the recommender makes dicts only of the rows it shows.
    Unknowns take a fixed value instead of going missing, so the model always sees the
    same inputs: no vector (or no ``taste``, the diner's `UserState.taste_vector`) ->
    similarity 0, no history -> veg match and price fit 0.5. The hour is the UTC hour of
    ``event_time``, never of the wall clock.
    """
    vectors = vectors or {}
    items = [c.item for c in candidates]
    veg_ratio = state.veg_ratio()
    price_band = state.price_band()
    angle = 2 * math.pi * (event_time % DAY_MS) / DAY_MS
    restaurant = state.current_restaurant
    # Shares depend only on the category or cuisine: computed once per list, not per item.
    category_share = {category: state.category_share(category) for category in {i.category for i in items}}
    cuisine_share = {cuisine: state.cuisine_share(cuisine) for cuisine in {i.cuisine for i in items}}
    columns = {
        "similarity": ItemVectors.of(vectors).cosines(taste, [i.item_id for i in items]),
        "covisitation": [c.covisitation for c in candidates],
        # Counts are heavy-tailed; the log keeps one viral item from dwarfing the rest.
        "popularity": np.log1p([trending.score(i.item_id) for i in items]) if trending is not None else 0.0,
        "category_affinity": [category_share[i.category] for i in items],
        "cuisine_affinity": [cuisine_share[i.cuisine] for i in items],
        "veg_match": 0.5 if veg_ratio is None else [veg_ratio if i.veg else 1.0 - veg_ratio for i in items],
        "price_fit": 0.5 if price_band is None else _closeness(np.array([i.price for i in items]), price_band),
        "hour_sin": math.sin(angle),
        "hour_cos": math.cos(angle),
        "same_restaurant": [i.restaurant_id == restaurant for i in items],
        "complement_strength": [c.complement for c in candidates],
    }
    matrix = np.empty((len(candidates), len(FEATURE_NAMES)))
    for n, name in enumerate(FEATURE_NAMES):
        matrix[:, n] = columns[name]
    return matrix


def reasons_for(
    listed: Sequence[tuple[Candidate, Mapping[str, float]]],
    *,
    state: UserState,
    catalog: Catalog,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> list[str]:
    """A short reason a diner can read for each listed (candidate, features), from the
    strongest evidence for it."""
    similar_to = _closest_recent([c.item for c, _ in listed], state, catalog, vectors or {})
    return [_reason(c, f, similar_to.get(c.item_id), catalog) for c, f in listed]


def _reason(candidate: Candidate, features: Mapping[str, float], similar_to: str | None, catalog: Catalog) -> str:
    if candidate.complement_of is not None and (anchor := catalog.get(candidate.complement_of)):
        return f"goes with your {anchor.name}"
    if candidate.covisited_with is not None and (anchor := catalog.get(candidate.covisited_with)):
        return f"often added with {anchor.name}"
    if features["similarity"] >= SIMILAR_ENOUGH and similar_to is not None and (anchor := catalog.get(similar_to)):
        return f"similar to {anchor.name}"
    if CandidateSource.TRENDING in candidate.sources or features["popularity"] > 0:
        return "popular right now"
    if features["same_restaurant"]:
        return "more from this restaurant"
    return "picked for you"


def _closest_recent(items: Sequence[ItemInfo], state: UserState, catalog: Catalog,
                    vectors: Mapping[str, np.ndarray]) -> dict[str, str]:
    """Each item's most similar recent item, at a cosine of at least SIMILAR_ENOUGH; ties go
    to the most recent. Never the item itself, nor one of the same name (another
    restaurant's Fish Tacos would make "Fish Tacos: similar to Fish Tacos"). One product
    for the whole list."""
    recent = state.recent_ids()  # most recent first, so argmax gives ties to it
    if not items or not recent or not vectors:
        return {}
    vectors = ItemVectors.of(vectors)
    item_rows = vectors.rows_of([item.item_id for item in items])
    recent_rows = vectors.rows_of(recent)
    known_items, known_recent = item_rows >= 0, recent_rows >= 0
    scores = np.full((len(items), len(recent)), -np.inf, dtype=np.float32)
    if known_items.any() and known_recent.any():
        scores[np.ix_(known_items, known_recent)] = (vectors.unit_rows(item_rows[known_items])
                                                     @ vectors.unit_rows(recent_rows[known_recent]).T)
    recent_names = [info.name if (info := catalog.get(i)) is not None else None for i in recent]
    for n, item in enumerate(items):
        for j, (recent_id, name) in enumerate(zip(recent, recent_names)):
            if recent_id == item.item_id or name == item.name:
                scores[n, j] = -np.inf
    best = scores.argmax(axis=1)
    return {item.item_id: recent[j]
            for item, j, score in zip(items, best.tolist(), scores[np.arange(len(best)), best].tolist())
            if score >= SIMILAR_ENOUGH}


def _closeness(prices: np.ndarray, band: float) -> np.ndarray:
    # A ratio, not a difference: 2 vs 4 is as far apart as 10 vs 20.
    return np.minimum(prices, band) / np.maximum(prices, band)
