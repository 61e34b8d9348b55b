"""Online training of the rankers from `training-examples`, and when to snapshot them.

A snapshot carries the input offsets it covers (the next offset to read on every
partition), so a trainer restarted from its latest snapshot learns every example once:
nothing lost, nothing learnt twice.

Examples
--------
>>> trainer = RankerTraining(snapshot_every=2)
>>> ex = {"model_name": "ranker", "features": {"similarity": 0.9}, "label": 1, "event_time": 1_700_000_000_000}
>>> trainer.learn(ex, "training-examples", 0, 41)
[]
>>> trainer.learn({**ex, "label": 0, "features": {"similarity": 0.1}}, "training-examples", 0, 42)
['ranker']
>>> snap = trainer.snapshot("ranker")
>>> snap.version, snap.examples_seen, [(o.partition, o.offset) for o in snap.input_offsets]
(1, 2, [(0, 43)])
"""

from __future__ import annotations

from cartstream.models.ranker import Ranker
from cartstream.schemas import ModelSnapshot

__all__ = ["RankerTraining"]


class RankerTraining:
    """Rankers by model name, the offsets they have learnt up to, and their snapshot schedule.

    Parameters
    ----------
    snapshot_every
        A model is due for a snapshot after this many new examples.
    """

    def __init__(self, snapshot_every: int = 1000) -> None:
        self.snapshot_every = snapshot_every
        self.rankers: dict[str, Ranker] = {}
        # The next offset to read, per partition: every model has seen everything before it.
        self.offsets: dict[tuple[str, int], int] = {}
        # Per model, the next offset it has not learnt: from its snapshot when resumed, then
        # past every example it learns. Guards against learning an example twice after a rewind.
        self.covered: dict[str, dict[tuple[str, int], int]] = {}
        self.since_snapshot: dict[str, int] = {}
        self.last_event_time: dict[str, int] = {}

    def resume(self, snapshot: ModelSnapshot) -> None:
        """Continue from a snapshot: its model, version and the offsets it covers."""
        ranker = Ranker.loads(snapshot.model_bytes())
        ranker.version = snapshot.version
        self.rankers[snapshot.model_name] = ranker
        self.last_event_time[snapshot.model_name] = snapshot.created_event_time
        self.covered[snapshot.model_name] = {(o.topic, o.partition): o.offset for o in snapshot.input_offsets}

    def rewind(self, snapshot: ModelSnapshot) -> dict[tuple[str, int], int]:
        """After `resume(snapshot)`: the partitions to read again from the snapshot's offsets.

        A snapshot adopted while running (a rollback, a replayed model) may cover less than
        has been read: the examples after its offsets went into the model it replaces, so
        they are read again and learnt by it. Other models skip what they learnt already.
        """
        back = {(o.topic, o.partition): o.offset for o in snapshot.input_offsets
                if self.offsets.get((o.topic, o.partition), o.offset) > o.offset}
        self.offsets.update(back)
        return back

    def begin(self, topic: str, partitions: list[int]) -> dict[int, int | None]:
        """Where to start reading each partition: the oldest point a resumed model still
        needs, or None (the beginning) where some model has no position."""
        starts = {}
        for partition in partitions:
            positions = [covered.get((topic, partition)) for covered in self.covered.values()]
            start = None if not positions or None in positions else min(positions)
            if start is not None:
                self.offsets[(topic, partition)] = start
            starts[partition] = start
        return starts

    def skip(self, topic: str, partition: int, offset: int) -> None:
        """Move past a record that is not an example (it went to dead letters)."""
        self.offsets[(topic, partition)] = offset + 1

    def learn(self, example: dict, topic: str, partition: int, offset: int) -> list[str]:
        """Learn one example read at `offset`; the model names now due for a snapshot.

        An example its model's snapshot already covered is skipped: read again only
        because another model's snapshot is older.
        """
        name = example["model_name"]
        self.skip(topic, partition, offset)
        covered = self.covered.setdefault(name, {})
        if offset < covered.get((topic, partition), 0):
            return []
        covered[(topic, partition)] = offset + 1
        ranker = self.rankers.get(name)
        if ranker is None:  # not setdefault: a Ranker is too dear to build for every example
            ranker = self.rankers[name] = Ranker()
        if example.get("listed_by"):
            ranker.compare(example["listed_by"])
        ranker.learn_one(example["features"], example["label"])
        self.last_event_time[name] = max(self.last_event_time.get(name, 0), example["event_time"])
        self.since_snapshot[name] = self.since_snapshot.get(name, 0) + 1
        return [name] if self.since_snapshot[name] == self.snapshot_every else []

    def pending(self) -> list[str]:
        """Models that learnt something since their last snapshot."""
        return sorted(name for name, n in self.since_snapshot.items() if n > 0)

    def snapshot(self, name: str) -> ModelSnapshot:
        """A new version of model `name`, covering every offset learnt so far (by it, or read
        by the trainer: after a rewind the model may have learnt beyond what is read)."""
        ranker = self.rankers[name]
        covered = self.covered.get(name, {})
        offsets = {tp: max(self.offsets.get(tp, 0), covered.get(tp, 0)) for tp in {*self.offsets, *covered}}
        ranker.version += 1
        self.since_snapshot[name] = 0
        return ModelSnapshot.from_model_bytes(
            ranker.dumps(),
            model_name=name,
            version=ranker.version,
            created_event_time=self.last_event_time[name],
            examples_seen=ranker.examples_seen,
            metrics=ranker.metrics(),
            input_offsets=[{"topic": t, "partition": p, "offset": o} for (t, p), o in sorted(offsets.items())],
        )
