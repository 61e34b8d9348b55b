"""Recommendation: a ranked list of items for one diner, and why (topic ``recommendations``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from cartstream.schemas.base import MAX_LIST_ITEMS, EventTime, Id, Message, Part

#: How the list was ranked: by the learned model, or by the fallbacks when it is missing.
RankingMode = Literal["model", "similarity", "popularity"]


class RecommendedItem(Part):
    """One ranked item with its score and a reason a diner can read."""

    item_id: Id
    restaurant_id: Id
    score: float
    reason: Annotated[str, StringConstraints(max_length=200)]


class Recommendation(Message):
    """The items to show a diner after one of their events, best first.

    Examples
    --------
    >>> rec = Recommendation(recommendation_id="rec-1", user_id="u1", trigger_event_id="e1",
    ...     trigger_event_time=1700000000000, event_time=1700000000000,
    ...     items=[{"item_id": "i2", "restaurant_id": "r1", "score": 0.9,
    ...             "reason": "often added with Butter Chicken"}],
    ...     model_name="ranker-a", model_version=0, mode="popularity")
    >>> rec.items[0].reason
    'often added with Butter Chicken'
    """

    recommendation_id: Id
    user_id: Id
    trigger_event_id: Id
    trigger_event_time: EventTime
    event_time: EventTime
    items: Annotated[list[RecommendedItem], Field(max_length=MAX_LIST_ITEMS)]
    model_name: Id
    model_version: Annotated[int, Field(ge=0, description="0 when no model ranked the list")]
    mode: RankingMode
    # Wall-clock timings travel in the record's `timings_ms` header, not here: the value is a
    # function of the input log alone, so a replay publishes byte-identical lists.
