"""`cartstream replay`: rebuild a topology's state from its input log under a new generation.

1. A new generation (consumer group `<group>.g<N>`, state folder, changelog topics) is
   recorded on `topology-generations` as rebuilding; its input offsets are set to `--from`.
2. The topology runs from there, silent with `--no-emit` (state only), while the live
   generation keeps serving. A progress line shows the lag and events/s.
3. With `--until`, it stops at that point and the live generation stays live. Without,
   once it is within `TAKEOVER_LAG` of the live generation's committed offsets (of the end
   of the log where it never committed), it takes over: the record says so, the live
   generation's instances commit and stop, and the rebuilt one publishes from the offsets
   they committed, so every trigger event gets exactly one output. It then keeps serving.
   Until then a silent rebuild does not pass the live generation's committed offsets: it
   waits there (at most `MAX_LIVE_WAIT_S` per message, for a live generation that stalled)
   and takes over, so no event falls between what the live one published and where the
   rebuilt one starts.

A crashed replay is resumed by running the same command again: its generation is on the
record, and its consumer group and changelog topics kept its offsets and state.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TextIO

from confluent_kafka import Consumer, ConsumerGroupState, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from .app_stopper import AppStopper
from .clients import client_config, commit_offsets
from .emit_gate import ReplayGate
from .exceptions import CartstreamError
from .generations import GenerationRecord, GenerationWatch, write_generation
from .log_points import LogPoint, resolve_point
from .registry import REPLAYABLE, TOPOLOGIES, topology_module
from .settings import Settings

__all__ = ["INPUTS", "abandon", "replay"]

log = logging.getLogger(__name__)

#: The input topics of every replayable topology.
INPUTS = ("clicks", "carts")
#: Events behind the live generation (the end of the log where it never committed) at which
#: a rebuild is close enough to take over.
TAKEOVER_LAG = 50
PROGRESS_EVERY_S = 1.0
#: How often a rebuild that will take over reads the live generation's position.
LIVE_EVERY_S = 0.5
#: The least time an input partition that delivers nothing holds back a replay's other inputs.
REPLAY_INPUT_ORDER_WAIT_S = 30.0


def replay(settings: Settings, topology: str, start: LogPoint, until: LogPoint | None, emit: bool,
           out: TextIO = sys.stderr) -> GenerationRecord:
    """Rebuild `topology` from `start`; returns the final generation record (see the module doc)."""
    require_replayable(topology)
    if until is not None and until.kind == "earliest":
        raise CartstreamError("--until earliest would replay nothing; give a time or topic:partition:offset")
    watch = GenerationWatch(settings, topology).start()
    record = _resume_or_start(settings, watch.latest, start, until, emit)
    generation = record.rebuild["generation"]
    # A replay's inputs are all in the log: a partition that keeps it waiting is slow, not
    # silent, and reading past it would change the event order the replay exists to repeat.
    rebuilding = settings.model_copy(update={
        "generation": generation, "input_order_wait_s": max(settings.input_order_wait_s, REPLAY_INPUT_ORDER_WAIT_S)})
    positions = _Positions(rebuilding, topology)
    try:
        # Resolved before anything is recorded: a wrong --until leaves no rebuild behind.
        bounds = None if until is None else positions.resolve(until, start=False)
        if record is not watch.latest:
            positions.commit_start(start)
            write_generation(settings, record)
        last_offsets = None if emit else positions.last_offsets_of_users(bounds or positions.ends())
        gate = ReplayGate(emit=emit, handover_timeout_s=settings.session_timeout_ms / 1000 + 30, until=bounds,
                          last_offsets=last_offsets)
        stopper = AppStopper(topology_module(topology).build(rebuilding, gate))
        monitor = _Monitor(settings, record, positions, gate, stopper, out)
        watch.guard(generation, monitor.superseded, current=record)
        monitor.start()
        try:
            stopper.run()
        finally:
            monitor.stop()
        if monitor.error is not None:
            raise monitor.error
        if bounds is not None and monitor.reached_until:
            record = monitor.record.finished()
            write_generation(settings, record)
        return monitor.record
    finally:
        watch.stop()
        positions.close()


def _resume_or_start(settings: Settings, latest: GenerationRecord, start: LogPoint, until: LogPoint | None,
                     emit: bool) -> GenerationRecord:
    wanted = {"start": start.describe(), "until": None if until is None else until.describe(), "emit": emit}
    if latest.rebuild is None:
        return latest.starting_rebuild(**wanted)
    running = {name: latest.rebuild[name] for name in wanted}
    if running != wanted:
        raise CartstreamError(
            f"generation {latest.rebuild['generation']} of {latest.topology} is being rebuilt with "
            f"{_flags(running)}; run the same command to resume it, or `cartstream replay "
            f"{latest.topology} --abandon` first")
    log.info("resuming the rebuild of generation %d", latest.rebuild["generation"])
    return latest


def require_replayable(topology: str) -> None:
    """Raise CartstreamError, saying why, unless `topology` can be replayed."""
    if topology in REPLAYABLE:
        return
    why = ("the embedder is not replayed: `cartstream embed --rebuild` embeds the whole catalog again"
           if topology in TOPOLOGIES else f"unknown topology {topology!r}")
    raise CartstreamError(f"{why}; replay one of {', '.join(REPLAYABLE)}, trainer")


def abandon(settings: Settings, topology: str) -> GenerationRecord | None:
    """Drop the rebuild under way from the record (its group and topics stay); None if there is none."""
    require_replayable(topology)
    watch = GenerationWatch(settings, topology).start()
    watch.stop()
    if watch.latest.rebuild is None:
        return None
    record = watch.latest.finished()
    write_generation(settings, record)
    return watch.latest


def _flags(rebuild: dict) -> str:
    flags = f"--from {rebuild['start']}"
    if rebuild["until"] is not None:
        flags += f" --until {rebuild['until']}"
    return flags + (" --emit" if rebuild["emit"] else " --no-emit")


class _Positions:
    """The input partitions of one generation's consumer group: committed offsets, log ends, seeking."""

    def __init__(self, settings: Settings, topology: str):
        self.settings = settings
        self.group = settings.consumer_group(topology)
        self.consumer = Consumer(client_config(settings, {"group.id": self.group, "enable.auto.commit": False}))
        self._others: dict[str, Consumer] = {}  # of other generations' groups, never subscribed
        metadata = self.consumer.list_topics(timeout=10)
        self.partitions = [TopicPartition(settings.topic(t), p)
                           for t in INPUTS for p in sorted(metadata.topics[settings.topic(t)].partitions)]

    def ends(self) -> dict[tuple[str, int], int]:
        return {(tp.topic, tp.partition): self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
                for tp in self.partitions}

    def committed(self, group: str | None = None) -> dict[tuple[str, int], int]:
        """Committed offsets of this generation's group, or of `group`; partitions without one are left out."""
        consumer = self.consumer
        if group is not None:
            if group not in self._others:
                self._others[group] = Consumer(client_config(self.settings, {"group.id": group,
                                                                             "enable.auto.commit": False}))
            consumer = self._others[group]
        return {(tp.topic, tp.partition): tp.offset
                for tp in consumer.committed(self.partitions, timeout=10) if tp.offset >= 0}

    def resolve(self, point: LogPoint, *, start: bool) -> dict[tuple[str, int], int]:
        """`point` as an offset per input partition (see `resolve_point`); design names
        (clicks) and full ones (<prefix>clicks) alike."""
        return resolve_point(self.consumer, self.partitions, point,
                             lambda t: self.settings.topic(t) if t in INPUTS else t, start=start)

    def last_offsets_of_users(self, ends: dict[tuple[str, int], int]) -> dict[tuple[str, int], dict[str, int]]:
        """Per input partition, each key's (user's) last offset from the committed position to `ends`.

        Keys only: a scan reads hundreds of thousands of records a second.
        """
        start = self.committed()
        scanner = Consumer(client_config(self.settings, {
            "group.id": f"{self.group}-scan", "enable.auto.commit": False, "enable.partition.eof": True,
            "isolation.level": "read_committed"}))
        todo = [TopicPartition(t, p, start.get((t, p), 0)) for (t, p), end in ends.items() if start.get((t, p), 0) < end]
        last: dict[tuple[str, int], dict[str, int]] = {tp: {} for tp in ends}
        pending = {(tp.topic, tp.partition) for tp in todo}
        try:
            scanner.assign(todo)
            while pending:
                for msg in scanner.consume(num_messages=10_000, timeout=1.0):
                    tp = (msg.topic(), msg.partition())
                    if msg.error() is not None:
                        if msg.error().code() != KafkaError._PARTITION_EOF:
                            raise CartstreamError(f"scanning {tp[0]}[{tp[1]}]: {msg.error().str()}")
                        pending.discard(tp)
                    elif msg.offset() < ends[tp]:
                        if msg.key() is not None:
                            last[tp][msg.key().decode(errors="replace")] = msg.offset()
                        if msg.offset() == ends[tp] - 1:
                            pending.discard(tp)
                    else:
                        pending.discard(tp)
        finally:
            scanner.close()
        return last

    def commit_start(self, start: LogPoint) -> None:
        """Set the new group's offsets to `start`, before any instance of it runs."""
        offsets = self.resolve(start, start=True)
        commit_offsets(self.consumer, [TopicPartition(t, p, o) for (t, p), o in offsets.items()])

    def close(self) -> None:
        for consumer in (self.consumer, *self._others.values()):
            consumer.close()


