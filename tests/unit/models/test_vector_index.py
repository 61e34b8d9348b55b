"""VectorIndex: usearch search that respects restaurants, availability, deletes and snapshots."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cartstream.models.exceptions import DimensionMismatch, SnapshotNotFound
from cartstream.models.vector_index import VectorIndex, fit_projection, item_key

DIM = 16


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def menu() -> VectorIndex:
    """Two restaurants of 20 items each: item i of restaurant r has vector unit(100 * r + i)."""
    index = VectorIndex(DIM)
    for r in range(2):
        for i in range(20):
            index.upsert(f"r{r}-{i}", unit(100 * r + i), restaurant_id=f"r{r}", available=True)
    return index


def ids(results) -> list[str]:
    return [item_id for item_id, _ in results]


def test_an_item_is_its_own_nearest_neighbour_with_cosine_one(menu):
    (best, score), *_ = menu.search(unit(5), k=3)
    assert best == "r0-5" and score == pytest.approx(1.0, abs=1e-3)


def test_scores_are_cosines_best_first(menu):
    query = unit(7)
    results = menu.search(query, k=40)
    expected = {f"r{r}-{i}": float(unit(100 * r + i) @ query) for r in range(2) for i in range(20)}
    assert ids(results) == sorted(expected, key=expected.get, reverse=True)
    for item_id, score in results:
        assert score == pytest.approx(expected[item_id], abs=2e-3)


def test_upsert_replaces_the_vector_of_a_known_item(menu):
    menu.upsert("r0-5", unit(999), restaurant_id="r0", available=True)
    assert ids(menu.search(unit(999), k=1)) == ["r0-5"]
    assert "r0-5" not in ids(menu.search(unit(5), k=1))
    assert len(menu) == 40


def test_unavailable_items_never_appear_and_come_back_when_available(menu):
    menu.upsert("r0-5", unit(5), restaurant_id="r0", available=False)
    assert "r0-5" not in ids(menu.search(unit(5), k=40))
    assert "r0-5" not in ids(menu.search(unit(5), k=40, restaurant_id="r0"))
    assert menu.score(unit(5), ["r0-5", "r0-6"])[0][0] == "r0-6"
    assert "r0-5" not in menu.items_of("r0") and "r0-5" in menu.items_of("r0", available_only=False)
    assert "r0-5" in menu and not menu.is_available("r0-5")

    menu.upsert("r0-5", unit(5), restaurant_id="r0", available=True)
    assert ids(menu.search(unit(5), k=1)) == ["r0-5"]


def test_deleted_items_are_gone_everywhere(menu):
    assert menu.delete("r1-3") is True
    assert menu.delete("r1-3") is False
    assert "r1-3" not in ids(menu.search(unit(103), k=40))
    assert "r1-3" not in menu.items_of("r1")
    assert menu.score(unit(103), ["r1-3"]) == []
    assert len(menu) == 39


def test_restaurant_filter_returns_only_that_restaurants_items_minus_the_excluded(menu):
    results = menu.search(unit(3), k=50, restaurant_id="r1", exclude={"r1-0", "r1-1"})
    assert set(ids(results)) == {f"r1-{i}" for i in range(2, 20)}
    assert menu.search(unit(3), k=5, restaurant_id="nowhere") == []


def test_excluded_items_are_skipped_and_k_results_still_come_back(menu):
    nearest = ids(menu.search(unit(1), k=5))
    results = menu.search(unit(1), k=5, exclude=set(nearest[:3]))
    assert len(results) == 5 and not set(nearest[:3]) & set(ids(results))


def test_asking_for_more_than_there_is_returns_everything_available(menu):
    menu.upsert("r0-0", unit(100), restaurant_id="r0", available=False)
    assert len(menu.search(unit(1), k=100)) == 39
    assert VectorIndex(DIM).search(unit(1), k=5) == []


def test_an_item_can_move_to_another_restaurant(menu):
    menu.upsert("r0-5", unit(5), restaurant_id="r1", available=True)
    assert "r0-5" in menu.items_of("r1") and "r0-5" not in menu.items_of("r0")


def test_score_ranks_a_small_menu_exactly_and_skips_unknown_ids(menu):
    query = unit(42)
    results = menu.score(query, ["r0-1", "r0-2", "unknown", "r0-3", "r0-1"])
    expected = sorted(["r0-1", "r0-2", "r0-3"], key=lambda i: -float(unit(int(i[3:])) @ query))
    assert ids(results) == expected


def test_in_a_batch_the_last_upsert_of_an_item_wins():
    index = VectorIndex(DIM)
    index.upsert_many(["a", "b", "a"], np.stack([unit(1), unit(2), unit(3)]), ["r", "r", "s"], [True, True, False])
    assert len(index) == 2 and index.items_of("s", available_only=False) == ["a"]
    assert not index.is_available("a") and ids(index.search(unit(1), k=5)) == ["b"]


def test_vectors_of_the_wrong_length_are_rejected(menu):
    with pytest.raises(DimensionMismatch):
        menu.upsert("x", np.ones(DIM + 1), restaurant_id="r0", available=True)
    with pytest.raises(DimensionMismatch):
        menu.search(np.ones(DIM - 1), k=1)


def test_keys_are_stable_63_bit_hashes_of_the_item_id():
    # Pinned: snapshots and every running instance rely on the same id -> key mapping.
    assert item_key("r1-0") == item_key("r1-0") == 6026543496850223257
    assert item_key("r1-0") != item_key("r1-1")
    assert all(0 <= item_key(f"item-{i}") < 2**63 for i in range(1000))


def test_a_snapshot_round_trip_keeps_items_availability_restaurants_and_offsets(menu, tmp_path):
    menu.upsert("r0-5", unit(5), restaurant_id="r0", available=False)
    menu.delete("r1-3")
    menu.save(tmp_path / "snapshot", offsets={"item-vectors:0": 41, "item-vectors:1": 7})

    restored, offsets = VectorIndex.load(tmp_path / "snapshot")
    assert offsets == {"item-vectors:0": 41, "item-vectors:1": 7}
    assert len(restored) == len(menu) == 39
    for r in ("r0", "r1"):
        assert restored.items_of(r, available_only=False) == menu.items_of(r, available_only=False)
    assert restored.search(unit(11), k=10) == menu.search(unit(11), k=10)
    assert "r0-5" in restored and not restored.is_available("r0-5")
    restored.upsert("r0-5", unit(5), restaurant_id="r0", available=True)
    assert ids(restored.search(unit(5), k=1)) == ["r0-5"]


def test_saving_over_an_older_snapshot_replaces_it(menu, tmp_path):
    menu.save(tmp_path / "snapshot", offsets={"item-vectors:0": 1})
    menu.delete("r0-0")
    menu.save(tmp_path / "snapshot", offsets={"item-vectors:0": 2})
    restored, offsets = VectorIndex.load(tmp_path / "snapshot")
    assert offsets == {"item-vectors:0": 2} and "r0-0" not in restored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot"]


def test_loading_where_no_snapshot_was_saved_says_so(tmp_path):
    with pytest.raises(SnapshotNotFound):
        VectorIndex.load(tmp_path / "missing")


def test_a_short_approximate_answer_falls_back_to_exact_search(menu, monkeypatch):
    graph_search = menu._index.search

    def truncated(query, count, **kwargs):
        # HNSW can come back short after heavy churn; emulate that for approximate calls.
        return graph_search(query, count if kwargs.get("exact") else 1, **kwargs)

    monkeypatch.setattr(menu._index, "search", truncated)
    assert len(menu.search(unit(1), k=5)) == 5


def low_rank(n: int, seed: int = 3) -> np.ndarray:
    """Unit vectors of DIM dimensions that vary in only 4 of them (a rotated 4-d subspace)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((DIM, 4)))[0].T
    vectors = (rng.standard_normal((n, 4)) @ basis).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_projection_keeps_the_directions_the_vectors_vary_in():
    vectors = low_rank(200)
    projection = fit_projection(vectors, 4)
    assert projection.shape == (DIM, 4)
    np.testing.assert_allclose(projection.T @ projection, np.eye(4), atol=1e-5)
    # Nothing of the vectors is lost: projected inner products are the originals.
    projected = vectors @ projection
    np.testing.assert_allclose(projected @ projected.T, vectors @ vectors.T, atol=1e-4)
    np.testing.assert_array_equal(fit_projection(vectors[::-1], 4), projection)  # order-free, signs fixed


