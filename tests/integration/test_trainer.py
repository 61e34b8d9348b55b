"""The trainer through the real broker: snapshots carry offsets; a restart learns each example once;
a rollback or a replayed model adopted while training is learnt on without loss."""

from __future__ import annotations

import io
import threading

import orjson
import pytest

from cartstream.models.ranker import Ranker
from cartstream.schemas import ModelSnapshot

from cartstream.topologies.cli import main
from cartstream.topologies.exceptions import CartstreamError
from cartstream.topologies.log_points import parse_point
from cartstream.topologies.model_admin import all_snapshots, publish_snapshots, rollback
from cartstream.topologies.trainer import Trainer, latest_snapshots
from cartstream.topologies.trainer_replay import replay_trainer

from tests.integration.support import consume_until, produce, wait_until

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


class LiveTrainer:
    """A trainer running on a thread, as `cartstream run trainer` would."""

    def __init__(self, settings):
        self.trainer = Trainer(settings)
        self.thread = threading.Thread(target=self.trainer.run, daemon=True)
        self.thread.start()

    def ranker(self, name: str) -> Ranker | None:
        return self.trainer.training.rankers.get(name)

    def stop(self) -> list[ModelSnapshot]:
        self.trainer.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the trainer did not stop"
        return self.trainer.published


def test_a_rollback_adopted_while_training_relearns_what_was_read_past_its_offsets(settings):
    # Snapshots by count only, so what the trainer learnt since its last one is not on the topic.
    tuned = settings.model_copy(update={"snapshot_every": 50, "snapshot_interval_s": 600.0})
    live = LiveTrainer(tuned)
    produce(tuned, "training-examples", examples("ranker", 0, 100))
    wait_until(lambda: len(live.trainer.published) == 2, "versions 1 and 2 published")
    produce(tuned, "training-examples", examples("ranker", 100, 20))
    wait_until(lambda: live.ranker("ranker").examples_seen == 120, "the 20 after version 2 learnt")

    restored = rollback(tuned, "ranker", 1)
    assert (restored.version, restored.examples_seen) == (3, 50)
    wait_until(lambda: live.ranker("ranker").version == 3 and live.ranker("ranker").examples_seen == 70,
               "version 3 adopted and the 20 read past its offsets learnt again by it")
    assert [(s.version, s.examples_seen) for s in live.stop()][-1] == (4, 70)


def probes() -> list[dict[str, float]]:
    return [{"similarity": s / 10, "popularity": p / 3} for s in range(10) for p in range(3)]


def test_a_replayed_trainer_publishes_the_same_model_and_the_live_trainer_learns_on_from_a_replay(settings):
    tuned = settings.model_copy(update={"snapshot_every": 50, "snapshot_interval_s": 600.0})
    produce(tuned, "training-examples", examples("ranker", 0, 100) + examples("ranker-b", 0, 30)
            + [("ranker", b"{not json")])
    Trainer(tuned).run(idle_timeout=3)
    before = latest_snapshots(tuned)
    assert {name: (s.version, s.examples_seen) for name, s in before.items()} == {"ranker": (2, 100),
                                                                                  "ranker-b": (1, 30)}

    progress = io.StringIO()
    again = {s.model_name: s for s in replay_trainer(tuned, parse_point("earliest"), out=progress)}
    assert {name: (s.version, s.examples_seen) for name, s in again.items()} == {"ranker": (3, 100),
                                                                                 "ranker-b": (2, 30)}
    assert "130 examples learnt (1 skipped)" in progress.getvalue()
    for name, snapshot in again.items():
        relearnt, original = Ranker.loads(snapshot.model_bytes()), Ranker.loads(before[name].model_bytes())
        assert [relearnt.predict_one(f) for f in probes()] == [original.predict_one(f) for f in probes()]
        assert sum(o.offset for o in snapshot.input_offsets) == 131, "it covers the whole log, the bad record too"
    assert {name: s.version for name, s in latest_snapshots(tuned).items()} == {"ranker": 3, "ranker-b": 2}

    # Replayed from the 60th example of "ranker" while a trainer runs, which reads 10 new
    # examples before the replay publishes: it adopts the model of examples 60-99, learns the
    # 10 again into it, and learns on from there.
    live = LiveTrainer(tuned)
    wait_until(lambda: live.ranker("ranker") is not None and live.ranker("ranker").version == 3, "live on version 3")

    class NewExamplesBeforePublishing(io.StringIO):
        def write(self, text: str) -> int:
            if not self.getvalue():  # the replay's first progress line: its bounds are set
                produce(tuned, "training-examples", examples("ranker", 100, 10))
                wait_until(lambda: live.ranker("ranker").examples_seen == 110, "the live trainer read the 10")
            return super().write(text)

    # Version 2 was published right after the 100th example of "ranker", the first records of its partition.
    partition = next(o.partition for o in before["ranker"].input_offsets if o.offset == 100)
    recent = replay_trainer(tuned, parse_point(f"training-examples:{partition}:60"), out=NewExamplesBeforePublishing())
    assert [(s.model_name, s.version, s.examples_seen) for s in recent][0] == ("ranker", 4, 40)
    wait_until(lambda: live.ranker("ranker").version == 4 and live.ranker("ranker").examples_seen == 50,
               "the replayed version adopted, and the 10 read past its offsets learnt again by it")
    assert [(s.model_name, s.version, s.examples_seen) for s in live.stop() if s.model_name == "ranker"] == [
        ("ranker", 5, 50)]


def test_a_trainer_replay_refuses_offsets_outside_the_log_and_a_version_published_twice(settings):
    produce(settings, "training-examples", examples("ranker", 0, 10))
    with pytest.raises(CartstreamError, match="outside the log"):
        replay_trainer(settings, parse_point("training-examples:0:100000"), out=io.StringIO())

    [replayed] = replay_trainer(settings, parse_point("earliest"), out=io.StringIO())
    # A running trainer publishes its own version 2 just before a replay publishes one.
    publish_snapshots(settings, [ModelSnapshot.from_model_bytes(
        Ranker().dumps(), model_name="ranker", version=2, created_event_time=BASE_TIME, examples_seen=0,
        metrics={}, input_offsets=[])])
    with pytest.raises(CartstreamError, match="ranker version 2 too"):
        publish_snapshots(settings, [replayed.model_copy(update={"version": 2})])
