"""ItemStats: windowed popularity and co-visitation neighbours of one item (topic ``item-stats``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cartstream.schemas.base import MAX_LIST_ITEMS, Count, EventTime, Id, Message, NonNegative, Part


class Neighbour(Part):
    """An item often clicked or added together with the stats' item, and how strongly."""

    item_id: Id
    score: NonNegative


class ItemStats(Message):
    """How popular one item is in the latest event-time window, and what goes with it.

    Examples
    --------
    >>> stats = ItemStats(item_id="i1", event_time=1700000000000, window_ms=3_600_000,
    ...     clicks=40, adds=7, trending=2.5, neighbours=[{"item_id": "i9", "score": 0.8}])
    >>> stats.neighbours[0].item_id
    'i9'
    """

    item_id: Id
    event_time: EventTime
    window_ms: Annotated[int, Field(ge=1)]
    clicks: Count
    adds: Count
    trending: NonNegative
    neighbours: Annotated[list[Neighbour], Field(max_length=MAX_LIST_ITEMS)] = Field(
        description="top-K co-visited items, strongest first"
    )
