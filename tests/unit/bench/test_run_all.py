"""The one-command benchmark runner: sections in order, failures recorded, plots from the steps."""

from __future__ import annotations

from bench.run_all import SECTIONS, Section, plot_latency, run_sections


def test_a_failing_section_is_recorded_and_the_next_one_still_runs():
    def broken(quick: bool) -> dict:
        raise RuntimeError("broker down")

    results, ok = run_sections([Section("broken", broken), Section("fine", lambda quick: {"quick": quick})],
                               quick=True)
    assert not ok
    assert results["broken"]["error"] == "RuntimeError: broker down"
    assert results["fine"]["quick"] is True and results["fine"]["seconds"] >= 0
    assert {"load_before", "load_after"} <= set(results["fine"])


def test_every_registered_section_has_a_distinct_name():
    names = [section.name for section in SECTIONS]
    assert len(names) == len(set(names)) and "memory" in names


def test_latency_is_plotted_for_sections_with_steps_only(tmp_path):
    steps = [{"offered_per_s": r, "p50_ms": r / 2, "p99_ms": r, "p999_ms": r * 1.5} for r in (10.0, 50.0)]
    results = {"recommender_exactly_once": {"latency_steps": steps}, "memory": {"users": 10}}
    path = plot_latency(results, tmp_path / "latency.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert plot_latency({"memory": {"users": 10}}, tmp_path / "none.png") is None
