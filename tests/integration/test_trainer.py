"""The trainer through the real broker: snapshots carry offsets; a restart learns each example once."""

from __future__ import annotations

import orjson

from cartstream.schemas import ModelSnapshot
from cartstream.topologies.cli import main
from cartstream.topologies.model_admin import all_snapshots, rollback
from cartstream.topologies.trainer import Trainer, latest_snapshots

from tests.integration.support import consume_until, produce

BASE_TIME = 1_767_225_600_000


def examples(model: str, start: int, count: int) -> list[tuple[str, dict]]:
    return [
        (model, {"model_name": model, "user_id": f"u{n % 7}", "item_id": f"i{n % 11}",
                 "trigger_event_id": f"e{n}", "event_time": BASE_TIME + n * 1000,
                 "features": {"similarity": (n % 10) / 10, "popularity": (n % 3) / 3}, "label": n % 4 == 0})
        for n in range(start, start + count)
    ]


def test_restarted_trainer_resumes_from_its_snapshot_without_loss_or_double_learning(settings, capsys):
    tuned = settings.model_copy(update={"snapshot_every": 50})
    produce(tuned, "training-examples", examples("ranker", 0, 120) + examples("ranker-b", 0, 30))
    first = Trainer(tuned)
    first.run(idle_timeout=3)
    # 50 and 100 by count, then the rest of both models on shutdown.
    assert [(s.model_name, s.version, s.examples_seen) for s in first.published] == [
        ("ranker", 1, 50), ("ranker", 2, 100), ("ranker", 3, 120), ("ranker-b", 1, 30)]

    produce(tuned, "training-examples", examples("ranker", 120, 40) + [("ranker", b"{not json")])
    second = Trainer(tuned)
    second.run(idle_timeout=3)
    resumed = second.published[-1]
    assert (resumed.model_name, resumed.version, resumed.examples_seen) == ("ranker", 4, 160)
    assert [s.model_name for s in second.published] == ["ranker"], "ranker-b learnt nothing new"

    latest = latest_snapshots(tuned)
    assert {name: s.version for name, s in latest.items()} == {"ranker": 4, "ranker-b": 1}
    covered = sum(o.offset for o in latest["ranker"].input_offsets)
    assert covered == 120 + 30 + 40 + 1, "offsets cover every record read, the bad one included"

    dead = consume_until(tuned, "dead-letters", lambda ms: len(ms) >= 1)
    assert orjson.loads(dead[0].value())["source_topic"] == tuned.topic("training-examples")

    # `cartstream model list --model NAME` lists that model's snapshots only.
    assert main(["model", "list", "--model", "ranker-b", "--topic-prefix", tuned.topic_prefix]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[:2] for row in rows] == [["ranker-b", "1"]]
    assert ModelSnapshot.from_json(ModelSnapshot.to_json(resumed)).sha256 == resumed.sha256


def test_rollback_republishes_an_old_version_and_the_trainer_learns_on_from_it(settings):
    tuned = settings.model_copy(update={"snapshot_every": 50})
    produce(tuned, "training-examples", examples("ranker", 0, 100))
    Trainer(tuned).run(idle_timeout=3)
    assert [(s.version, s.examples_seen) for s in all_snapshots(tuned)] == [(1, 50), (2, 100)]

    restored = rollback(tuned, "ranker", 1)
    assert (restored.version, restored.examples_seen, restored.metrics["rollback_of_version"]) == (3, 50, 1.0)

    produce(tuned, "training-examples", examples("ranker", 100, 10))
    trainer = Trainer(tuned)
    trainer.run(idle_timeout=3)
    assert [(s.version, s.examples_seen) for s in trainer.published] == [(4, 60)]
