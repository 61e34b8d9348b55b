"""A silent rebuild that will take over never passes the live generation's committed offsets."""

from __future__ import annotations

import threading

from cartstream.compose.process import wait_until
from cartstream.topologies import emit_gate
from cartstream.topologies.emit_gate import ReplayGate


def allows_on_a_thread(gate: ReplayGate, offset: int) -> tuple[threading.Thread, list]:
    """``gate.allows_at("clicks", 0, offset)`` on a thread of its own (it may wait); its answer lands in the list."""
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(gate.allows_at("clicks", 0, offset)), daemon=True)
    thread.start()
    return thread, answer


def test_a_silent_rebuild_waits_at_the_live_position_until_the_live_generation_commits_past_it():
    gate = ReplayGate(emit=False, handover_timeout_s=5.0)
    gate.follow_live({("clicks", 0): 10})
    assert gate.allows_at("clicks", 0, 9) is False  # behind the live generation: silent, at once
    thread, answer = allows_on_a_thread(gate, 10)
    assert wait_until(lambda: gate.waiting_for_live, 5)
    assert thread.is_alive() and gate.silent_upto == {("clicks", 0): 9} and gate.passed() == {("clicks", 0): 10}
    gate.follow_live({("clicks", 0): 11})
    thread.join(5)
    assert answer == [False] and not gate.waiting_for_live and gate.silent_upto == {("clicks", 0): 10}


def test_the_take_over_releases_a_waiting_rebuild_which_then_publishes_past_the_handover():
    gate = ReplayGate(emit=False, handover_timeout_s=5.0)
    gate.follow_live({("clicks", 0): 10})
    thread, answer = allows_on_a_thread(gate, 12)
    assert wait_until(lambda: gate.waiting_for_live, 5) and thread.is_alive()
    gate.begin_takeover()
    gate.hand_over({("clicks", 0): 12})  # where the live generation stopped
    thread.join(5)
    assert answer == [True] and gate.late == 0


def test_nothing_waits_where_the_live_generation_never_committed_nor_in_a_backfill_or_a_bounded_replay():
    silent = ReplayGate(emit=False, handover_timeout_s=5.0)
    silent.follow_live({("carts", 0): 3})
    assert silent.allows_at("clicks", 0, 100) is False  # no live position on clicks[0]: on to the end
    emitting = ReplayGate(emit=True, handover_timeout_s=5.0)
    emitting.follow_live({("clicks", 0): 0})
    assert emitting.allows_at("clicks", 0, 5) is True
    bounded = ReplayGate(emit=False, handover_timeout_s=5.0, until={("clicks", 0): 100})
    bounded.follow_live({("clicks", 0): 0})
    assert bounded.allows_at("clicks", 0, 5) is False


def test_a_closed_gate_or_a_stalled_live_generation_ends_the_wait(monkeypatch):
    gate = ReplayGate(emit=False, handover_timeout_s=5.0)
    gate.follow_live({("clicks", 0): 10})
    thread, answer = allows_on_a_thread(gate, 10)
    assert wait_until(lambda: gate.waiting_for_live, 5)
    gate.close()  # the monitor is gone: nothing would ever move the live position
    thread.join(5)
    assert answer == [False] and not gate.waiting_for_live

    monkeypatch.setattr(emit_gate, "MAX_LIVE_WAIT_S", 0.2)
    stalled = ReplayGate(emit=False, handover_timeout_s=5.0)
    stalled.follow_live({("clicks", 0): 10})
    thread, answer = allows_on_a_thread(stalled, 10)
    thread.join(5)
    assert answer == [False] and stalled.waited, "past the longest wait the rebuild goes on"
