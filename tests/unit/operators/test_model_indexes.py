"""ModelIndexes: one index per embedding model; readers switch only to a complete one."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cartstream.models.vector_index import fit_projection
from cartstream.operators.model_indexes import ModelIndexes, ProjectionRebuild
from cartstream.schemas import EmbeddingModel

TOPIC = "item-vectors"


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return v / np.linalg.norm(v)


def activate(model: str, offsets: dict[int, int], previous: str | None = None) -> EmbeddingModel:
    return EmbeddingModel(model_id=model, previous_model_id=previous, dim=8, items=0,
                          vector_offsets={str(p): o for p, o in offsets.items()}, menu_offsets={},
                          event_time=1732540000000)


@pytest.fixture
def indexes() -> ModelIndexes:
    """Ten items with vectors of model "a" (active), and the first five of model "b"."""
    indexes = ModelIndexes(TOPIC)
    indexes.control(activate("a", {}))
    indexes.advance({})
    for i in range(10):
        indexes.upsert(f"i{i}", "a", unit(i), "r1", available=True)
    for i in range(5):
        indexes.upsert(f"i{i}", "b", unit(100 + i), "r1", available=True)
    return indexes


def test_searches_use_only_the_active_models_index(indexes):
    found = indexes.search(unit(3), k=10)
    assert len(found) == 10 and found[0] == ("i3", pytest.approx(1.0, abs=1e-3))
    assert len(indexes.current.index) == 10


def test_the_switch_waits_until_the_reader_has_read_every_vector_of_the_new_model(indexes):
    indexes.control(activate("b", {0: 40, 1: 12}, previous="a"))
    assert not indexes.advance({(TOPIC, 0): 40, (TOPIC, 1): 11, ("other", 1): 99})
    assert indexes.active == "a" and indexes.search(unit(3), k=1)[0][0] == "i3"
    assert indexes.advance({(TOPIC, 0): 41, (TOPIC, 1): 12})
    assert indexes.active == "b" and set(indexes.stores) == {"b"}
    assert indexes.search(unit(103), k=1)[0][0] == "i3"


def test_vectors_of_the_replaced_model_are_ignored_after_the_switch(indexes):
    indexes.control(activate("b", {}, previous="a"))
    indexes.advance({})
    indexes.upsert("late", "a", unit(7), "r1", available=True)
    assert "a" not in indexes.stores and "late" not in indexes.current.vectors


def test_a_fresh_reader_that_knows_the_switch_never_indexes_the_replaced_model():
    indexes = ModelIndexes(TOPIC)
    indexes.control(activate("b", {0: 3}, previous="a"))
    indexes.upsert("i0", "a", unit(0), "r1", available=True)
    indexes.upsert("i0", "b", unit(1), "r1", available=True)
    assert set(indexes.stores) == {"b"} and indexes.active is None and indexes.search(unit(1), k=1) == []
    assert indexes.advance({(TOPIC, 0): 3}) and indexes.search(unit(1), k=1)[0][0] == "i0"


def test_a_rebuild_may_bring_a_replaced_model_back(indexes):
    indexes.control(activate("b", {}, previous="a"))
    indexes.advance({})
    indexes.upsert("i0", "a", unit(0), "r1", available=True)
    assert "a" not in indexes.stores, "a retired model's vectors are ignored"
    indexes.control(activate("b", {}, previous=None))    # a rebuild back to "a" announces it first
    indexes.upsert("i0", "a", unit(0), "r1", available=True)
    indexes.control(activate("a", {}, previous="b"))
    indexes.advance({})
    assert indexes.active == "a" and indexes.search(unit(0), k=1)[0][0] == "i0"


def test_without_embedding_models_records_the_first_model_seen_is_active():
    indexes = ModelIndexes(TOPIC)
    indexes.upsert("i0", "x", unit(0), "r1", available=True)
    indexes.upsert("i1", "y", unit(1), "r1", available=True)
    assert indexes.active == "x" and [i for i, _ in indexes.search(unit(1), k=5)] == ["i0"]


def test_deletes_reach_every_model_and_buffered_upserts(indexes):
    indexes.upsert("i9", "b", unit(9), "r1", available=True)
    indexes.delete("i9")
    indexes.delete("i2")
    assert "i9" not in indexes.stores["b"].vectors and "i2" not in indexes.stores["b"].vectors
    assert {i for i, _ in indexes.search(unit(9), k=20)} == {f"i{i}" for i in range(10)} - {"i2", "i9"}


def test_an_index_is_projected_once_it_holds_enough_vectors_fitted_on_the_first_ones():
    rng = np.random.default_rng(5)
    indexes = ModelIndexes(TOPIC, projection_dims=4, fit_after=50)
    vectors = rng.standard_normal((80, 8)).astype(np.float32)
    for i, vector in enumerate(vectors[:49]):
        indexes.upsert(f"i{i}", "a", vector, "r1", available=i != 3)
    assert indexes.current.index.projection is None
    for i, vector in enumerate(vectors[49:], start=49):
        indexes.upsert(f"i{i}", "a", vector, "r1", available=True)
    store = indexes.current
    assert store.index.projection.shape == (8, 4) and len(store.index) == 80
    assert not store.index.is_available("i3")
    unit_rows = vectors[:50] / np.linalg.norm(vectors[:50], axis=1, keepdims=True)
    np.testing.assert_allclose(store.index.projection, fit_projection(unit_rows, 4), atol=1e-6)
    # Found in 4 dimensions, ranked by the exact cosines in 8.
    found = indexes.search(vectors[60], k=5)
    assert found[0] == ("i60", pytest.approx(1.0, abs=1e-5))
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def test_an_index_short_of_fit_after_or_of_few_dimensions_is_not_projected():
    small, narrow = ModelIndexes(TOPIC, projection_dims=4, fit_after=50), ModelIndexes(TOPIC, projection_dims=8,
                                                                                     fit_after=5)
    for i in range(20):
        small.upsert(f"i{i}", "a", unit(i), "r1", available=True)
        narrow.upsert(f"i{i}", "a", unit(i), "r1", available=True)
    assert small.current.index.projection is None and narrow.current.index.projection is None


def held_rebuild(monkeypatch) -> threading.Event:
    """Hold every background rebuild until the returned event is set."""
    release, build = threading.Event(), ProjectionRebuild._build

    def held(self, *args):
        release.wait(10)
        build(self, *args)

    monkeypatch.setattr(ProjectionRebuild, "_build", held)
    return release


def test_a_background_rebuild_serves_the_old_index_and_swaps_in_every_change_made_meanwhile(monkeypatch):
    release = held_rebuild(monkeypatch)
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((70, 8)).astype(np.float32)
    indexes = ModelIndexes(TOPIC, projection_dims=4, fit_after=50)
    for i, vector in enumerate(vectors[:49]):
        indexes.upsert(f"i{i}", "a", vector, "r1", available=True)
    indexes.flush()
    indexes.project_in_background()  # the tables are loaded: the stream must not wait from now on
    indexes.upsert("i49", "a", vectors[49], "r1", available=True)
    store = indexes.current
    assert store.rebuild is not None and store.index.projection is None  # building, the old one serves

    # While it builds: new items, a deletion, an item made unavailable, one moved.
    for i, vector in enumerate(vectors[50:], start=50):
        indexes.upsert(f"i{i}", "a", vector, "r2", available=True)
    indexes.delete("i7")
    indexes.upsert("i8", "a", vectors[8], "r1", available=False)
    indexes.upsert("i9", "a", vectors[9], "r3", available=True)
    assert indexes.search(vectors[60], k=1)[0][0] == "i60"
    assert indexes.current.index.projection is None

    release.set()
    assert store.rebuild.wait(10)
    index = indexes.current.index
    assert index.projection.shape == (8, 4) and store.rebuild is None
    assert len(index) == 69 and "i7" not in index
    assert not index.is_available("i8") and index.items_of("r3") == ["i9"]
    assert sorted(index.items_of("r2")) == sorted(f"i{i}" for i in range(50, 70))
    unit_rows = vectors[:50] / np.linalg.norm(vectors[:50], axis=1, keepdims=True)
    np.testing.assert_allclose(index.projection, fit_projection(unit_rows, 4), atol=1e-6)
    assert indexes.search(vectors[60], k=1)[0] == ("i60", pytest.approx(1.0, abs=1e-5))


def test_a_failed_background_rebuild_leaves_the_old_index_serving_and_is_not_retried(monkeypatch):
    def fails(self, *args):
        self._error = MemoryError("no room for a second graph")

    monkeypatch.setattr(ProjectionRebuild, "_build", fails)
    indexes = ModelIndexes(TOPIC, projection_dims=4, fit_after=50)
    indexes.project_in_background()
    for i in range(50):
        indexes.upsert(f"i{i}", "a", unit(i), "r1", available=True)
    store = indexes.current
    assert store.rebuild.wait(10)
    assert indexes.search(unit(7), k=1)[0][0] == "i7"  # the flush before it takes the failed build
    assert store.rebuild is None and store.index.projection is None
    indexes.upsert("i50", "a", unit(50), "r1", available=True)
    assert indexes.current.rebuild is None and len(indexes.current.index) == 51


def test_without_background_the_flush_that_crosses_fit_after_swaps_the_index():
    indexes = ModelIndexes(TOPIC, projection_dims=4, fit_after=50)
    for i in range(50):
        indexes.upsert(f"i{i}", "a", unit(i), "r1", available=True)
    store = indexes.current
    assert store.rebuild is None and store.index.projection is not None
