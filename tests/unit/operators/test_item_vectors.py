import numpy as np
import pytest

from cartstream.operators.item_vectors import ItemVectors


def random_vectors(n, ndim=8, seed=0):
    rng = np.random.default_rng(seed)
    return {f"i{k}": rng.normal(size=ndim).astype(np.float32) for k in range(n)}


def test_it_behaves_as_a_dict_through_growth_and_deletions():
    reference = random_vectors(100)
    vectors = ItemVectors()
    for item_id, vector in reference.items():
        vectors[item_id] = vector
    for k in range(0, 100, 3):
        del vectors[f"i{k}"]
        del reference[f"i{k}"]
    vectors["i1"] = reference["i1"] = np.ones(8, dtype=np.float32)
    assert sorted(vectors) == sorted(reference) and len(vectors) == len(reference)
    assert all(np.array_equal(vectors[i], v) for i, v in reference.items())
    assert vectors.get("i0") is None and "i0" not in vectors


def test_cosines_match_a_float64_reference_and_leave_unknowns_at_zero():
    reference = random_vectors(700)
    vectors = ItemVectors(reference)
    query = np.random.default_rng(1).normal(size=8)
    ids = ["i3", "ghost", "i40", "i3"] + [f"i{k}" for k in range(699, 0, -1)]  # more than one block of rows
    expected = [float(reference[i] @ query / np.linalg.norm(reference[i]) / np.linalg.norm(query))
                if i in reference else 0.0 for i in ids]
    assert vectors.cosines(query, ids).tolist() == pytest.approx(expected, abs=1e-6)


def test_a_zero_vector_or_query_has_cosine_zero():
    vectors = ItemVectors({"zero": np.zeros(3), "x": np.array([1.0, 0.0, 0.0])})
    assert vectors.cosines([1.0, 0.0, 0.0], ["zero", "x"]).tolist() == [0.0, 1.0]
    assert vectors.cosines([0.0, 0.0, 0.0], ["x"]).tolist() == [0.0]
    assert vectors.unit_rows(vectors.rows_of(["zero", "x"])).tolist() == [[0, 0, 0], [1, 0, 0]]


def test_a_vector_of_another_length_is_refused():
    vectors = ItemVectors({"a": np.zeros(3)})
    with pytest.raises(ValueError, match="shape"):
        vectors["b"] = np.zeros(4)
