"""DeadLetter: a record a topology could not process, kept whole with the reason (``dead-letters``)."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from cartstream.schemas.base import EventTime, Message, Offset, decode_base64

#: Raw bytes are stored as text when they are UTF-8, else as base64.
Encoding = Literal["utf8", "base64"]
MAX_ERROR_LENGTH = 2000


def encode_raw(raw: bytes | None) -> tuple[str | None, Encoding]:
    """Raw Kafka bytes as (text, encoding): UTF-8 text when they decode, else base64.

    Examples
    --------
    >>> encode_raw(b'{"a": 1}')
    ('{"a": 1}', 'utf8')
    >>> encode_raw(b"\\xff\\x00")
    ('/wA=', 'base64')
    >>> encode_raw(None)
    (None, 'utf8')
    """
    if raw is None:
        return None, "utf8"
    try:
        return raw.decode("utf-8"), "utf8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def decode_raw(text: str | None, encoding: Encoding) -> bytes | None:
    """The raw bytes that :func:`encode_raw` turned into (text, encoding).

    Examples
    --------
    >>> decode_raw(*encode_raw(b"\\xff\\x00"))
    b'\\xff\\x00'
    """
    if text is None:
        return None
    return text.encode("utf-8") if encoding == "utf8" else decode_base64(text)


class DeadLetter(Message):
    """Where a bad record came from, why it failed, and its key and payload byte for byte.

    Examples
    --------
    >>> dl = DeadLetter(source_topic="clicks", partition=0, offset=42, key="u1", key_encoding="utf8",
    ...     payload="{not json", payload_encoding="utf8", error="not JSON: expected value",
    ...     failed_at=1700000000000)
    >>> dl.payload_bytes(), dl.key_encoding
    (b'{not json', 'utf8')
    """

    source_topic: Annotated[str, StringConstraints(min_length=1, max_length=249)]
    partition: Offset
    offset: Offset
    key: str | None = Field(description="the original key, as text in key_encoding")
    key_encoding: Encoding
    payload: str | None = Field(description="the original value, as text in payload_encoding")
    payload_encoding: Encoding
    error: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ERROR_LENGTH)]
    failed_at: EventTime

    def key_bytes(self) -> bytes | None:
        """The original Kafka key bytes."""
        return decode_raw(self.key, self.key_encoding)

    def payload_bytes(self) -> bytes | None:
        """The original Kafka value bytes."""
        return decode_raw(self.payload, self.payload_encoding)
