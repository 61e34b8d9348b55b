"""EmbeddingModel: the embedding model readers search and the live embedder embeds with (``embedding-models``).

The topic is compacted and holds one key, ``active``. `cartstream embed --rebuild` writes
it only after every vector of the new model is committed to `item-vectors`, with the
offsets that hold them: a reader switches to the new model once it has read that far, so
it never searches an index that mixes models or lacks part of the catalog.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cartstream.schemas.base import Count, EventTime, Id, Message, Offset
from cartstream.schemas.item_vector import MAX_DIM

#: The Kafka key of every record: there is one active model at a time.
ACTIVE_KEY = "active"
#: Most partitions a topic may have (as `Settings.partitions` allows).
MAX_PARTITIONS = 1024
#: Partition number (as text: JSON object keys are strings) -> next offset to read.
Offsets = Annotated[dict[Annotated[str, Field(pattern=r"^[0-9]{1,4}$")], Offset], Field(max_length=MAX_PARTITIONS)]


class EmbeddingModel(Message):
    """The active embedding model, with the offsets that make its vectors complete.

    Examples
    --------
    >>> active = EmbeddingModel(model_id="all-MiniLM-L6-v2@onnx-fp32", previous_model_id=None, dim=384,
    ...     items=5000, vector_offsets={"0": 1712, "1": 1650}, menu_offsets={"0": 1702, "1": 1641},
    ...     event_time=1732540000000)
    >>> active.model_id, active.vector_offsets["1"]
    ('all-MiniLM-L6-v2@onnx-fp32', 1650)
    """

    model_id: Id
    previous_model_id: Id | None = Field(
        description="the model this one replaced; readers drop its vectors and ignore any that still arrive"
    )
    dim: Annotated[int, Field(ge=1, le=MAX_DIM)]
    items: Count = Field(description="live menu items with a vector of this model when it became active")
    vector_offsets: Offsets = Field(
        description="item-vectors partition -> next offset: a reader that has read this far holds every vector"
    )
    menu_offsets: Offsets = Field(
        description="menu-items partition -> next offset the rebuild embedded; the embedder redoes later changes"
    )
    event_time: EventTime = Field(description="when the model became active (ms since the epoch)")
