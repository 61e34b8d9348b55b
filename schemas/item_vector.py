"""ItemVector: the embedding of one menu item, with what ranking needs (topic ``item-vectors``)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Self

import numpy as np
from pydantic import Field, StringConstraints, model_validator

from cartstream.schemas.base import (
    Base64,
    Category,
    Cuisine,
    EventTime,
    Id,
    ItemName,
    Message,
    Price,
    decode_base64,
)

MAX_DIM = 4096
#: Vectors travel as little-endian float32 whatever the producer's byte order.
VECTOR_DTYPE = np.dtype("<f4")


def encode_vector(vector: Any) -> str:
    """Base64 of a vector's little-endian float32 bytes.

    Examples
    --------
    >>> encode_vector([1.0, -2.0])
    'AACAPwAAAMA='
    """
    return base64.b64encode(np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    """The float32 vector behind :func:`encode_vector`'s text, as a read-only native array.

    Examples
    --------
    >>> decode_vector('AACAPwAAAMA=')
    array([ 1., -2.], dtype=float32)
    """
    raw = decode_base64(text)
    if len(raw) % VECTOR_DTYPE.itemsize:
        raise ValueError(f"vector has {len(raw)} bytes, not a whole number of float32")
    return np.frombuffer(raw, dtype=VECTOR_DTYPE).astype(np.float32, copy=False)


class ItemVector(Message):
    """One item's embedding plus the menu facts that candidates and ranking filter on.

    The topic is compacted by item_id; a tombstone means the item was deleted.

    Examples
    --------
    >>> import numpy as np
    >>> iv = ItemVector.from_array(np.array([0.5, 0.25], dtype=np.float32), item_id="i1",
    ...     restaurant_id="r1", model_id="all-MiniLM-L6-v2", text_hash="ab12",
    ...     available=True, name="Lassi", category="drink", cuisine="indian", price=3.0,
    ...     veg=True, event_time=1700000000000)
    >>> iv.dim, iv.vector
    (2, 'AAAAPwAAgD4=')
    >>> iv.vector_array()
    array([0.5 , 0.25], dtype=float32)
    """

    item_id: Id
    restaurant_id: Id
    model_id: Id
    text_hash: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    vector: Base64 = Field(description="base64 of the little-endian float32 vector")
    dim: Annotated[int, Field(ge=1, le=MAX_DIM)]
    available: bool
    name: ItemName
    category: Category
    cuisine: Cuisine
    price: Price
    veg: bool
    event_time: EventTime = Field(description="event time of the menu event this vector embeds")

    @model_validator(mode="after")
    def _vector_has_dim_finite_floats(self) -> Self:
        array = decode_vector(self.vector)
        if array.shape[0] != self.dim:
            raise ValueError(f"vector has {array.shape[0]} floats but dim is {self.dim}")
        if not np.isfinite(array).all():
            raise ValueError("vector holds NaN or infinity")
        return self

    @classmethod
    def from_array(cls, vector: Any, **fields: Any) -> Self:
        """Build an ItemVector from a 1-d array; ``vector`` and ``dim`` are derived from it."""
        array = np.asarray(vector, dtype=np.float32)
        if array.ndim != 1:
            raise ValueError(f"an item vector is 1-d, got shape {array.shape}")
        return cls(vector=encode_vector(array), dim=int(array.shape[0]), **fields)

    def vector_array(self) -> np.ndarray:
        """The embedding as a float32 numpy array of length ``dim``."""
        return decode_vector(self.vector)
