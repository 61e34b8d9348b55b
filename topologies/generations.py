"""Generations of a topology: which consumer group is live, and which one is being rebuilt.

A replay runs a topology under a new generation: its own consumer group and state, hence
fresh state rebuilt from the log. The compacted `topology-generations` topic holds one
record per topology saying which generation is live and, while a replay runs, which
generation is rebuilding and in which phase. `cartstream run` serves the live generation
and stops when a rebuilt generation takes over; a crashed replay finds its generation
there and resumes it.

Examples
--------
>>> record = GenerationRecord("recommender")
>>> record.live, record.rebuild
(0, None)
>>> started = record.starting_rebuild(start="earliest", until=None, emit=False)
>>> started.rebuild["generation"], started.newest
(1, 1)
>>> started.superseded(0), started.taking_over().superseded(0), started.taking_over().superseded(1)
(False, True, False)
>>> started.went_live().live, started.went_live().rebuild
(1, None)
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import orjson
from confluent_kafka import Producer

from .clients import client_config
from .exceptions import BrokerUnavailableError
from .table_reader import TableReader
from .settings import Settings

__all__ = ["GenerationRecord", "GenerationWatch", "read_generation", "write_generation"]

TOPIC = "topology-generations"


@dataclasses.dataclass(frozen=True)
class GenerationRecord:
    """One topology's generations: the live one, the newest ever made, the rebuild under way."""

    topology: str
    live: int = 0
    newest: int = 0
    rebuild: dict | None = None  # generation, phase ("rebuilding" | "taking-over"), start, until, emit

    def starting_rebuild(self, start: str, until: str | None, emit: bool) -> GenerationRecord:
        """A new generation, numbered after every earlier one (an abandoned group keeps its offsets)."""
        generation = self.newest + 1
        rebuild = {"generation": generation, "phase": "rebuilding", "start": start, "until": until, "emit": emit}
        return dataclasses.replace(self, newest=generation, rebuild=rebuild)

    def taking_over(self) -> GenerationRecord:
        """The rebuild has caught up: the live generation's instances must stop."""
        return dataclasses.replace(self, rebuild={**self.rebuild, "phase": "taking-over"})

    def went_live(self) -> GenerationRecord:
        """The rebuilt generation is the live one."""
        return dataclasses.replace(self, live=self.rebuild["generation"], rebuild=None)

    def finished(self) -> GenerationRecord:
        """A bounded rebuild (`--until`) ended; the live generation is unchanged."""
        return dataclasses.replace(self, rebuild=None)

    def superseded(self, generation: int) -> bool:
        """Whether instances of `generation` must stop: another generation is live or taking over."""
        if self.rebuild is not None and self.rebuild["phase"] == "taking-over":
            return self.rebuild["generation"] != generation
        return self.live != generation and (self.rebuild is None or self.rebuild["generation"] != generation)

    def to_json(self) -> bytes:
        return orjson.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, value: bytes) -> GenerationRecord:
        return cls(**orjson.loads(value))


def read_generation(settings: Settings, topology: str) -> GenerationRecord:
    """The latest record of `topology` (generation 0 live when there is none)."""
    watch = GenerationWatch(settings, topology).start()
    watch.stop()
    return watch.latest


def write_generation(settings: Settings, record: GenerationRecord) -> None:
    """Publish `record` and wait until the broker has it."""
    producer = Producer(client_config(settings, {"enable.idempotence": True}))
    producer.produce(settings.topic(TOPIC), key=record.topology, value=record.to_json())
    if producer.flush(30) != 0:
        raise BrokerUnavailableError(f"the broker did not take the generation record of {record.topology}")


class GenerationWatch:
    """Follows a topology's generation record; calls back once when a guarded generation must stop.

    The topic is read from the beginning, but only its latest record counts: `start` reads
    the history to the end before `latest` is trusted or any record is judged.
    """

    def __init__(self, settings: Settings, topology: str):
        self.settings = settings
        self.topology = topology
        self.latest = GenerationRecord(topology)
        self.generation: int | None = None
        self.on_superseded: Callable[[], None] | None = None
        self.lock = threading.Lock()
        self.reader = TableReader(settings, {settings.topic(TOPIC): self._apply}, self.lock)

    def _apply(self, key: str, value: bytes | None) -> None:
        if key == self.topology and value is not None:
            self.latest = GenerationRecord.from_json(value)
            self._judge()

    def _judge(self) -> None:
        if self.on_superseded is not None and self.latest.superseded(self.generation):
            callback, self.on_superseded = self.on_superseded, None
            callback()

    def start(self) -> GenerationWatch:
        """Read the history to its end; `latest` is then the current record."""
        self.reader.start()
        if not self.reader.wait_caught_up(self.settings.tables_timeout_s):
            raise BrokerUnavailableError(f"{self.settings.topic(TOPIC)} could not be read to its end in time")
        return self

    def guard(self, generation: int, on_superseded: Callable[[], None],
              current: GenerationRecord | None = None) -> None:
        """Call `on_superseded` (once, on the reader thread) when `generation` must stop.

        `current` is a record this process has just written, newer than any read so far.
        """
        with self.lock:
            if current is not None:
                self.latest = current
            self.generation, self.on_superseded = generation, on_superseded
            self._judge()

    def stop(self) -> None:
        self.reader.stop()
