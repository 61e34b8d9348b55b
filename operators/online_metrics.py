"""How good the shown lists are, measured online against what each diner did next.

Each metric is a running mean over lists, updated River-style with
``update(shown_ids, acted_item)`` and read with ``get()``. ``shown_ids`` is in ranked
order; only its first ``k`` items count.

Examples
--------
>>> hr, ndcg, mrr = HitRate(k=10), NDCG(k=10), MRR(k=10)
>>> for shown, acted in [(["a", "b", "c"], "a"), (["a", "b", "c"], "c"), (["a", "b"], "z")]:
...     for metric in (hr, ndcg, mrr):
...         metric.update(shown, acted)
>>> hr
HitRate@10: 0.666667
>>> round(ndcg.get(), 4), round(mrr.get(), 4)
(0.5, 0.4444)
>>> NDCG.from_dict(ndcg.to_dict()).get() == ndcg.get()
True
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence

__all__ = ["HitRate", "MRR", "NDCG", "RankingMetric"]


class RankingMetric(abc.ABC):
    """Mean of a per-list gain that depends on the rank of the acted item (or its absence).

    Parameters
    ----------
    k
        Cut-off: an item ranked below ``k`` counts as a miss.
    """

    name = "RankingMetric"

    def __init__(self, k: int = 10) -> None:
        self.k = k
        self.n = 0
        self.total = 0.0

    @abc.abstractmethod
    def gain(self, rank: int) -> float:
        """Credit for an acted item at 0-based ``rank`` < k; a miss earns 0."""

    def update(self, shown_ids: Sequence[str], acted_item: str) -> None:
        top = list(shown_ids[: self.k])
        self.n += 1
        if acted_item in top:
            self.total += self.gain(top.index(acted_item))

    def get(self) -> float:
        return self.total / self.n if self.n else 0.0

    def to_dict(self) -> dict:
        return {"k": self.k, "n": self.n, "total": self.total}

    @classmethod
    def from_dict(cls, data: dict) -> RankingMetric:
        metric = cls(data["k"])
        metric.n, metric.total = data["n"], data["total"]
        return metric

    def __repr__(self) -> str:
        return f"{self.name}@{self.k}: {self.get():.6f}"


class HitRate(RankingMetric):
    """HR@k: the share of lists that contained the acted item in their top ``k``."""

    name = "HitRate"

    def gain(self, rank: int) -> float:
        return 1.0


class NDCG(RankingMetric):
    """NDCG@k with one relevant item: ``1 / log2(rank + 2)``, 1 at the top."""

    name = "NDCG"

    def gain(self, rank: int) -> float:
        return 1.0 / math.log2(rank + 2)


class MRR(RankingMetric):
    """MRR@k: the mean of ``1 / (rank + 1)``."""

    name = "MRR"

    def gain(self, rank: int) -> float:
        return 1.0 / (rank + 1)
