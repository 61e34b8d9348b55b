"""VectorSnapshot: every embedding model's index saved with its offsets; a torn save is never used."""

from __future__ import annotations

import numpy as np

from cartstream.operators.model_indexes import ModelIndexes
from cartstream.topologies.vector_snapshot import VectorSnapshot

TOPIC = "p.item-vectors"


def filled() -> ModelIndexes:
    indexes = ModelIndexes(TOPIC)
    rng = np.random.default_rng(1)
    for model, n in (("a", 30), ("b", 12)):
        for i in range(n):
            indexes.upsert(f"i{i}", model, rng.standard_normal(8), f"r{i % 3}", available=i % 5 != 0)
    return indexes


def test_a_restored_snapshot_holds_every_model_its_offsets_and_the_active_one(tmp_path):
    indexes = filled()
    snapshot = VectorSnapshot(tmp_path / "vectors", TOPIC)
    snapshot.save(indexes, {(TOPIC, 0): 40, (TOPIC, 1): 2, ("p.menu-items", 0): 9})
    restored = ModelIndexes(TOPIC)
    positions = VectorSnapshot(tmp_path / "vectors", TOPIC).load(restored)
    assert positions == {(TOPIC, 0): 40, (TOPIC, 1): 2}
    assert restored.active == "a" and set(restored.stores) == {"a", "b"}
    for model in ("a", "b"):
        before, after = indexes.stores[model], restored.stores[model]
        assert sorted(after.vectors) == sorted(before.vectors) and len(after.index) == len(before.index)
        np.testing.assert_array_equal(after.vectors["i3"], before.vectors["i3"])
    query = indexes.stores["a"].vectors["i4"]
    assert restored.search(query, k=5) == indexes.search(query, k=5)


def test_a_restored_model_keeps_its_projection_and_one_short_of_it_projects_later(tmp_path):
    rng = np.random.default_rng(2)
    indexes = ModelIndexes(TOPIC, projection_dims=4, fit_after=20)
    for i in range(25):
        indexes.upsert(f"i{i}", "a", rng.standard_normal(8), "r1", available=True)
    for i in range(10):
        indexes.upsert(f"i{i}", "b", rng.standard_normal(8), "r1", available=True)
    VectorSnapshot(tmp_path / "vectors", TOPIC).save(indexes, {(TOPIC, 0): 35})
    restored = ModelIndexes(TOPIC, projection_dims=4, fit_after=20)
    VectorSnapshot(tmp_path / "vectors", TOPIC).load(restored)
    np.testing.assert_array_equal(restored.stores["a"].index.projection, indexes.stores["a"].index.projection)
    assert restored.stores["b"].index.projection is None
    query = indexes.stores["a"].vectors["i7"]
    assert restored.search(query, k=5) == indexes.search(query, k=5)
    for i in range(10, 20):
        restored.upsert(f"i{i}", "b", rng.standard_normal(8), "r1", available=True)
    restored.stores["b"].flush()
    assert restored.stores["b"].index.projection.shape == (8, 4)


def test_a_later_save_replaces_the_earlier_one_and_leaves_no_folder_behind(tmp_path):
    indexes = filled()
    snapshot = VectorSnapshot(tmp_path / "vectors", TOPIC)
    snapshot.save(indexes, {(TOPIC, 0): 40})
    del indexes.stores["b"]
    snapshot.save(indexes, {(TOPIC, 0): 41})
    restored = ModelIndexes(TOPIC)
    positions = VectorSnapshot(tmp_path / "vectors", TOPIC).load(restored)
    assert positions == {(TOPIC, 0): 41} and set(restored.stores) == {"a"}
    assert len([p for p in (tmp_path / "vectors").iterdir() if p.is_dir()]) == 1


def test_a_folder_from_another_save_makes_the_snapshot_unusable(tmp_path):
    snapshot = VectorSnapshot(tmp_path / "vectors", TOPIC)
    snapshot.save(filled(), {(TOPIC, 0): 40})
    manifest = tmp_path / "vectors" / "snapshot.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"p.item-vectors:0":40', b'"p.item-vectors:0":41'))
    empty = ModelIndexes(TOPIC)
    assert VectorSnapshot(tmp_path / "vectors", TOPIC).load(empty) is None and not empty.stores
    assert VectorSnapshot(tmp_path / "nothing", TOPIC).load(empty) is None
