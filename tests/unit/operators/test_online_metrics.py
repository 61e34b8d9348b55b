import math

import orjson
import pytest

from cartstream.operators.online_metrics import MRR, NDCG, HitRate


def test_a_hit_counts_only_within_the_top_k():
    hr = HitRate(k=2)
    hr.update(["a", "b", "c"], "b")
    hr.update(["a", "b", "c"], "c")
    assert hr.get() == 0.5 and hr.n == 2


def test_ndcg_and_mrr_reward_higher_ranks():
    ndcg, mrr = NDCG(k=10), MRR(k=10)
    for rank, metric in [(0, ndcg), (0, mrr)]:
        metric.update(["a", "b", "c"], "abc"[rank])
    assert ndcg.get() == 1.0 and mrr.get() == 1.0
    low_ndcg, low_mrr = NDCG(k=10), MRR(k=10)
    low_ndcg.update(["a", "b", "c"], "c")
    low_mrr.update(["a", "b", "c"], "c")
    assert low_ndcg.get() == pytest.approx(1 / math.log2(4))
    assert low_mrr.get() == pytest.approx(1 / 3)


def test_no_lists_yet_gives_zero():
    assert HitRate().get() == NDCG().get() == MRR().get() == 0.0


def test_an_empty_list_is_a_miss():
    hr = HitRate()
    hr.update([], "a")
    assert (hr.n, hr.get()) == (1, 0.0)


def test_metrics_round_trip_through_json():
    for cls in (HitRate, NDCG, MRR):
        metric = cls(k=3)
        metric.update(["a", "b"], "b")
        again = cls.from_dict(orjson.loads(orjson.dumps(metric.to_dict())))
        assert (again.k, again.n, again.get()) == (3, 1, metric.get())
        assert repr(again) == repr(metric)
