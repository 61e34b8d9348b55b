"""Which message each design topic carries, which field its Kafka key must equal, and deletes.

Topic names are the design's, without the configurable prefix (``Settings.topic`` adds it).

Examples
--------
>>> contract = contract_for("carts")
>>> contract.model.__name__, contract.key_field, contract.tombstones
('CartEvent', 'user_id', False)
>>> contract_for("menu-items").tombstones
True
>>> sorted(INPUT_TOPICS)
['carts', 'clicks', 'menu-items']
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from cartstream.schemas.base import Message
from cartstream.schemas.cart_event import CartEvent
from cartstream.schemas.click import Click
from cartstream.schemas.dead_letter import DeadLetter
from cartstream.schemas.embedding_model import EmbeddingModel
from cartstream.schemas.exceptions import UnknownTopicError
from cartstream.schemas.item_stats import ItemStats
from cartstream.schemas.item_vector import ItemVector
from cartstream.schemas.menu_item import MenuItem
from cartstream.schemas.model_snapshot import ModelSnapshot
from cartstream.schemas.recommendation import Recommendation
from cartstream.schemas.training_example import TrainingExample


@dataclass(frozen=True, slots=True)
class TopicContract:
    """What one topic carries: its message model, the field its key equals, whether nulls delete."""

    name: str
    model: type[Message]
    key_field: str | None
    """The value field the Kafka key must equal; None where the key is not a value field."""
    tombstones: bool
    """Whether a null value is allowed: on compacted entity topics it deletes the key."""


TOPICS = MappingProxyType(
    {
        c.name: c
        for c in (
            TopicContract("menu-items", MenuItem, "item_id", tombstones=True),
            TopicContract("clicks", Click, "user_id", tombstones=False),
            TopicContract("carts", CartEvent, "user_id", tombstones=False),
            TopicContract("item-vectors", ItemVector, "item_id", tombstones=True),
            TopicContract("item-stats", ItemStats, "item_id", tombstones=False),
            TopicContract("training-examples", TrainingExample, "model_name", tombstones=False),
            TopicContract("model-snapshots", ModelSnapshot, "model_name", tombstones=False),
            TopicContract("recommendations", Recommendation, "user_id", tombstones=False),
            # A dead letter keeps the failed record's original key, which may be anything.
            TopicContract("dead-letters", DeadLetter, None, tombstones=False),
            # One key, "active": the record names the model, not the key.
            TopicContract("embedding-models", EmbeddingModel, None, tombstones=False),
        )
    }
)

#: The topics that producers outside cartstream write to.
INPUT_TOPICS = frozenset({"menu-items", "clicks", "carts"})

#: Every message model, in topic order: what the JSON Schema export publishes.
MESSAGES: tuple[type[Message], ...] = tuple(c.model for c in TOPICS.values())


def contract_for(topic: str) -> TopicContract:
    """The contract of a design topic, named without prefix; raises UnknownTopicError."""
    try:
        return TOPICS[topic]
    except KeyError:
        raise UnknownTopicError(
            f"{topic!r} is not a cartstream topic; expected one of {', '.join(TOPICS)} (without the topic prefix)"
        ) from None
