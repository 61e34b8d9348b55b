"""Replay bookkeeping that needs no broker: resuming a rebuild, refusing a different one."""

from __future__ import annotations

import pytest

from cartstream.topologies.exceptions import CartstreamError
from cartstream.topologies.generations import GenerationRecord
from cartstream.topologies.log_points import parse_point
from cartstream.topologies.replay import _resume_or_start
from cartstream.topologies.settings import Settings


def test_a_new_rebuild_gets_a_generation_after_every_earlier_one():
    abandoned = GenerationRecord("recommender", live=0, newest=3)
    record = _resume_or_start(Settings(), abandoned, parse_point("earliest"), None, emit=False)
    assert record.rebuild == {"generation": 4, "phase": "rebuilding", "start": "earliest", "until": None,
                              "emit": False}


def test_the_same_command_resumes_the_rebuild_under_way():
    under_way = GenerationRecord("recommender").starting_rebuild(start="earliest", until=None, emit=False)
    assert _resume_or_start(Settings(), under_way, parse_point("earliest"), None, emit=False) is under_way


def test_a_different_replay_while_one_is_under_way_is_refused_with_the_way_out():
    under_way = GenerationRecord("recommender").starting_rebuild(start="earliest", until=None, emit=False)
    with pytest.raises(CartstreamError, match="--from earliest --no-emit.*--abandon"):
        _resume_or_start(Settings(), under_way, parse_point("clicks:0:5"), None, emit=False)


def test_replaying_a_topology_without_replayable_state_is_a_one_line_error(capsys):
    from cartstream.topologies.cli import main

    assert main(["replay", "embedder"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_superseded_generations_are_the_ones_neither_live_nor_rebuilding():
    record = GenerationRecord("recommender", live=1, newest=2)
    assert [record.superseded(g) for g in (0, 1, 2)] == [True, False, True]
    rebuilding = record.starting_rebuild(start="earliest", until=None, emit=False)
    assert [rebuilding.superseded(g) for g in (1, 3)] == [False, False]
    assert [rebuilding.taking_over().superseded(g) for g in (1, 3)] == [True, False]


@pytest.mark.parametrize("flags", [["--until", "2026-11-25T10:00:00Z"], ["--emit"], ["--abandon"]])
def test_a_trainer_replay_refuses_what_it_does_not_do_in_one_line(capsys, flags):
    from cartstream.topologies.cli import main

    assert main(["replay", "trainer", *flags]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "trainer replay" in error
