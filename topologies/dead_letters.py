"""The dead-letters topic for operators: count, tail and replay the records topologies rejected.

Every reading stops at the end the topic had when it began (read_committed, up to the
watermarks taken then), so a command finishes even while topologies keep writing.

Examples
--------
>>> from cartstream.schemas.examples import DEAD_LETTER
>>> letter = DeadLetter.model_validate(DEAD_LETTER)
>>> error_kind(letter.error)
'schema violation'
>>> describe(letter)  # doctest: +ELLIPSIS
'2024-11-25T13:07:10.000Z  clicks[2]@81723  key=u-4821  schema violation: event_time: ...  payload={"event_id": ...'
>>> Selection.parse(offsets="clicks:2:81723").matches(letter)
True
>>> Selection.parse(source="carts", error_contains="schema").matches(letter)
False
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from ..operators.validation import Accepted, shorten, validate_record
from ..schemas.dead_letter import DeadLetter, Encoding
from .exceptions import BrokerUnavailableError, InvalidSelectionError, ReplayError, TopicMissingError
from .clients import client_config
from .settings import Settings
from .topics import existing_topics

PREVIEW_LENGTH = 80
#: How long a reading may go without a record or an end-of-partition before it gives up.
IDLE_TIMEOUT_S = 15.0

class SourceOffset(NamedTuple):
    """Where a rejected record sat in its source topic (the full, prefixed name)."""

    topic: str
    partition: int
    offset: int


def parse_offsets(text: str) -> frozenset[SourceOffset]:
    """Source coordinates from ``TOPIC:PARTITION:OFFSET[,...]``; raises InvalidSelectionError.

    Examples
    --------
    >>> sorted(parse_offsets("prod.clicks:0:17, prod.carts:2:5"))
    [SourceOffset(topic='prod.carts', partition=2, offset=5), SourceOffset(topic='prod.clicks', partition=0, offset=17)]
    >>> parse_offsets("clicks:zero:17")
    Traceback (most recent call last):
        ...
    cartstream.topologies.exceptions.InvalidSelectionError: --offsets wants TOPIC:PARTITION:OFFSET[,...] with whole numbers >= 0, got 'clicks:zero:17'
    """
    coordinates = set()
    for part in text.split(","):
        fields = part.strip().rsplit(":", 2)
        try:
            topic, partition, offset = fields[0], int(fields[1]), int(fields[2])
            if not topic or partition < 0 or offset < 0:
                raise ValueError(part)
        except (ValueError, IndexError):
            raise InvalidSelectionError(
                f"--offsets wants TOPIC:PARTITION:OFFSET[,...] with whole numbers >= 0, got {part.strip()!r}"
            ) from None
        coordinates.add(SourceOffset(topic, partition, offset))
    return frozenset(coordinates)


@dataclass(frozen=True)
class Selection:
    """Which dead letters to replay: every criterion given must hold; none given selects all."""

    source: str | None = None
    error_contains: str | None = None
    offsets: frozenset[SourceOffset] | None = None

    @classmethod
    def parse(
        cls,
        source: str | None = None,
        error_contains: str | None = None,
        offsets: str | None = None,
        everything: bool = False,
    ) -> "Selection":
        """A selection from the replay options; selecting all must be asked for with ``everything``.

        Examples
        --------
        >>> Selection.parse(everything=True)
        Selection(source=None, error_contains=None, offsets=None)
        >>> Selection.parse()
        Traceback (most recent call last):
            ...
        cartstream.topologies.exceptions.InvalidSelectionError: choose dead letters with --source, --error-contains or --offsets, or replay every one with --all
        """
        selection = cls(source, error_contains, None if offsets is None else parse_offsets(offsets))
        chosen = selection != cls()
        if everything and chosen:
            raise InvalidSelectionError("--all replays every dead letter; drop it or the other selectors")
        if not (everything or chosen):
            raise InvalidSelectionError(
                "choose dead letters with --source, --error-contains or --offsets, or replay every one with --all"
            )
        return selection

    def matches(self, letter: DeadLetter) -> bool:
        """Whether the letter meets every criterion; error text is matched case-insensitively."""
        if self.source is not None and letter.source_topic != self.source:
            return False
        if self.error_contains is not None and self.error_contains.casefold() not in letter.error.casefold():
            return False
        where = SourceOffset(letter.source_topic, letter.partition, letter.offset)
        return self.offsets is None or where in self.offsets


def error_kind(error: str) -> str:
    """What kind of failure an error describes: its text before the first colon.

    Examples
    --------
    >>> error_kind("not JSON: expected value at line 1 column 1")
    'not JSON'
    >>> error_kind("key missing: clicks is keyed by user_id")
    'key missing'
    """
    return shorten(one_line(error.split(":", 1)[0].strip()), 60)


def one_line(text: str) -> str:
    """Text with line breaks and other control characters escaped, so a record prints on one line.

    Examples
    --------
    >>> one_line('{"a":\\n 1}')
    '{"a":\\\\n 1}'
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _preview(text: str | None, encoding: Encoding) -> str:
    if text is None:
        return "null"
    return shorten(one_line(text) if encoding == "utf8" else "base64:" + text, PREVIEW_LENGTH)


