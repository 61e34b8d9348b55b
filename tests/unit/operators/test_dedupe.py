"""DuplicateFilter: one application per event_id per key, bounded by event time and count."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from cartstream.operators.dedupe import DuplicateFilter

MINUTE = 60_000
T0 = 1_732_540_000_000


class JsonState:
    """An in-memory stand-in for one key's Quix Streams State that stores values as JSON bytes.

    Serializing on set, as the RocksDB store and its changelog do, proves the values are
    JSON-serializable and that nothing depends on the object identity of what was stored.
    """

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return orjson.loads(self.data[key]) if key in self.data else default

    def set(self, key: str, value: Any) -> None:
        self.data[key] = orjson.dumps(value)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def remembered(state: JsonState, dedupe: DuplicateFilter) -> dict[str, int]:
    return state.get(dedupe.state_key, {"seen": {}})["seen"]


def test_first_sighting_is_new_and_a_repeat_is_a_duplicate():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    assert dedupe.is_new(state, "e1", T0) is True
    assert dedupe.is_new(state, "e1", T0) is False
    assert dedupe.is_new(state, "e1", T0 + 5_000) is False


def test_distinct_events_are_all_new():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    assert all(dedupe.is_new(state, f"e{i}", T0 + i) for i in range(100))


def test_each_key_remembers_its_own_ids():
    dedupe, alice, bob = DuplicateFilter(window_ms=MINUTE), JsonState(), JsonState()
    assert dedupe.is_new(alice, "e1", T0) and dedupe.is_new(bob, "e1", T0)


def test_ids_older_than_the_window_in_event_time_are_forgotten():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    dedupe.is_new(state, "old", T0)
    dedupe.is_new(state, "new", T0 + MINUTE + 1)
    assert remembered(state, dedupe) == {"new": T0 + MINUTE + 1}
    assert dedupe.is_new(state, "old", T0) is True


def test_an_id_exactly_at_the_window_edge_is_still_a_duplicate():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    dedupe.is_new(state, "e1", T0)
    dedupe.is_new(state, "e2", T0 + MINUTE)
    assert dedupe.is_new(state, "e1", T0) is False


def test_late_event_inside_the_window_is_remembered():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    dedupe.is_new(state, "e2", T0 + 30_000)
    assert dedupe.is_new(state, "late", T0) is True
    assert dedupe.is_new(state, "late", T0) is False


def test_late_event_behind_the_window_passes_without_being_remembered():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    dedupe.is_new(state, "e2", T0 + 10 * MINUTE)
    assert dedupe.is_new(state, "ancient", T0) is True
    assert "ancient" not in remembered(state, dedupe)


def test_the_window_never_moves_back_when_an_older_event_arrives():
    dedupe, state = DuplicateFilter(window_ms=MINUTE), JsonState()
    dedupe.is_new(state, "e1", T0 + 2 * MINUTE)
    dedupe.is_new(state, "e2", T0 + 90_000)
    assert state.get(dedupe.state_key)["newest"] == T0 + 2 * MINUTE


def test_remembered_ids_are_capped_per_key_forgetting_the_oldest():
    dedupe, state = DuplicateFilter(window_ms=10 * MINUTE, max_ids=3), JsonState()
    for i in range(5):
        dedupe.is_new(state, f"e{i}", T0 + i)
    assert remembered(state, dedupe) == {"e2": T0 + 2, "e3": T0 + 3, "e4": T0 + 4}
    assert dedupe.is_new(state, "e0", T0) is True


def test_a_burst_of_events_keeps_memory_bounded():
    dedupe, state = DuplicateFilter(window_ms=MINUTE, max_ids=50), JsonState()
    for i in range(2_000):
        dedupe.is_new(state, f"e{i}", T0 + i * 10)
    assert len(remembered(state, dedupe)) == 50


def test_replaying_the_same_events_gives_the_same_decisions_and_state():
    events = [(f"e{i % 7}", T0 + (i * 13_337) % (3 * MINUTE)) for i in range(200)]

    def run() -> tuple[list[bool], dict]:
        dedupe, state = DuplicateFilter(window_ms=MINUTE, max_ids=5), JsonState()
        decisions = [dedupe.is_new(state, event_id, t) for event_id, t in events]
        return decisions, state.get(dedupe.state_key)

    assert run() == run()


def test_a_restart_keeps_the_remembered_ids():
    # The changelog restores exactly the stored bytes; a new filter over them sees the same ids.
    state = JsonState()
    DuplicateFilter(window_ms=MINUTE).is_new(state, "e1", T0)
    restored = JsonState()
    restored.data = dict(state.data)
    assert DuplicateFilter(window_ms=MINUTE).is_new(restored, "e1", T0) is False


@pytest.mark.parametrize("window_ms, max_ids", [(0, 10), (-1, 10), (MINUTE, 0)])
def test_non_positive_window_or_cap_is_refused(window_ms, max_ids):
    with pytest.raises(ValueError, match="must be positive"):
        DuplicateFilter(window_ms=window_ms, max_ids=max_ids)
