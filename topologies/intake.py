"""The input stage of every topology: validate, send rejects to `dead-letters`, drop duplicates.

Every input offset ends either in a message that flows on or in a dead letter, and the
dead letter is produced in the same exactly-once transaction that commits the offset.
"""

from __future__ import annotations

import logging
import time

from quixstreams import Application, State, message_context
from quixstreams.dataframe import StreamingDataFrame

from ..operators.dedupe import DuplicateFilter
from ..operators.validation import Accepted, Rejected, dead_letter_for, validate_record
from .emit_gate import EmitGate
from .observability import Metrics
from .settings import Settings

log = logging.getLogger(__name__)

LIVE = EmitGate()


def dead_letters_topic(app: Application, settings: Settings):
    """The dead-letters topic: original key bytes, DeadLetter JSON bytes."""
    return app.topic(settings.topic("dead-letters"), key_serializer="bytes", value_serializer="bytes")


def _checker(topic: str):
    def check(value: bytes | None, key: bytes | None, timestamp: int, headers) -> Accepted | Rejected:
        return validate_record(topic, key, value)

    return check


def _dead_letter_writer(metrics: Metrics | None):
    def to_dead_letter(rejected: Rejected) -> bytes:
        if metrics is not None:
            metrics.dead_letters.labels(rejected.kind).inc()
        return _to_dead_letter(rejected)

    return to_dead_letter


def _to_dead_letter(rejected: Rejected) -> bytes:
    ctx = message_context()
    log.warning("dead letter: %s", rejected.reason,
                extra={"topic": ctx.topic, "partition": ctx.partition, "offset": ctx.offset})
    return dead_letter_for(
        ctx.topic, ctx.partition, ctx.offset, rejected.key, rejected.value, rejected.reason,
        failed_at_ms=int(time.time() * 1000),
    ).to_json()


def validated(app: Application, settings: Settings, topic: str, dead_letters=None,
              metrics: Metrics | None = None, gate: EmitGate = LIVE) -> StreamingDataFrame:
    """A dataframe of the accepted records of design topic `topic`: Accepted values, str keys.

    Rejected records are branched off to `dead-letters`, keyed by their original key. The
    gate says which records are processed at all and whose dead letters are published.
    """
    source = app.topic(settings.topic(topic), key_deserializer="bytes", value_deserializer="bytes")
    checked = app.dataframe(source).filter(lambda _: gate.processes()).apply(_checker(topic), metadata=True)

    rejected = checked.filter(lambda result: isinstance(result, Rejected) and gate.allows())
    rejected.apply(_dead_letter_writer(metrics)).to_topic(dead_letters or dead_letters_topic(app, settings))

    accepted = checked.filter(lambda result: isinstance(result, Accepted))
    return accepted


def deduplicated(sdf: StreamingDataFrame, dedupe: DuplicateFilter,
                 metrics: Metrics | None = None) -> StreamingDataFrame:
    """Only the first occurrence of each event_id per key within the filter's window."""

    def first_time(accepted: Accepted, state: State) -> bool:
        event = accepted.message
        if event is None:  # a tombstone has no event id; deleting twice is harmless
            return True
        if dedupe.is_new(state, event.event_id, event.event_time):
            return True
        log.info("duplicate event skipped", extra={"event_id": event.event_id, "user_id": accepted.key})
        if metrics is not None:
            metrics.duplicates.inc()
        return False

    return sdf.filter(first_time, stateful=True)


def user_events(app: Application, settings: Settings, dead_letters, metrics: Metrics | None = None,
                gate: EmitGate = LIVE) -> StreamingDataFrame:
    """`clicks` and `carts` merged (both keyed by user), validated and deduplicated; with
    `metrics`, each event that goes on is counted by its topic (`cartstream_events_total`)."""
    events = validated(app, settings, "clicks", dead_letters, metrics, gate).concat(
        validated(app, settings, "carts", dead_letters, metrics, gate))
    events = deduplicated(events, DuplicateFilter(window_ms=settings.dedupe_window_ms), metrics)
    if metrics is not None:
        events = events.update(lambda _: metrics.events.labels(message_context().topic).inc())
    return events
