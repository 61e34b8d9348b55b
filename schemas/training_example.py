"""TrainingExample: features of a shown item and what the diner did next (``training-examples``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cartstream.schemas.base import MAX_DICT_ENTRIES, EventTime, Id, Label, Message, Numbers


class TrainingExample(Message):
    """One labelled outcome for the ranker: 1 if the diner took the shown item, else 0.

    Examples
    --------
    >>> ex = TrainingExample(model_name="ranker-a", user_id="u1", item_id="i1",
    ...     trigger_event_id="e1", event_time=1700000000000,
    ...     features={"similarity": 0.8, "popularity": 0.1}, label=1)
    >>> ex.features["similarity"], ex.label
    (0.8, 1)
    """

    model_name: Id
    user_id: Id
    item_id: Id
    trigger_event_id: Id
    event_time: EventTime
    features: Numbers
    label: Literal[0, 1]
    listed_by: dict[Label, bool] = Field(
        default_factory=dict, max_length=MAX_DICT_ENTRIES,
        description="for the item taken: whether each ranking policy (model, fallback) listed it",
    )