class _Monitor:
    """Watches a rebuild from beside the stream thread: progress, `--until`, and the take-over."""

    def __init__(self, settings: Settings, record: GenerationRecord, positions: _Positions, gate: ReplayGate,
                 stopper: AppStopper, out: TextIO):
        self.settings = settings
        self.record = record
        self.positions = positions
        self.gate = gate
        self.stopper = stopper
        self.out = out
        self.error: Exception | None = None
        self.reached_until = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replay-monitor", daemon=True)

    def start(self) -> None:
        if self._follows_live:
            self.gate.follow_live(self._live_position())  # before the first message, not a poll later
        self._thread.start()

    @property
    def _follows_live(self) -> bool:
        return self.gate.until is None and not self.gate.emit

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def superseded(self) -> None:
        """Another generation went live or the rebuild was abandoned: stop this one."""
        if self.reached_until:
            return  # the rebuild finished itself at --until, and recorded so: nothing superseded it
        self.out.write(f"\ngeneration {self.record.rebuild and self.record.rebuild['generation']} was superseded; "
                       "stopping\n")
        self._stop.set()
        self.gate.close()
        self.stopper.stop()

    def _run(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # surfaced by replay() after the app stops
            log.exception("replay monitor failed")
            self.error = exc if isinstance(exc, CartstreamError) else CartstreamError(f"replay failed: {exc}")
            self.stopper.stop()
        finally:
            self.gate.close()  # nothing follows the live generation now: no wait for it may last

    def _follow(self) -> None:
        first = self.positions.committed()
        began, shown, followed = time.monotonic(), 0.0, 0.0
        while not self._stop.wait(0.2):
            committed, ends = self.positions.committed(), self.positions.ends()
            lag = sum(max(0, end - committed.get(tp, end)) for tp, end in ends.items())
            now = time.monotonic()
            if self._follows_live and now - followed >= LIVE_EVERY_S:
                self.gate.follow_live(self._live_position())
                followed = now
            if now - shown >= PROGRESS_EVERY_S:
                done = sum(committed.get(tp, 0) - first.get(tp, 0) for tp in ends)
                self._progress(done, lag, done / max(now - began, 1e-9))
                shown = now
            if self.gate.until is not None:
                if all(committed.get(tp, 0) >= bound for tp, bound in self.gate.until.items()):
                    self.reached_until = True
                    self.out.write("\nreached --until; stopping\n")
                    self.stopper.stop()
                    return
            elif self._behind_live(committed, ends) <= TAKEOVER_LAG or self.gate.waiting_for_live:
                self._take_over(committed)
                return

    def _behind_live(self, committed: dict[tuple[str, int], int], ends: dict[tuple[str, int], int]) -> int:
        """Events between the rebuild and the live generation's committed offsets (the log's
        end where it never committed); a waiting rebuild passed messages it has not committed."""
        live, passed = self.gate.live_upto or {}, self.gate.passed()
        return sum(max(0, live.get(tp, end) - max(committed.get(tp, end), passed.get(tp, 0)))
                   for tp, end in ends.items())

    def _live_group(self) -> str:
        return self.settings.model_copy(update={"generation": self.record.live}).consumer_group(self.record.topology)

    def _live_position(self) -> dict[tuple[str, int], int] | None:
        """The live generation's committed offsets, running or not (past them it published
        nothing); None where it never committed any."""
        return self.positions.committed(self._live_group()) or None

    def _progress(self, done: int, lag: int, rate: float) -> None:
        generation = self.record.rebuild["generation"]
        line = f"{self.record.topology} generation {generation}: {done:,} events replayed, lag {lag:,}, {rate:,.0f} events/s"
        if self.gate.waiting_for_live:
            line += " (at the live generation's position: waiting for it to publish first)"
        self.out.write(f"\r{line}" if self.out.isatty() else f"{line}\n")
        self.out.flush()

    def _take_over(self, committed: dict[tuple[str, int], int]) -> None:
        live_group = self._live_group()
        self.gate.begin_takeover()
        self.record = self.record.taking_over()
        write_generation(self.settings, self.record)
        self._wait_until_empty(live_group)
        stopped_at = self.positions.committed(live_group)
        # Where the live generation never committed, this one publishes from where it is.
        handover = {tp: stopped_at.get(tp, self.gate.silent_upto.get(tp, committed[tp] - 1) + 1) for tp in committed}
        self.gate.hand_over(handover)
        if self.gate.late:
            log.warning("%d events passed the rebuild before the live generation stopped; their outputs were "
                        "not published", self.gate.late)
        self.record = self.record.went_live()
        write_generation(self.settings, self.record)
        self.out.write(f"\ngeneration {self.record.live} of {self.record.topology} is live; serving until stopped\n")
        self.out.flush()

    def _wait_until_empty(self, group: str) -> None:
        admin = AdminClient(client_config(self.settings))
        deadline = time.monotonic() + self.gate.handover_timeout_s
        while time.monotonic() < deadline:
            try:
                state = admin.describe_consumer_groups([group], request_timeout=10)[group].result().state
            except KafkaException:
                return  # the group does not exist: nothing live to stop
            if state in (ConsumerGroupState.EMPTY, ConsumerGroupState.DEAD):
                return
            self._stop.wait(0.2)
        raise CartstreamError(f"the live generation ({group}) did not stop within "
                              f"{self.gate.handover_timeout_s:.0f}s; is an old cartstream version serving it?")
