"""Whether the input message being processed publishes its outputs.

A live topology always publishes. A replay with `--no-emit` rebuilds state silently while
the live generation keeps publishing; when it takes over, it publishes exactly the input
offsets the live generation did not process (from the live group's last committed
offsets on), so no trigger event gets two lists and none gets none.

Examples
--------
>>> gate = ReplayGate(emit=False, handover_timeout_s=1.0)
>>> gate.allows_at("clicks", 0, 10)
False
>>> gate.begin_takeover(); gate.hand_over({("clicks", 0): 9})
>>> gate.allows_at("clicks", 0, 8), gate.allows_at("clicks", 0, 11)
(False, True)

The live generation stopped at offset 9 but the rebuild had already passed 9 and 10 silently:

>>> gate.late
2
>>> scanned = ReplayGate(emit=False, handover_timeout_s=1.0, last_offsets={("clicks", 0): {"u1": 7}})
>>> scanned.ranks_at("clicks", 0, 3, "u1"), scanned.ranks_at("clicks", 0, 7, "u1"), scanned.ranks_at("clicks", 0, 9, "u2")
(False, True, True)
>>> bounded = ReplayGate(emit=True, handover_timeout_s=1.0, until={("clicks", 0): 100})
>>> bounded.processes_at("clicks", 0, 99), bounded.processes_at("clicks", 0, 100), bounded.allows_at("clicks", 0, 100)
(True, False, False)
"""

from __future__ import annotations

import logging
import threading
import time

from quixstreams import message_context

from .exceptions import CartstreamError

__all__ = ["EmitGate", "ReplayGate"]

log = logging.getLogger(__name__)

#: The longest a rebuild waits at the live generation's position for one message. The
#: monitor takes over within a poll of a wait beginning; past this the live generation has
#: stalled, and waiting on would outlast the rebuild's open transaction (10 s).
MAX_LIVE_WAIT_S = 5.0


class EmitGate:
    """The live gate: every message publishes its outputs."""

    replaying = False

    def allows(self) -> bool:
        """Whether the message in the current Quix message context publishes."""
        ctx = message_context()
        return self.allows_at(ctx.topic, ctx.partition, ctx.offset)

    def allows_at(self, topic: str, partition: int, offset: int) -> bool:
        return True

    def processes(self) -> bool:
        """Whether the message in the current Quix message context is processed at all."""
        ctx = message_context()
        return self.processes_at(ctx.topic, ctx.partition, ctx.offset)

    def processes_at(self, topic: str, partition: int, offset: int) -> bool:
        return True

    def ranks(self, user_id: str) -> bool:
        """Whether the current message's list must be ranked (a silent replay skips the ones nobody sees)."""
        ctx = message_context()
        return self.ranks_at(ctx.topic, ctx.partition, ctx.offset, user_id)

    def ranks_at(self, topic: str, partition: int, offset: int, user_id: str) -> bool:
        return True


class ReplayGate(EmitGate):
    """A rebuilding generation's gate: silent (unless `emit`) until it takes over at the handover
    offsets; with `until` (offsets per input partition), nothing at or past them is processed."""

    replaying = True

    def __init__(self, emit: bool, handover_timeout_s: float, until: dict[tuple[str, int], int] | None = None,
                 last_offsets: dict[tuple[str, int], dict[str, int]] | None = None):
        self.emit = emit
        self.until = until
        # Per input partition, each user's last offset in the log as it was when the replay
        # began: silently, only those lists are ranked (each other list is replaced by the
        # user's next event before anyone could see or label it). None: rank every list.
        self.last_offsets = last_offsets
        self.handover_timeout_s = handover_timeout_s
        self.taking_over = threading.Event()
        self.handed_over = threading.Event()
        self.handover: dict[tuple[str, int], int] = {}
        self.silent_upto: dict[tuple[str, int], int] = {}
        self.late = 0  # messages past the handover the rebuild had already passed silently
        # The live generation's committed offsets (None: it never committed). A rebuild that
        # will take over waits at them, so it never passes silently an event whose list the
        # live generation has not published: at the handover nothing falls between. Where the
        # live generation committed nothing, the rebuild goes on to the end of the log.
        self.live_upto: dict[tuple[str, int], int] | None = None
        self.waiting_for_live = False
        self.waited = False
        self.closed = False
        self._live_moved = threading.Condition()

    def processes_at(self, topic: str, partition: int, offset: int) -> bool:
        return self.until is None or offset < self.until.get((topic, partition), 0)

    def allows_at(self, topic: str, partition: int, offset: int) -> bool:
        if not self.processes_at(topic, partition, offset):
            return False
        if self.emit:
            return True
        if self._stays_silent(topic, partition, offset):
            return False
        # The live generation is stopping: which offsets it processed is known only once it has.
        if not self.handed_over.wait(self.handover_timeout_s):
            raise CartstreamError(f"the live generation did not hand over within {self.handover_timeout_s:.0f}s")
        return offset >= self.handover.get((topic, partition), 0)

    def ranks_at(self, topic: str, partition: int, offset: int, user_id: str) -> bool:
        if self.emit or self.taking_over.is_set() or self.last_offsets is None:
            return True
        last = self.last_offsets.get((topic, partition), {})
        return last.get(user_id, offset) <= offset

    def follow_live(self, committed: dict[tuple[str, int], int] | None) -> None:
        """The live generation's committed offsets now (None: it never committed)."""
        with self._live_moved:
            self.live_upto = committed
            self._live_moved.notify_all()

    def _stays_silent(self, topic: str, partition: int, offset: int) -> bool:
        """Unless a take-over began, note the offset as passed silently, once the live
        generation has committed past it; whether it did."""
        with self._live_moved:
            deadline = time.monotonic() + MAX_LIVE_WAIT_S
            while (self.until is None and self.live_upto is not None and not self.taking_over.is_set()
                   and not self.closed and offset >= self.live_upto.get((topic, partition), offset + 1)
                   and (left := deadline - time.monotonic()) > 0):
                if not self.waited:
                    self.waited = True
                    log.info("the rebuild reached the live generation's position (%s[%d] at %d): it waits for "
                             "the live generation to publish first", topic, partition, offset)
                self.waiting_for_live = True
                self._live_moved.wait(min(left, 1.0))
            self.waiting_for_live = False
            if self.taking_over.is_set():
                return False
            self.silent_upto[(topic, partition)] = offset
            return True

    def passed(self) -> dict[tuple[str, int], int]:
        """Per input partition, the offset after the last message passed silently (not yet committed)."""
        with self._live_moved:
            return {tp: offset + 1 for tp, offset in self.silent_upto.items()}

    def close(self) -> None:
        """Nothing will follow the live generation any more: end any wait for it."""
        with self._live_moved:
            self.closed = True
            self._live_moved.notify_all()

    def begin_takeover(self) -> None:
        """From now on, hold each message until the handover offsets are known."""
        with self._live_moved:
            self.taking_over.set()
            self._live_moved.notify_all()

    def hand_over(self, offsets: dict[tuple[str, int], int]) -> None:
        """The live generation's last committed offsets: this generation publishes from there on."""
        self.handover = dict(offsets)
        self.late = sum(max(0, silent + 1 - offsets.get(tp, 0)) for tp, silent in self.silent_upto.items())
        self.handed_over.set()
