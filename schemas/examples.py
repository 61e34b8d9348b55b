"""One valid example of every message, as plain JSON-ready dicts, shared by docs and tests.

Keys are message names, as in the exported ``schemas/json/<MessageName>.json`` files.

Examples
--------
>>> from cartstream.schemas.topics import MESSAGES
>>> all(m.model_validate(EXAMPLES[m.__name__]) for m in MESSAGES)
True
"""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

MENU_ITEM: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "menu-7f3a2c",
    "event_time": 1732540000000,
    "item_id": "r17-butter-chicken",
    "restaurant_id": "r17",
    "name": "Butter Chicken",
    "description": "Tandoori chicken simmered in a tomato, butter and cream sauce.",
    "category": "main",
    "cuisine": "indian",
    "price": 13.5,
    "veg": False,
    "available": True,
    "tags": ["creamy", "mild"],
}

CLICK: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "clk-01J9Z8K4",
    "event_time": 1732540012345,
    "user_id": "u-4821",
    "item_id": "r17-butter-chicken",
    "restaurant_id": "r17",
    "session_id": "s-93b1",
}

CART_EVENT: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "cart-01J9Z8M2",
    "event_time": 1732540020000,
    "user_id": "u-4821",
    "action": "add",
    "item_id": "r17-butter-chicken",
    "restaurant_id": "r17",
    "quantity": 2,
    "session_id": "s-93b1",
}

ITEM_VECTOR: dict[str, Any] = {
    "schema_version": 1,
    "item_id": "r17-butter-chicken",
    "restaurant_id": "r17",
    "model_id": "all-MiniLM-L6-v2",
    "text_hash": "5d41402abc4b2a76b9719d911017c592",
    # Four float32 values [0.12, -0.5, 0.33, 0.8]; real vectors have 384.
    "vector": "j8L1PQAAAL/D9ag+zcxMPw==",
    "dim": 4,
    "available": True,
    "name": "Butter Chicken",
    "category": "main",
    "cuisine": "indian",
    "price": 13.5,
    "veg": False,
    "event_time": 1732540000000,
}

ITEM_STATS: dict[str, Any] = {
    "schema_version": 1,
    "item_id": "r17-butter-chicken",
    "event_time": 1732543600000,
    "window_ms": 3600000,
    "clicks": 412,
    "adds": 57,
    "trending": 1.8,
    "neighbours": [
        {"item_id": "r17-garlic-naan", "score": 0.62},
        {"item_id": "r17-mango-lassi", "score": 0.31},
    ],
}

TRAINING_EXAMPLE: dict[str, Any] = {
    "schema_version": 1,
    "model_name": "ranker-a",
    "user_id": "u-4821",
    "item_id": "r17-garlic-naan",
    "trigger_event_id": "cart-01J9Z8M2",
    "event_time": 1732540020000,
    "features": {"similarity": 0.71, "covisitation": 0.62, "popularity": 0.4, "same_restaurant": 1.0},
    "label": 1,
    "listed_by": {"model": True, "fallback": False},
}

MODEL_SNAPSHOT: dict[str, Any] = {
    "schema_version": 1,
    "model_name": "ranker-a",
    "version": 3,
    "created_event_time": 1732543600000,
    "examples_seen": 12000,
    "metrics": {"logloss": 0.41, "auc": 0.74},
    "input_offsets": [
        {"topic": "training-examples", "partition": 0, "offset": 6011},
        {"topic": "training-examples", "partition": 1, "offset": 5989},
    ],
    # The bytes b"river ranker snapshot v3", and their sha256.
    "model_b64": "cml2ZXIgcmFua2VyIHNuYXBzaG90IHYz",
    "sha256": "2669e3dc2b028a426bb848cf9c6dfb746fa9974263c20ffda18307c36a1c9c53",
}

RECOMMENDATION: dict[str, Any] = {
    "schema_version": 1,
    "recommendation_id": "rec-u-4821-cart-01J9Z8M2",
    "user_id": "u-4821",
    "trigger_event_id": "cart-01J9Z8M2",
    "trigger_event_time": 1732540020000,
    "event_time": 1732540020000,
    "items": [
        {
            "item_id": "r17-garlic-naan",
            "restaurant_id": "r17",
            "score": 0.83,
            "reason": "often added with Butter Chicken",
        },
        {
            "item_id": "r17-mango-lassi",
            "restaurant_id": "r17",
            "score": 0.61,
            "reason": "a drink to go with your main",
        },
    ],
    "model_name": "ranker-a",
    "model_version": 3,
    "mode": "model",
}

DEAD_LETTER: dict[str, Any] = {
    "schema_version": 1,
    "source_topic": "clicks",
    "partition": 2,
    "offset": 81723,
    "key": "u-4821",
    "key_encoding": "utf8",
    "payload": '{"event_id": "clk-9", "event_time": "yesterday"}',
    "payload_encoding": "utf8",
    "error": "schema violation: event_time: Input should be a valid integer; user_id: Field required",
    "failed_at": 1732540030000,
}

EMBEDDING_MODEL: dict[str, Any] = {
    "schema_version": 1,
    "model_id": "all-MiniLM-L6-v2@onnx-fp32",
    "previous_model_id": "all-MiniLM-L6-v2@onnx-int8",
    "dim": 384,
    "items": 5000,
    "vector_offsets": {"0": 1712, "1": 1650, "2": 1699},
    "menu_offsets": {"0": 1702, "1": 1641, "2": 1688},
    "event_time": 1732540000000,
}

EXAMPLES = MappingProxyType(
    {
        "MenuItem": MENU_ITEM,
        "Click": CLICK,
        "CartEvent": CART_EVENT,
        "ItemVector": ITEM_VECTOR,
        "ItemStats": ITEM_STATS,
        "TrainingExample": TRAINING_EXAMPLE,
        "ModelSnapshot": MODEL_SNAPSHOT,
        "Recommendation": RECOMMENDATION,
        "DeadLetter": DEAD_LETTER,
        "EmbeddingModel": EMBEDDING_MODEL,
    }
)


def example_with(message: str, /, **changes: Any) -> dict[str, Any]:
    """A deep copy of the example of `message` with some fields changed; None removes a field.

    >>> example_with("Click", item_id="r17-naan", session_id=None)["item_id"]
    'r17-naan'
    >>> "session_id" in example_with("Click", session_id=None)
    False
    """
    raw = copy.deepcopy(EXAMPLES[message])
    for field, value in changes.items():
        if value is None:
            raw.pop(field, None)
        else:
            raw[field] = value
    return raw
