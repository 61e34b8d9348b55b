"""Turn a micro-batch of menu changes into `item-vectors` records, embedding only new text.

Examples
--------
>>> import numpy as np
>>> def embed_many(texts):  # a stand-in model: vector = [len(text), 1]
...     return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
>>> menu = {"event_id": "e1", "event_time": 1700000000000, "item_id": "i1", "restaurant_id": "r1",
...         "name": "Lassi", "category": "drink", "cuisine": "indian", "price": 3.0, "veg": True,
...         "available": True, "tags": []}
>>> from cartstream.schemas import MenuItem
>>> known = {}
>>> out = vectorize([("i1", MenuItem(**menu))], known, embed_many, "toy-model")
>>> [(key, v.vector_array().tolist(), v.available) for key, v in out.records], out.embedded
([('i1', [19.0, 1.0], True)], 1)
>>> out = vectorize([("i1", MenuItem(**{**menu, "available": False, "price": 3.5}))], known, embed_many, "toy-model")
>>> [(key, v.available, v.price) for key, v in out.records], out.embedded
([('i1', False, 3.5)], 0)
>>> vectorize([("i1", None)], known, embed_many, "toy-model").records, known
([('i1', None)], {})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping

import numpy as np

from cartstream.operators.item_text import item_text, text_hash
from cartstream.schemas import ItemVector, MenuItem

__all__ = ["KnownVector", "Vectorized", "vectorize"]

EmbedMany = Callable[[list[str]], np.ndarray]


@dataclasses.dataclass(frozen=True)
class KnownVector:
    """What the embedder last published for an item: the text it embedded, with which model."""

    text_hash: str
    model_id: str
    vector: np.ndarray


@dataclasses.dataclass
class Vectorized:
    """The records of one batch, in input order, and how many texts had to be embedded."""

    records: list[tuple[str, ItemVector | None]]
    embedded: int


def vectorize(batch: list[tuple[str, MenuItem | None]], known: MutableMapping[str, KnownVector],
              embed_many: EmbedMany, model_id: str) -> Vectorized:
    """One `item-vectors` record per menu change (None deletes), updating `known` as it goes.

    Texts already embedded with `model_id` reuse their vector, so a price or availability
    change costs no model call; the rest go to the model in one call.
    """
    latest: dict[str, tuple[str, str]] = {}
    for item_id, item in batch:
        if item is not None:
            text = item_text(item.model_dump())
            latest[item_id] = (text, text_hash(text))
    fresh = sorted({(text, h) for item_id, (text, h) in latest.items()
                    if not _is_known(known.get(item_id), h, model_id)})
    vectors = dict(zip((h for _, h in fresh), embed_many([text for text, _ in fresh]))) if fresh else {}

    records: list[tuple[str, ItemVector | None]] = []
    for item_id, item in batch:
        if item is None:
            known.pop(item_id, None)
            records.append((item_id, None))
            continue
        h = text_hash(item_text(item.model_dump()))
        entry = known.get(item_id)
        vector = entry.vector if _is_known(entry, h, model_id) else vectors[h]
        known[item_id] = KnownVector(h, model_id, vector)
        records.append((item_id, ItemVector.from_array(
            vector, item_id=item_id, restaurant_id=item.restaurant_id, model_id=model_id, text_hash=h,
            available=item.available, name=item.name, category=item.category, cuisine=item.cuisine,
            price=item.price, veg=item.veg, event_time=item.event_time)))
    return Vectorized(records, embedded=len(fresh))


def _is_known(entry: KnownVector | None, h: str, model_id: str) -> bool:
    return entry is not None and entry.text_hash == h and entry.model_id == model_id
