"""Points in a topology's input log: where a replay starts (`--from`) and ends (`--until`).

A point is ``earliest``, an ISO-8601 time (a Kafka record timestamp, resolved per partition
with the broker's time index), or one or more ``topic:partition:offset`` positions; the
partitions a position list leaves out start at their earliest offset (or, for `--until`,
run to the end of the log as it was when the replay started).

Examples
--------
>>> parse_point("earliest")
LogPoint(kind='earliest', time_ms=None, offsets={})
>>> parse_point("2026-11-25T10:00:00Z").time_ms
1795600800000
>>> parse_point("clicks:0:1200,carts:2:17").offsets
{('clicks', 0): 1200, ('carts', 2): 17}
>>> try:
...     parse_point("yesterday")
... except CartstreamError as error:
...     print(error)
'yesterday' is not a log point: use earliest, an ISO-8601 time such as 2026-11-25T10:00:00Z, or topic:partition:offset[,topic:partition:offset...]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timezone

from confluent_kafka import Consumer, TopicPartition

from .exceptions import CartstreamError

__all__ = ["LogPoint", "parse_point", "require_in_log", "resolve_point"]


@dataclasses.dataclass(frozen=True)
class LogPoint:
    """A point in the log: ``earliest``, a record time in epoch ms, or explicit offsets per partition."""

    kind: str  # "earliest" | "time" | "offsets"
    time_ms: int | None = None
    offsets: dict[tuple[str, int], int] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        """The point as the user wrote it, for progress lines and the generation record.

        >>> parse_point("clicks:0:5").describe()
        'clicks:0:5'
        """
        if self.kind == "earliest":
            return "earliest"
        if self.kind == "time":
            return datetime.fromtimestamp(self.time_ms / 1000, timezone.utc).isoformat().replace("+00:00", "Z")
        return ",".join(f"{t}:{p}:{o}" for (t, p), o in self.offsets.items())


def parse_point(text: str) -> LogPoint:
    """Read `--from`/`--until` text; raises CartstreamError with the accepted forms."""
    text = text.strip()
    if text == "earliest":
        return LogPoint("earliest")
    if ":" in text and not text[:4].isdigit():
        return LogPoint("offsets", offsets=_parse_offsets(text))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _not_a_point(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return LogPoint("time", time_ms=int(moment.timestamp() * 1000))


def require_in_log(topic: str, partition: int, offset: int, low: int, high: int) -> None:
    """Raise CartstreamError unless ``offset`` lies within what the log of that partition holds.

    >>> require_in_log("clicks", 0, 1200, 0, 900)
    Traceback (most recent call last):
    ...
    cartstream.topologies.exceptions.CartstreamError: clicks:0:1200 is outside the log, which holds offsets 0 to 900 of that partition
    """
    if not low <= offset <= high:
        raise CartstreamError(f"{topic}:{partition}:{offset} is outside the log, which holds offsets {low} to {high} "
                              "of that partition")


def resolve_point(consumer: Consumer, partitions: list[TopicPartition], point: LogPoint,
                  full_name: Callable[[str], str], *, start: bool) -> dict[tuple[str, int], int]:
    """`point` as an offset per partition of ``partitions``, read from the broker.

    ``full_name`` turns a topic as the user wrote it into its full name. A time no record
    reaches is the end of the log. Partitions a position list leaves out start at their
    earliest offset (``start``) or, for an end point, run to the end of the log as it is now;
    a start position must lie within the log.
    """
    marks = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10, cached=False)
             for tp in partitions}
    if point.kind == "earliest":
        return {tp: low for tp, (low, _) in marks.items()}
    if point.kind == "time":
        found = consumer.offsets_for_times([TopicPartition(t, p, point.time_ms) for t, p in marks], timeout=10)
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else marks[(tp.topic, tp.partition)][1]
                for tp in found}
    named = {(full_name(t), p): o for (t, p), o in point.offsets.items()}
    unknown = sorted(set(named) - set(marks))
    if unknown:
        inputs = ", ".join(f"{t}:{p}" for t, p in sorted(marks))
        raise CartstreamError(f"{unknown[0][0]}:{unknown[0][1]} is not an input partition of this topology; "
                              f"its input partitions are {inputs}")
    if start:
        for (topic, partition), offset in named.items():
            require_in_log(topic, partition, offset, *marks[(topic, partition)])
    return {tp: named.get(tp, low if start else high) for tp, (low, high) in marks.items()}


def _parse_offsets(text: str) -> dict[tuple[str, int], int]:
    offsets = {}
    for part in text.split(","):
        topic, _, rest = part.strip().partition(":")
        partition, _, offset = rest.partition(":")
        if not (topic and partition.isdigit() and offset.isdigit()):
            raise _not_a_point(text)
        offsets[(topic, int(partition))] = int(offset)
    return offsets


def _not_a_point(text: str) -> CartstreamError:
    return CartstreamError(
        f"{text!r} is not a log point: use earliest, an ISO-8601 time such as 2026-11-25T10:00:00Z, "
        "or topic:partition:offset[,topic:partition:offset...]")
