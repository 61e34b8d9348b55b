"""One step of the real-time loop: label the last list, update the diner, rank a fresh list.

The step is pure: it reads the global tables, changes only the `UserState` it is given,
and returns what the topology publishes.

Examples
--------
>>> from cartstream.operators.catalog import Catalog, ItemInfo
>>> from cartstream.operators.stats_table import StatsTable
>>> from cartstream.operators.user_state import UserState
>>> from cartstream.models.ranker import Ranker
>>> catalog = Catalog()
>>> for info in [ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
...              ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True),
...              ItemInfo("pizza", "r2", "Margherita", "main", "italian", 10.0, True)]:
...     catalog.upsert(info)
>>> tables = Tables(catalog=catalog, stats=StatsTable(window_ms=60_000, half_life_ms=3_600_000))
>>> tables.stats.apply("lassi", {"event_time": 1_767_225_600_000, "trending": 2.0, "neighbours": []})
>>> state, ranker = UserState(), Ranker()
>>> add = Event("e1", 1_767_225_600_000, "u1", "add", "curry", "r1")
>>> out = recommend(state, add, tables, ranker, k=5)
>>> [(i["item_id"], i["reason"]) for i in out.recommendation["items"]], out.recommendation["mode"]
([('lassi', 'goes with your Butter Chicken')], 'popularity')
>>> click = Event("e2", 1_767_225_660_000, "u1", "click", "lassi", "r1")
>>> out = recommend(state, click, tables, ranker, k=5)
>>> [(e["item_id"], e["label"]) for e in out.examples], out.hit
([('lassi', 1)], True)
>>> recommend(state, Event("e3", 1_767_225_700_000, "u1", "click", "ghost", "r1"), tables, ranker).rejected
"unknown item 'ghost': not in menu-items"
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

import numpy as np

from cartstream.models.ranker import Ranker
from cartstream.operators.candidates import candidate_of, candidates_for
from cartstream.operators.catalog import Catalog, ItemInfo
from cartstream.operators.features import FEATURE_NAMES, feature_matrix, reasons_for
from cartstream.operators.item_vectors import ItemVectors
from cartstream.operators.labelling import example, examples_from
from cartstream.operators.stats_table import StatsTable
from cartstream.operators.user_state import UserState

__all__ = ["Event", "Outcome", "Tables", "recommend"]

Search = Callable[[np.ndarray, int], list[tuple[str, float]]]


@dataclasses.dataclass
class Tables:
    """The global tables every recommender instance holds: catalog, vectors, stats."""

    catalog: Catalog
    stats: StatsTable
    vectors: ItemVectors = dataclasses.field(default_factory=ItemVectors)
    search: Search | None = None


@dataclasses.dataclass(frozen=True)
class Event:
    """A validated click or cart event, reduced to what the loop needs; action 'click' for clicks."""

    event_id: str
    event_time: int
    user_id: str
    action: str
    item_id: str | None
    restaurant_id: str | None
    quantity: int = 1

    @classmethod
    def from_message(cls, message) -> Event:
        """From a Click or CartEvent schema message."""
        return cls(message.event_id, message.event_time, message.user_id,
                   getattr(message, "action", "click"), message.item_id, message.restaurant_id,
                   getattr(message, "quantity", 1))


@dataclasses.dataclass
class Outcome:
    """What one event produced.

    Attributes
    ----------
    recommendation
        Recommendation fields (no timings), or None when the event was rejected.
    examples
        Labelled examples for the previous list (TrainingExample fields short of model name).
    shown_ids
        The previous list, when the event acted on an item after one was shown.
    hit
        Whether the acted item was in the previous list's top 10 (None without both).
    rejected
        Why the event cannot be applied (e.g. an unknown item), for the dead letter.
    """

    recommendation: dict | None = None
    examples: list[dict] = dataclasses.field(default_factory=list)
    shown_ids: list[str] | None = None
    acted_item_id: str | None = None
    hit: bool | None = None
    rejected: str | None = None


def recommendation_id(user_id: str, event_id: str) -> str:
    """A short id that is the same whenever the same event is processed again.

    >>> recommendation_id("u1", "e1")
    'rec-1500e99532ea5166e6c1aa18'
    """
    digest = hashlib.blake2b(f"{user_id}\x00{event_id}".encode(), digest_size=12).hexdigest()
    return f"rec-{digest}"


def _resolve(event: Event, catalog: Catalog) -> tuple[ItemInfo | None, str | None]:
    if event.item_id is None:
        return None, None
    item = catalog.get(event.item_id)
    if item is None:
        return None, f"unknown item {event.item_id!r}: not in menu-items"
    if event.restaurant_id is not None and item.restaurant_id != event.restaurant_id:
        return None, (f"item {event.item_id!r} belongs to restaurant {item.restaurant_id!r}, "
                      f"not {event.restaurant_id!r}")
    return item, None


def _missed_positive(state: UserState, item: ItemInfo, shown: dict, event_time: int, tables: Tables) -> dict:
    """The positive example of an item the diner acted on though the list did not show it,
    with its features as they were when the list was shown (the state has not taken the
    action yet).

    Without it the ranker learns only which shown items were picked, never what diners
    picked instead: if the list leans on popular items that are not taken, it learns to
    avoid popularity and drifts to the long tail, a loop it may not leave.
    """
    candidate = candidate_of(item, state, tables.catalog, covisitation=tables.stats)
    taste = state.taste_vector(tables.vectors)
    [row] = feature_matrix([candidate], state, event_time=shown["event_time"], vectors=tables.vectors,
                           taste=taste, trending=tables.stats).tolist()
    return example(shown, item.item_id, dict(zip(FEATURE_NAMES, row)), 1, event_time)


def _mark_listed_by(examples: list[dict], shown: dict) -> None:
    """Tell the positive example which policies' lists held its item, for the ranker's
    comparison of the model with the fallback (``Ranker.serves_model``)."""
    listed = shown.get("listed")
    if listed:
        for example in examples:
            if example["label"]:
                example["listed_by"] = {policy: example["item_id"] in ids for policy, ids in listed.items()}


def recommend(state: UserState, event: Event, tables: Tables, ranker: Ranker, k: int = 10,
              model_version: int = 0, model_name: str = "ranker",
              max_cart_candidates: int | None = None, rank: bool = True) -> Outcome:
    """Apply `event` to `state` and rank a fresh list of `k` items for the diner; with a
    cart, at most ``max_cart_candidates`` menu items are scored (None: the whole menu).

    ``rank=False`` only applies the event (no list, nothing shown): a silent replay does so
    for events whose list the diner's next replayed event replaces unseen."""
    item, problem = _resolve(event, tables.catalog)
    if problem is not None:
        return Outcome(rejected=problem)
    t = event.event_time
    outcome = Outcome()
    shown = state.take_shown()
    if item is not None and event.action in ("click", "add"):
        outcome.examples = examples_from(shown, item.item_id, t)
        if outcome.examples:
            outcome.shown_ids = [item_id for item_id, _ in shown["items"]]
            outcome.acted_item_id = item.item_id
            outcome.hit = item.item_id in outcome.shown_ids[:10]
            if tables.stats.score(item.item_id) == 0:
                # Nobody had clicked or added the item before: whatever its features, they
                # say "new", and a list cannot rank what it knows nothing about. Learning
                # from it teaches the ranker that unpopular is good (on Instacart carts,
                # where half the adds are of items added for the first time, the learnt
                # lists drifted to the long tail).
                outcome.examples = []
            else:
                if not any(example["label"] for example in outcome.examples):
                    outcome.examples.append(_missed_positive(state, item, shown, t, tables))
                _mark_listed_by(outcome.examples, shown)

    if event.action == "click":
        state.on_click(item, t)
    else:
        state.on_cart(event.action, item, event.quantity, t)
    if not rank:
        return outcome

    taste = state.taste_vector(tables.vectors)
    candidates = candidates_for(state, tables.catalog, covisitation=tables.stats, trending=tables.stats,
                                taste=taste, search=tables.search, vectors=tables.vectors,
                                max_cart_candidates=max_cart_candidates)
    features = feature_matrix(candidates, state, event_time=t, vectors=tables.vectors, taste=taste,
                              trending=tables.stats)
    item_ids = [c.item.item_id for c in candidates]
    ranking = ranker.lists(item_ids, features, FEATURE_NAMES, k=k)
    ranked, mode = ranking.items, ranking.mode
    row_of = dict(zip(item_ids, range(len(item_ids))))
    rows = [row_of[item_id] for item_id, _ in ranked]
    # Dicts only for the shown rows: they are what the next action labels.
    listed = [(candidates[row], dict(zip(FEATURE_NAMES, values))) for row, values in zip(rows, features[rows].tolist())]
    state.show([(c.item_id, f) for c, f in listed], event.event_id, t, ranking.listed)
    reasons = reasons_for(listed, state=state, catalog=tables.catalog, vectors=tables.vectors)
    outcome.recommendation = {
        "recommendation_id": recommendation_id(event.user_id, event.event_id),
        "user_id": event.user_id,
        "trigger_event_id": event.event_id,
        "trigger_event_time": t,
        "event_time": t,
        "items": [
            {
                "item_id": c.item_id,
                "restaurant_id": c.item.restaurant_id,
                "score": round(score, 6),
                "reason": reason,
            }
            for (c, _), (_, score), reason in zip(listed, ranked, reasons)
        ],
        "model_name": model_name,
        "model_version": model_version if mode == "model" else 0,
        "mode": mode,
    }
    return outcome