def test_a_projection_onto_more_dimensions_than_there_are_is_refused():
    with pytest.raises(ValueError, match="cannot project"):
        fit_projection(low_rank(10), DIM + 1)


def test_a_projected_index_keeps_items_restaurants_and_availability(menu):
    menu.upsert("r0-5", unit(5), restaurant_id="r0", available=False)
    vectors = {f"r{r}-{i}": unit(100 * r + i) for r in range(2) for i in range(20)}
    projected = menu.projected(fit_projection(np.stack(list(vectors.values())), 8), vectors)
    assert projected.projection.shape == (DIM, 8) and len(projected) == len(menu)
    assert "r0-5" in projected and not projected.is_available("r0-5")
    assert projected.items_of("r1") == menu.items_of("r1")
    assert "r0-5" not in ids(projected.search(unit(5), k=40))
    assert ids(projected.search(unit(7), k=1)) == ["r0-7"]


def test_a_projected_index_finds_neighbours_and_survives_a_snapshot(tmp_path):
    vectors = low_rank(300)
    index = VectorIndex(DIM, projection=fit_projection(vectors, 4))
    index.upsert_many([f"i{n}" for n in range(300)], vectors, ["r1"] * 300, [True] * 300)
    exact = np.argsort(-(vectors @ vectors[17]))[:10]
    assert ids(index.search(vectors[17], k=10)) == [f"i{n}" for n in exact]
    index.save(tmp_path / "snapshot", offsets={"item-vectors:0": 300})
    restored, _ = VectorIndex.load(tmp_path / "snapshot")
    np.testing.assert_array_equal(restored.projection, index.projection)
    assert restored.search(vectors[17], k=10) == index.search(vectors[17], k=10)


def test_a_projection_must_fit_the_vectors():
    with pytest.raises(DimensionMismatch):
        VectorIndex(DIM, projection=np.eye(DIM + 1, 4, dtype=np.float32))


def test_onnxruntime_still_imports_after_the_vector_index():
    # usearch's statically linked libstdc++ used to make a later `import onnxruntime` segfault.
    code = "import cartstream.models.vector_index\nimport onnxruntime\nimport cartstream.models.embedder\n"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
