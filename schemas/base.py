"""The base class every message shares and the constrained field types they are built from.

Validation is strict: a JSON string is never coerced into a number and ``1.0`` is not an
integer, so every producer, in any language, is held to the same published JSON Schema.

Examples
--------
>>> from pydantic import TypeAdapter
>>> TypeAdapter(EventTime).validate_python(1_700_000_000_000)
1700000000000
>>> TypeAdapter(Price).validate_python(0.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ...
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Literal, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, StringConstraints, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

#: 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z in epoch milliseconds: anything outside
#: is a clock in seconds or microseconds, or a bug, and would poison event-time windows.
MIN_EVENT_TIME_MS = 946_684_800_000
MAX_EVENT_TIME_MS = 4_102_444_800_000

#: Bounds on collections that no contract fixes but that keep one message from
#: exhausting memory downstream.
MAX_LIST_ITEMS = 100
MAX_DICT_ENTRIES = 256
#: Counters and offsets are Kafka's and Java's long: producers in any language can hold them.
MAX_INT64 = 2**63 - 1

MAX_ID_LENGTH = 128
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
EventTime = Annotated[
    int,
    Field(
        ge=MIN_EVENT_TIME_MS,
        lt=MAX_EVENT_TIME_MS,
        description="event time in milliseconds since the Unix epoch, in [2000, 2100)",
    ),
]
Count = Annotated[int, Field(ge=0, le=MAX_INT64)]
Offset = Annotated[int, Field(ge=0, le=MAX_INT64)]
ItemName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Category = Literal["main", "side", "starter", "drink", "dessert"]
Cuisine = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Price = Annotated[float, Field(gt=0, le=1000)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
NonNegative = Annotated[float, Field(ge=0)]
#: Named numbers (features, metrics, timings): finite floats under short names.
Numbers = Annotated[dict[Label, float], Field(max_length=MAX_DICT_ENTRIES)]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$"), Field(description="standard base64")]


def decode_base64(text: str) -> bytes:
    """Decode standard base64, rejecting anything that is not canonical padding and alphabet.

    Examples
    --------
    >>> decode_base64("aGk=")
    b'hi'
    >>> decode_base64("aGk")
    Traceback (most recent call last):
        ...
    ValueError: not valid base64: Incorrect padding
    """
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64: {exc}") from None


def is_plain_json(value: object) -> bool:
    """Whether a parsed value is standard JSON that any consumer reads back unchanged.

    The parser accepts ``NaN``, ``Infinity`` and integers of any size; orjson cannot write
    the big integers and writes the others as null, so an unknown field holding them would
    break or silently change when the message is passed on.

    Examples
    --------
    >>> is_plain_json({"a": [1, 2.5, "x", None, True]})
    True
    >>> is_plain_json({"a": [float("nan")]}), is_plain_json(2**64)
    (False, False)
    """
    if isinstance(value, dict):
        return all(is_plain_json(v) for v in value.values())
    if isinstance(value, list):
        return all(is_plain_json(v) for v in value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str)


def summary_of(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line: what JSON Schema shows as description.

    Examples
    --------
    >>> summary_of('''A click on an item.
    ...
    ...     Examples
    ...     --------
    ... ''')
    'A click on an item.'
    """
    first = (doc or "").strip().split("\n\n", 1)[0]
    return " ".join(first.split())


class Part(BaseModel):
    """A strict record inside a message; unknown fields are kept and listed when they are plain JSON."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, allow_inf_nan=False)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The docstring's doctests belong to the Python docs, not to the published schema.
        json_schema = handler.resolve_ref_schema(handler(schema))
        json_schema["description"] = summary_of(cls.__doc__)
        return json_schema

    @model_validator(mode="after")
    def _unknown_fields_are_plain_json(self) -> Self:
        if self.model_extra and not is_plain_json(self.model_extra):
            raise ValueError("unknown fields must hold standard JSON: no NaN, Infinity or integers beyond 64 bits")
        return self

    @property
    def unknown_fields(self) -> list[str]:
        """Names of the fields this record carried that its contract does not define, sorted."""
        return sorted(self.model_extra or ())


class Message(Part):
    """A top-level Kafka message value: versioned, read from and written to JSON bytes."""

    schema_version: Literal[1] = Field(default=1, description="version of this message's contract")

    @classmethod
    def from_json(cls, raw: bytes | str) -> Self:
        """Validate a message straight from its JSON bytes; raises pydantic's ValidationError."""
        return cls.model_validate_json(raw)

    def to_json(self) -> bytes:
        """The message as compact JSON bytes, unknown fields included."""
        return orjson.dumps(self.model_dump())
