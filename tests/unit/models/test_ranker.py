import pickle
import random

import numpy as np
import pytest
from river import linear_model

from cartstream.models.ranker import Ranker


def candidates():
    return [
        ("a", {"similarity": 0.9, "popularity": 0.0, "complement": 0.0}),
        ("b", {"similarity": 0.2, "popularity": 2.0, "complement": 0.0}),
        ("c", {"similarity": 0.1, "popularity": 1.0, "complement": 1.0}),
    ]


def trained(n=400, seed=0, model_lists=True):
    """A ranker taught that diners act on complements; every item taken was in the model's
    list and not in the fallback's (``model_lists``), or the other way round."""
    rng = random.Random(seed)
    ranker = Ranker(min_examples=100, min_compared=20)
    for _ in range(n):
        complement = float(rng.random() < 0.3)
        features = {"similarity": rng.random(), "popularity": 2 * rng.random(), "complement": complement}
        label = int(complement and rng.random() < 0.9)
        ranker.learn_one(features, label)
        if label:
            ranker.compare({"model": model_lists, "fallback": not model_lists})
    return ranker


def test_untrained_ranker_ranks_by_similarity_plus_popularity():
    ranked, mode = Ranker().rank(candidates(), k=3)
    assert mode == "similarity"
    assert ranked == [("b", pytest.approx(1.2)), ("a", pytest.approx(0.9)), ("c", pytest.approx(0.6))]


def test_without_vectors_ranker_ranks_by_popularity():
    no_vectors = [(i, {**f, "similarity": 0.0}) for i, f in candidates()]
    ranked, mode = Ranker().rank(no_vectors, k=2)
    assert (ranked, mode) == ([("b", 2.0), ("c", 1.0)], "popularity")


def test_ties_are_broken_by_item_id():
    same = {"similarity": 0.0, "popularity": 1.0}
    ranked, _ = Ranker().rank([("z", same), ("m", same), ("a", same)], k=3)
    assert [i for i, _ in ranked] == ["a", "m", "z"]


def test_nothing_to_rank_gives_an_empty_list():
    assert Ranker().rank([], k=10) == ([], "popularity")
    assert trained().rank([], k=10) == ([], "model")


def test_ranker_switches_to_the_model_once_it_has_seen_enough_examples():
    ranker = trained()
    ranked, mode = ranker.rank(candidates(), k=3)
    assert mode == "model"
    assert ranked[0][0] == "c"
    assert all(0.0 <= score <= 1.0 for _, score in ranked)


def test_a_trained_model_is_not_served_before_enough_lists_were_compared():
    ranker = Ranker(min_examples=10, min_compared=5)
    for n in range(20):
        ranker.learn_one(candidates()[2][1], 1)
    for n in range(4):
        ranker.compare({"model": True, "fallback": False})
    ranker.compare({"fallback": True})  # listed before the model was trained: not a comparison
    assert ranker.trained and not ranker.serves_model
    assert ranker.rank(candidates(), k=3)[1] == "similarity"
    ranker.compare({"model": True, "fallback": True})
    assert ranker.serves_model


def test_a_model_whose_lists_hold_fewer_items_taken_than_the_fallback_is_not_served():
    ranker = trained(model_lists=False)
    assert ranker.trained and not ranker.serves_model
    ranking = ranker.lists(*matrix(), k=3)
    assert ranking.mode == "similarity"
    assert ranking.items == Ranker().rank(candidates(), k=3)[0]
    # The model still ranks in the shadow, so the comparison goes on.
    assert ranking.listed["model"][0] == "c"
    assert ranking.listed["fallback"] == ["b", "a", "c"]
    metrics = ranker.metrics()
    assert (metrics["model_hit_rate"], metrics["fallback_hit_rate"]) == (0.0, 1.0)


def test_a_served_model_stays_until_the_fallback_is_clearly_better():
    ranker = Ranker(min_examples=1, min_compared=10)
    ranker.learn_one(candidates()[2][1], 1)
    for _ in range(10):
        ranker.compare({"model": True, "fallback": False})
    assert ranker.serves_model
    for _ in range(14):  # the fallback ahead 14 to 10: within twice the deviation (9.8)
        ranker.compare({"model": False, "fallback": True})
    assert ranker.serves_model
    for _ in range(20):  # 34 to 10: 24 > 2 * sqrt(44)
        ranker.compare({"model": False, "fallback": True})
    assert not ranker.serves_model
    ranker.compare({"model": True, "fallback": True})  # lists both got right decide nothing
    assert not ranker.serves_model


def test_the_comparison_follows_the_latest_lists():
    ranker = trained(model_lists=False)
    for _ in range(ranker.hits.maxlen):
        ranker.compare({"model": True, "fallback": False})
    assert ranker.serves_model


