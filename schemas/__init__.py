"""Message types of every topic and their JSON Schemas."""

from cartstream.schemas.base import Message, Part
from cartstream.schemas.cart_event import CartEvent
from cartstream.schemas.click import Click
from cartstream.schemas.dead_letter import DeadLetter
from cartstream.schemas.embedding_model import EmbeddingModel
from cartstream.schemas.exceptions import UnknownTopicError
from cartstream.schemas.item_stats import ItemStats, Neighbour
from cartstream.schemas.item_vector import ItemVector
from cartstream.schemas.menu_item import MenuItem
from cartstream.schemas.model_snapshot import InputOffset, ModelSnapshot
from cartstream.schemas.recommendation import Recommendation, RecommendedItem
from cartstream.schemas.topics import INPUT_TOPICS, MESSAGES, TOPICS, TopicContract, contract_for
from cartstream.schemas.training_example import TrainingExample

__all__ = [
    "INPUT_TOPICS",
    "MESSAGES",
    "TOPICS",
    "CartEvent",
    "Click",
    "DeadLetter",
    "EmbeddingModel",
    "InputOffset",
    "ItemStats",
    "ItemVector",
    "MenuItem",
    "Message",
    "ModelSnapshot",
    "Neighbour",
    "Part",
    "Recommendation",
    "RecommendedItem",
    "TopicContract",
    "TrainingExample",
    "UnknownTopicError",
    "contract_for",
]
