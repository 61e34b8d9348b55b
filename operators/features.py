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
>>> lassi = Candidate(catalog.get("lassi"), ("menu",), complement_of="curry")
>>> [features] = features_for([lassi], state, event_time=6 * 3_600_000, vectors=vectors, trending=trending)
>>> {name: round(value, 3) for name, value in features.items()}  # doctest: +NORMALIZE_WHITESPACE
{'similarity': 0.6, 'covisitation': 0.0, 'popularity': 0.693, 'category_affinity': 0.0,
 'cuisine_affinity': 1.0, 'veg_match': 0.0, 'price_fit': 0.333, 'hour_sin': 1.0,
 'hour_cos': 0.0, 'same_restaurant': 1.0, 'complement': 1.0}
>>> reason_for(lassi, features, state=state, catalog=catalog, vectors=vectors)
'goes with your Butter Chicken'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from cartstream.operators.candidates import Candidate, CandidateSource
from cartstream.operators.catalog import Catalog
from cartstream.operators.user_state import UserState

__all__ = ["FEATURE_NAMES", "features_for", "reason_for"]

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
    "complement",
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
    """One dict per candidate, in order, with exactly the keys of `FEATURE_NAMES`.

    Unknowns take a fixed value instead of going missing, so the model always sees the
    same inputs: no vector -> similarity 0, no history -> veg match and price fit 0.5.
    The hour is the UTC hour of ``event_time``, never of the wall clock.
    """
    vectors = vectors or {}
    taste = state.taste_vector(vectors)
    similarity = _similarities(taste, [c.item_id for c in candidates], vectors)
    veg_ratio = state.veg_ratio()
    price_band = state.price_band()
    angle = 2 * math.pi * (event_time % DAY_MS) / DAY_MS
    hour_sin, hour_cos = math.sin(angle), math.cos(angle)
    restaurant = state.current_restaurant
    # Shares depend only on the category or cuisine: computed once per list, not per item.
    category_share: dict[str, float] = {}
    cuisine_share: dict[str, float] = {}

    rows = []
    for c, sim in zip(candidates, similarity):
        item = c.item
        if item.category not in category_share:
            category_share[item.category] = state.category_share(item.category)
        if item.cuisine not in cuisine_share:
            cuisine_share[item.cuisine] = state.cuisine_share(item.cuisine)
        rows.append(
            {
                "similarity": sim,
                "covisitation": float(c.covisitation),
                # Counts are heavy-tailed; the log keeps one viral item from dwarfing the rest.
                "popularity": math.log1p(trending.score(item.item_id)) if trending is not None else 0.0,
                "category_affinity": category_share[item.category],
                "cuisine_affinity": cuisine_share[item.cuisine],
                "veg_match": 0.5 if veg_ratio is None else (veg_ratio if item.veg else 1.0 - veg_ratio),
                "price_fit": 0.5 if price_band is None else _closeness(item.price, price_band),
                "hour_sin": hour_sin,
                "hour_cos": hour_cos,
                "same_restaurant": float(item.restaurant_id == restaurant),
                "complement": float(c.complement),
            }
        )
    return rows


def reason_for(
    candidate: Candidate,
    features: Mapping[str, float],
    *,
    state: UserState,
    catalog: Catalog,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> str:
    """A short reason a diner can read, from the strongest evidence for the candidate."""
    if candidate.complement_of is not None and (anchor := catalog.get(candidate.complement_of)):
        return f"goes with your {anchor.name}"
    if candidate.covisited_with is not None and (anchor := catalog.get(candidate.covisited_with)):
        return f"often added with {anchor.name}"
    if features["similarity"] >= SIMILAR_ENOUGH and vectors:
        closest = _closest_recent(candidate.item_id, state, vectors)
        if closest is not None and (anchor := catalog.get(closest)):
            return f"similar to {anchor.name}"
    if CandidateSource.TRENDING in candidate.sources or features["popularity"] > 0:
        return "popular right now"
    if features["same_restaurant"]:
        return "more from this restaurant"
    return "picked for you"


def _closest_recent(item_id: str, state: UserState, vectors: Mapping[str, np.ndarray]) -> str | None:
    """The recent item (not the candidate itself) most like the candidate; ties by recency."""
    target = vectors.get(item_id)
    best, best_score = None, SIMILAR_ENOUGH
    for recent_id in state.recent_ids():  # most recent first, so it wins ties
        if recent_id == item_id:
            continue
        score = _cosine(target, vectors.get(recent_id))
        if score > best_score or (best is None and score == best_score):
            best, best_score = recent_id, score
    return best


def _closeness(price: float, band: float) -> float:
    # A ratio, not a difference: 2 vs 4 is as far apart as 10 vs 20.
    return min(price, band) / max(price, band)


def _similarities(taste: np.ndarray | None, item_ids: Sequence[str],
                  vectors: Mapping[str, np.ndarray]) -> list[float]:
    """Cosine of the taste vector with each item's vector (0 without one), in one product."""
    scores = [0.0] * len(item_ids)
    if taste is None:
        return scores
    rows = [(n, vectors[i]) for n, i in enumerate(item_ids) if i in vectors]
    if not rows:
        return scores
    matrix = np.stack([v for _, v in rows]).astype(np.float64, copy=False)
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(taste))
    dots = matrix @ np.asarray(taste, dtype=np.float64)
    for (n, _), dot, norm in zip(rows, dots, norms):
        scores[n] = float(dot / norm) if norm > 0 else 0.0
    return scores


def _cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return 0.0
    norms = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    return float(np.dot(a, b)) / norms if norms > 0 else 0.0