def test_contested_counts_only_the_lists_in_the_window():
    ranker = Ranker(hits_window=4)
    for model, fallback in [(True, False), (False, True), (True, True), (False, False), (False, True), (False, True)]:
        ranker.compare({"model": model, "fallback": fallback})
    assert ranker.contested() == (0, 2)  # the window holds the last four
    ranker.compare({"model": True, "fallback": False})
    assert ranker.contested() == (1, 2)


def test_a_ranker_pickled_without_the_counts_recounts_its_window():
    ranker = Ranker(hits_window=4)
    for hit in [(True, False), (False, True), (False, True)]:
        ranker.compare({"model": hit[0], "fallback": hit[1]})
    state = ranker.__getstate__()
    del state["_only_model"], state["_only_fallback"]
    older = Ranker.__new__(Ranker)
    older.__setstate__(state)
    assert older.contested() == (1, 2)


def test_an_untrained_ranker_lists_only_the_fallback():
    assert Ranker().lists(*matrix(), k=2).listed == {"fallback": ["b", "a"]}


def matrix():
    ids, rows = zip(*candidates())
    columns = list(rows[0])
    return ids, np.array([[row[c] for c in columns] for row in rows]), columns


def test_learning_is_deterministic():
    assert trained().rank(candidates(), k=3) == trained().rank(candidates(), k=3)


def test_metrics_track_progressive_validation():
    metrics = trained().metrics()
    assert metrics["examples_seen"] == 400.0
    assert metrics["lists_compared"] > 20 and (metrics["model_hit_rate"], metrics["fallback_hit_rate"]) == (1.0, 0.0)
    assert metrics["roc_auc"] > 0.8
    assert 0.0 < metrics["log_loss"] < 0.69


def test_snapshot_round_trip_keeps_scores_examples_and_version():
    ranker = trained()
    ranker.version = 7
    again = Ranker.loads(ranker.dumps())
    assert (again.version, again.examples_seen) == (7, 400)
    assert again.metrics() == ranker.metrics()
    assert again.rank(candidates(), k=3) == ranker.rank(candidates(), k=3)
    again.learn_one(candidates()[2][1], 1)
    ranker.learn_one(candidates()[2][1], 1)
    assert again.predict_one(candidates()[0][1]) == ranker.predict_one(candidates()[0][1])


def test_a_snapshot_of_another_format_is_refused():
    with pytest.raises(ValueError, match="snapshot format"):
        Ranker.loads(pickle.dumps({"format": 999}))


def test_scoring_a_whole_list_equals_scoring_one_by_one():
    ranker = trained()
    rng = random.Random(1)
    rows = [{"similarity": rng.uniform(-1, 1), "popularity": 3 * rng.random(), "complement": float(rng.random() < 0.5),
             "unseen": rng.random()} for _ in range(50)]
    rows += [{"similarity": 0.5}, {}, {"popularity": 1e6, "complement": 1.0}, {"popularity": -1e6}]  # missing, saturated
    columns = ["similarity", "popularity", "complement", "unseen"]
    X = np.array([[row.get(c, np.nan) for c in columns] for row in rows])
    expected = [ranker.predict_one(row) for row in rows]
    assert ranker.predict_many(X, columns).tolist() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert {expected[-2], expected[-1]} == {1.0, 0.0}


def test_any_river_classifier_scores_a_list_one_row_at_a_time():
    ranker = Ranker(model=linear_model.LogisticRegression(), min_examples=1)
    ranker.learn_one({"similarity": 1.0}, 1)
    X = np.array([[0.2, np.nan], [0.9, 1.0]])
    expected = [ranker.predict_one({"similarity": 0.2}), ranker.predict_one({"similarity": 0.9, "popularity": 1.0})]
    assert ranker.predict_many(X, ["similarity", "popularity"]).tolist() == expected


def test_a_matrix_and_dicts_give_the_same_ranking():
    for ranker in (Ranker(), trained()):
        assert ranker.rank_many(*matrix(), k=3) == ranker.rank(candidates(), k=3)


def test_list_scores_follow_the_model_as_it_learns():
    ranker = trained()
    columns = ["similarity", "popularity", "complement"]
    X = np.array([[row[c] for c in columns] for _, row in candidates()])
    before = ranker.predict_many(X, columns).tolist()
    for _ in range(20):
        ranker.learn_one(candidates()[0][1], 1)
    after = ranker.predict_many(X, columns).tolist()
    assert after != before
    assert after == pytest.approx([ranker.predict_one(row) for _, row in candidates()], rel=1e-12, abs=1e-15)
    assert Ranker.loads(ranker.dumps()).predict_many(X, columns).tolist() == after
