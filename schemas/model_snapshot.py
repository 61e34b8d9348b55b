"""ModelSnapshot: one versioned, serialized River model and what it has seen (``model-snapshots``)."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any, Self

from pydantic import Field, StringConstraints, model_validator

from cartstream.schemas.base import (
    MAX_LIST_ITEMS,
    Base64,
    Count,
    EventTime,
    Id,
    Message,
    Numbers,
    Offset,
    Part,
    decode_base64,
)


class InputOffset(Part):
    """The next offset to read on one input partition: a restarted trainer resumes there."""

    topic: Annotated[str, StringConstraints(min_length=1, max_length=249)]
    partition: Offset
    offset: Offset


class ModelSnapshot(Message):
    """A model's bytes with version, metrics and input offsets, checked against their sha256.

    Examples
    --------
    >>> snap = ModelSnapshot.from_model_bytes(b"pickled model", model_name="ranker-a",
    ...     version=3, created_event_time=1700000000000, examples_seen=1200,
    ...     metrics={"auc": 0.71}, input_offsets=[{"topic": "training-examples",
    ...     "partition": 0, "offset": 1200}])
    >>> snap.sha256[:12], snap.model_bytes()
    ('0a8b6f6ac6bb', b'pickled model')
    """

    model_name: Id
    version: Annotated[int, Field(ge=1)]
    created_event_time: EventTime
    examples_seen: Count
    metrics: Numbers
    input_offsets: Annotated[list[InputOffset], Field(max_length=MAX_LIST_ITEMS)]
    model_b64: Base64 = Field(description="base64 of the serialized model")
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="lowercase hex sha256 of the serialized model bytes"
    )

    @model_validator(mode="after")
    def _model_bytes_match_sha256(self) -> Self:
        # A torn or tampered snapshot must not become the serving model.
        if hashlib.sha256(decode_base64(self.model_b64)).hexdigest() != self.sha256:
            raise ValueError("sha256 does not match the model bytes")
        return self

    @classmethod
    def from_model_bytes(cls, blob: bytes, **fields: Any) -> Self:
        """Build a snapshot around serialized model bytes; ``model_b64`` and ``sha256`` are derived."""
        return cls(
            model_b64=base64.b64encode(blob).decode("ascii"),
            sha256=hashlib.sha256(blob).hexdigest(),
            **fields,
        )

    def model_bytes(self) -> bytes:
        """The serialized model bytes."""
        return decode_base64(self.model_b64)