def describe(letter: DeadLetter) -> str:
    """One line for an operator: when it failed, where it came from, its key, why, and its payload."""
    failed_at = datetime.fromtimestamp(letter.failed_at / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return "  ".join((
        failed_at.replace("+00:00", "Z"),
        f"{letter.source_topic}[{letter.partition}]@{letter.offset}",
        f"key={_preview(letter.key, letter.key_encoding)}",
        one_line(letter.error),
        f"payload={_preview(letter.payload, letter.payload_encoding)}",
    ))


def latest(letters: Iterable[DeadLetter], n: int) -> list[DeadLetter]:
    """The n letters that failed last, oldest first; letters of the same millisecond in source order.

    Examples
    --------
    >>> from cartstream.schemas.examples import DEAD_LETTER
    >>> letters = [DeadLetter.model_validate({**DEAD_LETTER, "failed_at": t}) for t in (1700000000003, 1700000000001, 1700000000002)]
    >>> [letter.failed_at for letter in latest(letters, 2)]
    [1700000000002, 1700000000003]
    """
    ordered = sorted(letters, key=lambda letter: (letter.failed_at, letter.source_topic, letter.partition, letter.offset))
    return ordered[max(len(ordered) - n, 0):]


@dataclass
class Counts:
    """How many dead letters there are, by source topic and by kind of error."""

    total: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    """Records of the topic that are not dead letters at all."""

    @classmethod
    def of(cls, letters: Iterable[DeadLetter], skipped: int = 0) -> "Counts":
        counts = cls(skipped=skipped)
        for letter in letters:
            counts.total += 1
            counts.by_source[letter.source_topic] += 1
            counts.by_kind[error_kind(letter.error)] += 1
        return counts

    def lines(self) -> list[str]:
        """The counts as aligned text, the most frequent first.

        Examples
        --------
        >>> from cartstream.schemas.examples import DEAD_LETTER
        >>> print("\\n".join(Counts.of([DeadLetter.model_validate(DEAD_LETTER)] * 2).lines()))
        dead letters: 2
        by source topic:
          clicks                                        2
        by error kind:
          schema violation                              2
        """
        lines = [f"dead letters: {self.total}"]
        for title, counter in (("by source topic", self.by_source), ("by error kind", self.by_kind)):
            if counter:
                lines.append(f"{title}:")
                # Most frequent first; ties by name, so the output is stable.
                ranked = sorted(counter.items(), key=lambda entry: (-entry[1], entry[0]))
                lines += [f"  {name:<40} {number:>7}" for name, number in ranked]
        return lines


@dataclass(frozen=True)
class Reading:
    """The dead letters a command read, and how many records of the topic were not dead letters."""

    letters: list[DeadLetter]
    skipped: int


class DeadLetterTopic:
    """The dead-letters topic of one prefix, readable up to the end it had when this was opened.

    Use as a context manager; it holds a consumer that never joins a group or commits.
    """

    def __init__(self, settings: Settings, idle_timeout: float = IDLE_TIMEOUT_S):
        self.name = settings.topic("dead-letters")
        self.idle_timeout = idle_timeout
        partitions = require_topics(settings, [self.name])[self.name]
        self._consumer = Consumer(client_config(settings, {
            # The client insists on a group id; partitions are assigned by hand and nothing is committed.
            "group.id": settings.consumer_group("dead-letters-cli"),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # Letters of aborted transactions were never really written: the topology retried them.
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }))
        try:
            self._bounds = {p: self._watermarks(p) for p in range(partitions)}
        except BaseException:
            self._consumer.close()
            raise

    def __enter__(self) -> "DeadLetterTopic":
        return self

    def __exit__(self, *exc_info) -> None:
        self._consumer.close()

    def _watermarks(self, partition: int) -> tuple[int, int]:
        try:
            return self._consumer.get_watermark_offsets(TopicPartition(self.name, partition), timeout=10)
        except KafkaException as exc:
            raise BrokerUnavailableError(f"cannot read the end of {self.name}[{partition}]: {exc.args[0].str()}") from None

    def _read(self, starts: dict[int, int]) -> Iterator[tuple[int, DeadLetter | None]]:
        """(partition, letter or None for a record that is no dead letter) from each start to the end."""
        # Transaction markers take offsets too, so the last record is often below the high
        # watermark: a partition is done at its end-of-partition event or at the watermark.
        pending = {p for p, start in starts.items() if start < self._bounds[p][1]}
        if not pending:
            return
        self._consumer.assign([TopicPartition(self.name, p, starts[p]) for p in pending])
        progress = time.monotonic()
        try:
            while pending:
                msg = self._consumer.poll(0.5)
                if msg is None:
                    if time.monotonic() - progress > self.idle_timeout:
                        raise BrokerUnavailableError(
                            f"reading {self.name} made no progress for {self.idle_timeout:.0f}s; is Kafka up?")
                    continue
                progress = time.monotonic()
                partition, error = msg.partition(), msg.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise BrokerUnavailableError(f"reading {self.name}[{partition}] failed: {error.str()}")
                    pending.discard(partition)
                    continue
                end = self._bounds[partition][1]
                if partition not in pending or msg.offset() >= end:
                    pending.discard(partition)
                    continue
                if msg.offset() + 1 >= end:
                    pending.discard(partition)
                checked = validate_record("dead-letters", msg.key(), msg.value())
                yield partition, checked.message if isinstance(checked, Accepted) else None
        finally:
            self._consumer.unassign()

    def read_all(self) -> Reading:
        """Every dead letter, in the order the broker delivers them (partitions interleave)."""
        letters, skipped = [], 0
        for _, letter in self._read({p: low for p, (low, _) in self._bounds.items()}):
            if letter is None:
                skipped += 1
            else:
                letters.append(letter)
        return Reading(letters, skipped)

    def last(self, n: int) -> Reading:
        """The n letters that failed last, oldest first, reading only the tail of each partition."""
        # A partition's last n letters sit somewhere in its last offsets, but markers and
        # non-letters make the distance unknown: read a window and widen it until it holds n.
        found: dict[int, list[DeadLetter]] = {}
        skipped: dict[int, int] = {}
        todo = set(self._bounds)
        window = 2 * n
        while todo:
            starts = {p: max(self._bounds[p][0], self._bounds[p][1] - window) for p in todo}
            for p in todo:
                found[p], skipped[p] = [], 0
            for partition, letter in self._read(starts):
                if letter is None:
                    skipped[partition] += 1
                else:
                    found[partition].append(letter)
            todo = {p for p in todo if len(found[p]) < n and starts[p] > self._bounds[p][0]}
            window *= 4
        return Reading(latest((letter for letters in found.values() for letter in letters[-n:]), n),
                       sum(skipped.values()))


def require_topics(settings: Settings, names: Iterable[str]) -> dict[str, int]:
    """Partition counts of the named topics; raises TopicMissingError naming the first absent one."""
    present = existing_topics(AdminClient(client_config(settings, {"socket.timeout.ms": 10000})))
    for name in names:
        if name not in present:
            raise TopicMissingError(f"topic {name} does not exist; create the topics with: cartstream topics create")
    return {name: present[name] for name in names}


def count(settings: Settings) -> Counts:
    """Count the dead letters of the topic as it is now."""
    with DeadLetterTopic(settings) as topic:
        reading = topic.read_all()
    return Counts.of(reading.letters, reading.skipped)


def tail(settings: Settings, n: int) -> Reading:
    """The n dead letters that failed last, oldest first."""
    with DeadLetterTopic(settings) as topic:
        return topic.last(n)


def select(settings: Settings, selection: Selection) -> Reading:
    """The dead letters a selection matches, in the order they were read."""
    with DeadLetterTopic(settings) as topic:
        reading = topic.read_all()
    return Reading([letter for letter in reading.letters if selection.matches(letter)], reading.skipped)


def replay(settings: Settings, letters: Sequence[DeadLetter]) -> int:
    """Re-publish letters to their source topic and partition with the original key and value bytes.

    The original partition keeps a key's records where its producer's partitioner put them,
    whatever partitioner that was. Returns how many the broker acknowledged; raises
    ReplayError when not all were, saying how many were.
    """
    targets = require_topics(settings, sorted({letter.source_topic for letter in letters}))
    for letter in letters:
        if letter.partition >= targets[letter.source_topic]:
            raise ReplayError(
                f"{letter.source_topic} has no partition {letter.partition} any more; nothing was re-published")
    # Retries after a lost acknowledgement must not write a letter twice.
    producer = Producer(client_config(settings, {"enable.idempotence": True}))
    failures: list[str] = []

    def delivered(error, _msg) -> None:
        if error is not None:
            failures.append(error.str())

    for letter in letters:
        producer.produce(letter.source_topic, key=letter.key_bytes(), value=letter.payload_bytes(),
                         partition=letter.partition, on_delivery=delivered)
        producer.poll(0)
    unacknowledged = producer.flush(30)
    sent = len(letters) - unacknowledged - len(failures)
    if unacknowledged or failures:
        reason = failures[0] if failures else f"{unacknowledged} not acknowledged within 30s"
        raise ReplayError(f"re-published {sent} of {len(letters)} dead letters; {reason}")
    return sent
