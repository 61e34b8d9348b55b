"""Validate raw Kafka records against their topic's contract, and wrap failures as dead letters.

Both functions are pure and total on bytes: whatever arrives on a topic, a topology gets a
value back (an Accepted message or tombstone, a Rejected reason, a DeadLetter) and keeps
running.

Examples
--------
>>> ok = validate_record("clicks", b"u1", b'{"event_id": "e1", "event_time": 1700000000000,'
...     b' "user_id": "u1", "item_id": "i1", "restaurant_id": "r1"}')
>>> type(ok.message).__name__, ok.key
('Click', 'u1')
>>> validate_record("carts", b"u1", b'{"event_id": "e2", "event_time": 1700000000000,'
...     b' "user_id": "u1", "action": "add"}').reason
"schema violation: action 'add' needs item_id and restaurant_id"
>>> validate_record("menu-items", b"i1", None).is_tombstone
True
>>> validate_record("clicks", b"u1", b"\\xff").reason
'not UTF-8: invalid byte at position 0'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from cartstream.schemas.base import MAX_ID_LENGTH, Message
from cartstream.schemas.dead_letter import MAX_ERROR_LENGTH, DeadLetter, encode_raw
from cartstream.schemas.topics import contract_for

#: Why a record was rejected, as a short label fit for a metric.
RejectionKind = Literal["not-utf8", "not-json", "schema", "key", "null-value"]

MAX_REASON_LENGTH = 500
MAX_ERRORS_SHOWN = 3
MAX_PATH_PART = 64


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record that meets its topic's contract: a message, or a tombstone (message is None)."""

    topic: str
    key: str | None
    """The key as text; None only on dead-letters, whose original keys need not be UTF-8."""
    message: Message | None

    @property
    def is_tombstone(self) -> bool:
        """Whether the record deletes its key rather than carrying a message."""
        return self.message is None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that breaks its topic's contract, with the reason in plain words."""

    topic: str
    key: bytes | None
    value: bytes | None
    kind: RejectionKind
    reason: str


def shorten(text: str, limit: int) -> str:
    """Text cut to at most limit characters, marking the cut with an ellipsis.

    Examples
    --------
    >>> shorten("butter chicken", 8)
    'butter …'
    >>> shorten("naan", 8)
    'naan'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a readable field path; user-supplied names are shortened.

    Examples
    --------
    >>> field_path(("items", 0, "score"))
    'items[0].score'
    >>> field_path(())
    ''
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + shorten(part, MAX_PATH_PART)
    return path


def summarize_errors(errors: Sequence[dict[str, Any]]) -> str:
    """Pydantic errors as 'path: message' phrases, the first few only, bounded in length.

    Examples
    --------
    >>> summarize_errors([{"loc": ("price",), "msg": "Input should be greater than 0"},
    ...                   {"loc": (), "msg": "Value error, sha256 does not match"}])
    'price: Input should be greater than 0; sha256 does not match'
    """
    phrases = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        # Model-level rules raise ValueError; pydantic's prefix adds nothing for a reader.
        message = error["msg"].removeprefix("Value error, ")
        path = field_path(error["loc"])
        phrases.append(f"{path}: {message}" if path else message)
    if len(errors) > MAX_ERRORS_SHOWN:
        phrases.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
    return "; ".join(phrases)


def _rejected(topic: str, key: bytes | None, value: bytes | None, kind: RejectionKind, reason: str) -> Rejected:
    return Rejected(topic, key, value, kind, shorten(reason, MAX_REASON_LENGTH))


def _invalid_value_reason(value: bytes, exc: ValidationError) -> tuple[RejectionKind, str]:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if errors[0]["type"] != "json_invalid":
        return "schema", "schema violation: " + summarize_errors(errors)
    # The JSON parser reports bad UTF-8 as bad JSON; decoding only on this rare path
    # keeps the valid path at one parse.
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as bad:
        return "not-utf8", f"not UTF-8: invalid byte at position {bad.start}"
    return "not-json", "not JSON: " + errors[0]["msg"].removeprefix("Invalid JSON: ")


def validate_record(topic: str, key: bytes | None, value: bytes | None) -> Accepted | Rejected:
    """Check one record of a design topic (named without prefix) against its contract.

    Never raises on any key or value bytes; raises UnknownTopicError for a topic name that
    is not the design's, which is a programming error, not bad input.
    """
    contract = contract_for(topic)
    message = None
    if value is None:
        if not contract.tombstones:
            return _rejected(topic, key, value, "null-value", f"null value: {topic} does not allow tombstones")
    else:
        try:
            message = contract.model.model_validate_json(value)
        except ValidationError as exc:
            kind, reason = _invalid_value_reason(value, exc)
            return _rejected(topic, key, value, kind, reason)

    if contract.key_field is None:
        try:
            key_text = None if key is None else key.decode("utf-8")
        except UnicodeDecodeError:
            key_text = None
        return Accepted(topic, key_text, message)

    if key is None:
        return _rejected(topic, key, value, "key", f"key missing: {topic} is keyed by {contract.key_field}")
    try:
        key_text = key.decode("utf-8")
    except UnicodeDecodeError as bad:
        return _rejected(topic, key, value, "key", f"key is not UTF-8: invalid byte at position {bad.start}")
    if message is not None:
        expected = getattr(message, contract.key_field)
        if key_text != expected:
            return _rejected(
                topic,
                key,
                value,
                "key",
                f"key mismatch: key {shorten(key_text, MAX_PATH_PART)!r} does not equal "
                f"{contract.key_field} {shorten(expected, MAX_PATH_PART)!r}",
            )
    elif not 1 <= len(key_text) <= MAX_ID_LENGTH:
        return _rejected(
            topic, key, value, "key", f"key is not an {contract.key_field}: a tombstone must name what it deletes"
        )
    return Accepted(topic, key_text, message)


def dead_letter_for(
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: str,
    failed_at_ms: int,
) -> DeadLetter:
    """A DeadLetter holding a failed record's key and value byte for byte, and why it failed.

    Key and value are stored as UTF-8 text when they decode, else as base64; never raises
    on any bytes. ``failed_at_ms`` is when processing failed, in epoch milliseconds.

    Examples
    --------
    >>> dl = dead_letter_for("clicks", 0, 7, b"u1", b"\\x00\\xff", "not UTF-8", 1700000000000)
    >>> dl.key, dl.key_encoding, dl.payload, dl.payload_encoding
    ('u1', 'utf8', 'AP8=', 'base64')
    >>> dl.payload_bytes()
    b'\\x00\\xff'
    """
    key_text, key_encoding = encode_raw(key)
    payload, payload_encoding = encode_raw(value)
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=key_text,
        key_encoding=key_encoding,
        payload=payload,
        payload_encoding=payload_encoding,
        error=shorten(error, MAX_ERROR_LENGTH) or "no reason given",
        failed_at=failed_at_ms,
    )
