"""The online ranker: a River model scoring candidates, which degrades instead of failing.

The default model is ``StandardScaler | LogisticRegression``. A linear model is the right
first ranker here: ``predict_one`` costs a few dict operations per candidate (a whole menu
is scored per event), ``learn_one`` is one SGD step, its probabilities give a meaningful
log loss, and its weights say which feature matters. The scaler is needed because the
features live on different scales (log counts next to 0/1 flags) and SGD converges only
on comparable scales. Any River binary classifier with ``predict_proba_one`` plugs in; the
default one is scored a whole list at a time, from its learnt means, variances and weights.

Until the model has seen ``min_examples`` examples, `rank` falls back to similarity plus
popularity (plus a third as much co-visitation with the diner's items), and without any
similarity (no vectors) to popularity alone.

A trained model is served only while it ranks at least as well as that fallback. Every list
is ranked both ways; the next action says which of the two lists held the item taken (the
training example of that item carries it as ``listed_by``), and `Ranker.compare` keeps the score
over its latest ``hits_window`` compared lists. The model is served once ``min_compared``
lists were compared and its lists held at least as many of the items taken as the
fallback's; it stays served until the fallback is clearly better (McNemar's test on the
lists only one of the two got right: the fallback's lead over the model's is more than
twice its standard deviation), so two close policies do not take turns list by list. Until
then, and after, the fallback is served and the model keeps learning in its shadow. On real
carts whose choices the features barely explain, this keeps a model that learnt the wrong
lesson from serving lists worse than popularity.

Examples
--------
>>> import numpy as np
>>> ranker = Ranker(min_examples=4, min_compared=5)
>>> near = {"similarity": 0.9, "popularity": 0.5}
>>> hit = {"similarity": 0.1, "popularity": 1.0}
>>> ranker.rank([("a", near), ("b", hit)], k=2)
([('a', 1.4), ('b', 1.1)], 'similarity')
>>> for _ in range(10):
...     ranker.learn_one(near, 0)
...     ranker.learn_one(hit, 1)
...     ranker.compare({"model": True, "fallback": False})
>>> ranking, mode = ranker.rank([("a", near), ("b", hit)], k=1)
>>> [item_id for item_id, _ in ranking], mode
(['b'], 'model')
>>> Ranker.loads(ranker.dumps()).rank([("a", near), ("b", hit)], k=1) == (ranking, mode)
True
>>> ranker.lists(["a", "b"], np.array([[0.9, 0.5], [0.1, 1.0]]), ["similarity", "popularity"], k=1).listed
{'fallback': ['a'], 'model': ['b']}

A list is scored in one go as a matrix, one row per candidate:

>>> X = np.array([[0.9, 0.5], [0.1, 1.0]])
>>> ranker.rank_many(["a", "b"], X, ["similarity", "popularity"], k=1) == (ranking, mode)
True
"""

from __future__ import annotations

import collections
import dataclasses
import math
import pickle
from collections.abc import Mapping, Sequence

import numpy as np
from river import base, compose, linear_model, metrics, optim, preprocessing, utils

__all__ = ["MODES", "POLICIES", "Ranker", "Ranking"]

MODES = ("model", "similarity", "popularity")

#: The two ways every list is ranked: by the learnt model, and by similarity plus popularity.
POLICIES = ("model", "fallback")

# Bump when the snapshot layout changes, so an old snapshot is refused, not misread.
SNAPSHOT_FORMAT = 2

#: Weight of co-visitation in the fallback, beside similarity and popularity (weight 1 each).
#: On the first 1,000 Instacart orders (in process, bench/instacart_ranker.py) 0.25 to 0.5
#: all gave HR@10 0.065 against 0.062 without it and popularity's 0.060; 1.0 gave 0.059.
COVISITATION_WEIGHT = 0.35


@dataclasses.dataclass(frozen=True)
class Ranking:
    """A ranked list and how it was made.

    Attributes
    ----------
    items
        The best ``(item_id, score)`` pairs, best first: the list served.
    mode
        What ranked ``items``: one of `MODES`.
    listed
        The item ids each policy of `POLICIES` put in its list ("model" only once trained).
    """

    items: list[tuple[str, float]]
    mode: str
    listed: dict[str, list[str]]


def default_model() -> base.Classifier:
    return preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.SGD(0.05), l2=1e-4
    )


