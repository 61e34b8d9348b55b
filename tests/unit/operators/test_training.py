"""RankerTraining: a snapshot adopted mid-stream is learnt on from its own offsets."""

from __future__ import annotations

from cartstream.operators.training import RankerTraining

TOPIC = "training-examples"


def example(model: str, n: int) -> dict:
    return {"model_name": model, "features": {"similarity": (n % 10) / 10}, "label": n % 3 == 0,
            "event_time": 1_700_000_000_000 + n}


def learn(training: RankerTraining, model: str, offsets: range) -> None:
    for offset in offsets:
        training.learn(example(model, offset), TOPIC, 0, offset)


def test_a_snapshot_behind_the_read_position_rewinds_to_its_offsets():
    training = RankerTraining()
    learn(training, "ranker", range(0, 10))
    older = training.snapshot("ranker")
    learn(training, "ranker", range(10, 15))
    newer_version = training.snapshot("ranker").version

    older = older.model_copy(update={"version": newer_version + 1})  # as a rollback or a replay republishes it
    training.resume(older)
    assert training.rewind(older) == {(TOPIC, 0): 10}
    learn(training, "ranker", range(10, 15))
    assert training.rankers["ranker"].examples_seen == 15, "the five read past the snapshot are learnt by it"
    assert [(o.partition, o.offset) for o in training.snapshot("ranker").input_offsets] == [(0, 15)]


def test_a_snapshot_at_the_read_position_needs_no_rewind():
    training = RankerTraining()
    learn(training, "ranker", range(0, 10))
    current = training.snapshot("ranker")
    training.resume(current)
    assert training.rewind(current) == {}


def test_reading_again_after_a_rewind_does_not_teach_other_models_twice():
    training = RankerTraining()
    for offset in range(0, 20):
        training.learn(example("ranker" if offset % 2 else "other", offset), TOPIC, 0, offset)
    latest = training.snapshot("ranker")
    rolled_back = latest.model_copy(update={"version": latest.version + 1,
                                            "input_offsets": [latest.input_offsets[0].model_copy(update={"offset": 10})]})
    training.resume(rolled_back)
    training.rewind(rolled_back)
    for offset in range(10, 20):
        training.learn(example("ranker" if offset % 2 else "other", offset), TOPIC, 0, offset)

    assert training.rankers["other"].examples_seen == 10
    assert training.rankers["ranker"].examples_seen == 10 + 5
    assert [(o.partition, o.offset) for o in training.snapshot("other").input_offsets] == [(0, 20)]