class Ranker:
    """A River classifier of "will the diner act on this item?", used to order candidates.

    Parameters
    ----------
    model
        A River binary classifier; `default_model` if None.
    min_examples
        Examples to learn from before the model's ranking is trusted.
    metrics_window
        The metrics cover the latest this many examples, so they follow drift.

    Attributes
    ----------
    examples_seen
        Examples learnt so far.
    version
        Snapshot version, set by whoever publishes snapshots (0 = never published).
    roc_auc, log_loss
        Progressive validation: each example is scored before it is learnt.
    hits
        The latest compared lists: per list, whether the model's and the fallback's held
        the item taken.
    """

    def __init__(
        self,
        model: base.Classifier | None = None,
        min_examples: int = 500,
        metrics_window: int = 2_000,
        min_compared: int = 50,
        hits_window: int = 1_000,
    ) -> None:
        self.model = model if model is not None else default_model()
        self.min_examples = min_examples
        self.min_compared = min_compared
        self.examples_seen = 0
        self.version = 0
        self.roc_auc = metrics.RollingROCAUC(window_size=metrics_window)
        self.log_loss = utils.Rolling(metrics.LogLoss, window_size=metrics_window)
        self.hits: collections.deque[tuple[bool, bool]] = collections.deque(maxlen=hits_window)
        self._only_model = self._only_fallback = 0
        self.serving = False

    @property
    def trained(self) -> bool:
        return self.examples_seen >= self.min_examples

    @property
    def serves_model(self) -> bool:
        """Whether lists are ranked by the model: trained, and winning its comparison with
        the fallback (see the module's docstring)."""
        return self.trained and self.serving

    def compare(self, listed_by: Mapping[str, bool]) -> None:
        """Score one list of each policy: ``listed_by`` says whether each policy's list held
        the item the diner took. A list the model did not rank yet (untrained) is skipped."""
        if not all(policy in listed_by for policy in POLICIES):
            return
        if len(self.hits) == self.hits.maxlen:
            self._count_contested(self.hits[0], -1)
        hit = (bool(listed_by["model"]), bool(listed_by["fallback"]))
        self.hits.append(hit)
        self._count_contested(hit, 1)
        only_model, only_fallback = self.contested()
        if self.serving:
            self.serving = only_fallback - only_model <= 2 * math.sqrt(only_fallback + only_model)
        else:
            self.serving = len(self.hits) >= self.min_compared and only_model >= only_fallback

    def contested(self) -> tuple[int, int]:
        """Of the latest compared lists, how many held the item taken only in the model's
        list, and how many only in the fallback's: the lists that tell the two apart."""
        return self._only_model, self._only_fallback

    def _count_contested(self, hit: tuple[bool, bool], sign: int) -> None:
        # Kept as lists come and go: summing the whole window on every list cost the
        # trainer 0.5 ms per list.
        model, fallback = hit
        self._only_model += sign * (model and not fallback)
        self._only_fallback += sign * (fallback and not model)

    def learn_one(self, features: Mapping[str, float], label: int | bool) -> None:
        """Learn from one shown item: ``label`` 1 if the diner acted on it, else 0."""
        y = bool(label)
        p = self.predict_one(features)
        self.roc_auc.update(y, p)
        self.log_loss.update(y, p)
        self.model.learn_one(dict(features), y)
        self.examples_seen += 1
        if self.examples_seen % self.roc_auc.window_size == 0:
            # RollingROCAUC buffers updates until it is read; reading bounds that buffer.
            self.roc_auc.get()

    def predict_one(self, features: Mapping[str, float]) -> float:
        """Probability that the diner acts on the item."""
        return float(self.model.predict_proba_one(dict(features)).get(True, 0.0))

    def predict_many(self, X: np.ndarray, columns: Sequence[str]) -> np.ndarray:
        """`predict_one` for every row of ``X``, whose columns are the features ``columns``.

        A NaN is a feature the row lacks, as a missing key is to `predict_one`.
        """
        parts = self._linear_scoring(tuple(columns))
        if parts is None:
            return np.array([self.predict_one({c: v for c, v in zip(columns, row) if v == v})
                             for row in X.tolist()])
        means, stds, weights, intercept = parts
        scaled = (X - means) / stds
        scaled[np.isnan(X)] = 0.0
        logits = scaled @ weights + intercept
        p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
        # River's sigmoid is exactly 0 or 1 beyond +-30: ties there are broken by item id.
        p[logits < -30] = 0.0
        p[logits > 30] = 1.0
        return p

    def _linear_scoring(self, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
        """Means, standard deviations, weights and intercept of a `default_model`-shaped
        model over ``columns``, or None for any other model.

        They change only when the model learns, so they are kept until ``examples_seen``
        moves: a recommender's ranker only scores, and rebuilding them per list costs more
        than the scoring itself.
        """
        key = (self.examples_seen, columns)
        cached = self.__dict__.get("_scoring")  # never pickled, see __getstate__
        if cached is not None and cached[0] == key:
            return cached[1]
        linear = _linear_parts(self.model)
        parts = None
        if linear is not None:
            scaler, regression = linear
            # `.get`, not `[]`: River's statistics are defaultdicts that a lookup would grow.
            variances = np.array([scaler.vars.get(c, 0.0) for c in columns])
            flat = variances == 0
            # The scaler maps a feature without variance to 0: a zero weight drops it alike.
            weights = np.array([0.0 if f else regression.weights.get(c, 0.0) for c, f in zip(columns, flat)])
            parts = (np.array([scaler.means.get(c, 0.0) for c in columns]),
                     np.sqrt(np.where(flat, 1.0, variances)), weights, float(regression.intercept))
        self._scoring = (key, parts)
        return parts

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_scoring", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_only_model" not in state:  # pickled before the counts were kept
            self._only_model = self._only_fallback = 0
            for hit in self.hits:
                self._count_contested(hit, 1)

    def rank(
        self, candidates: Sequence[tuple[str, Mapping[str, float]]], k: int
    ) -> tuple[list[tuple[str, float]], str]:
        """The best ``k`` of ``(item_id, features)`` pairs, and the mode that scored them.

        Ties are broken by item id, so equal inputs give equal lists.
        """
        columns = list(dict.fromkeys(name for _, f in candidates for name in f))
        X = np.array([[f.get(c, np.nan) for c in columns] for _, f in candidates], dtype=float)
        return self.rank_many([item_id for item_id, _ in candidates], X.reshape(len(candidates), len(columns)),
                              columns, k)

    def rank_many(
        self, item_ids: Sequence[str], X: np.ndarray, columns: Sequence[str], k: int
    ) -> tuple[list[tuple[str, float]], str]:
        """`rank` for candidates given as a matrix: row ``n`` of ``X`` holds the features
        (named by ``columns``) of ``item_ids[n]``."""
        ranking = self.lists(item_ids, X, columns, k)
        return ranking.items, ranking.mode

    def lists(self, item_ids: Sequence[str], X: np.ndarray, columns: Sequence[str], k: int) -> Ranking:
        """The list served for the candidates of `rank_many`, and what each policy listed."""
        similarity, popularity, covisitation = (_column(X, columns, name)
                                                for name in ("similarity", "popularity", "covisitation"))
        if similarity.any():
            fallback_mode = "similarity"
            # Popularity and co-visitation are scaled to [0, 1] within the list to weigh like a cosine.
            score = similarity + _scaled(popularity) + COVISITATION_WEIGHT * _scaled(covisitation)
            fallback = _top(item_ids, score, k)
        else:
            fallback_mode, fallback = "popularity", _top(item_ids, popularity, k)
        listed = {"fallback": [item_id for item_id, _ in fallback]}
        if not self.trained:
            return Ranking(fallback, fallback_mode, listed)
        model = _top(item_ids, self.predict_many(X, columns), k)
        listed["model"] = [item_id for item_id, _ in model]
        if self.serves_model:
            return Ranking(model, "model", listed)
        return Ranking(fallback, fallback_mode, listed)

    def metrics(self) -> dict[str, float]:
        """Running metrics, as published with a snapshot."""
        return {
            "roc_auc": float(self.roc_auc.get()),
            "log_loss": float(self.log_loss.get()),
            "examples_seen": float(self.examples_seen),
            # Shares of compared lists that held the item taken, and how many were compared.
            "model_hit_rate": sum(model for model, _ in self.hits) / max(1, len(self.hits)),
            "fallback_hit_rate": sum(fallback for _, fallback in self.hits) / max(1, len(self.hits)),
            "lists_compared": float(len(self.hits)),
            "model_served": float(self.serves_model),
        }

    def dumps(self) -> bytes:
        """A snapshot of the whole ranker. Pickle, as River models are plain Python objects;
        load snapshots only from the project's own topic."""
        self.roc_auc.get()  # moves buffered updates into the window, keeping the snapshot small
        return pickle.dumps({"format": SNAPSHOT_FORMAT, "ranker": self}, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def loads(cls, data: bytes) -> Ranker:
        snapshot = pickle.loads(data)
        found = snapshot.get("format") if isinstance(snapshot, dict) else None
        if found != SNAPSHOT_FORMAT:
            raise ValueError(
                f"snapshot format {found!r} is not {SNAPSHOT_FORMAT}; "
                "retrain from training-examples or load a snapshot written by this version"
            )
        return snapshot["ranker"]


def _linear_parts(model: base.Classifier) -> tuple[preprocessing.StandardScaler, linear_model.LogisticRegression] | None:
    """The scaler and regression of a `default_model`-shaped pipeline, else None."""
    steps = list(model.steps.values()) if isinstance(model, compose.Pipeline) else []
    if len(steps) != 2:
        return None
    scaler, regression = steps
    if (type(scaler) is preprocessing.StandardScaler and scaler.with_std and scaler.window_size is None
            and type(regression) is linear_model.LogisticRegression and type(regression.loss) is optim.losses.Log):
        return scaler, regression
    return None


def _top(item_ids: Sequence[str], scores: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The ``k`` best ``(item_id, score)`` pairs, ties broken by item id."""
    return sorted(zip(item_ids, scores.tolist()), key=lambda s: (-s[1], s[0]))[:k]


def _scaled(values: np.ndarray) -> np.ndarray:
    """``values`` divided by their maximum, when it is positive."""
    top = values.max(initial=0.0)
    return values / top if top > 0 else values


def _column(X: np.ndarray, columns: Sequence[str], name: str) -> np.ndarray:
    """Column ``name`` of ``X``, 0 where missing."""
    if name not in columns:
        return np.zeros(len(X))
    column = X[:, list(columns).index(name)]
    return np.where(np.isnan(column), 0.0, column)
