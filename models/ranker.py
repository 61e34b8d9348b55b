"""The online ranker: a River model scoring candidates, which degrades instead of failing.

The default model is ``StandardScaler | LogisticRegression``. A linear model is the right
first ranker here: ``predict_one`` costs a few dict operations per candidate (a whole menu
is scored per event), ``learn_one`` is one SGD step, its probabilities give a meaningful
log loss, and its weights say which feature matters. The scaler is needed because the
features live on different scales (log counts next to 0/1 flags) and SGD converges only
on comparable scales. Any River binary classifier with ``predict_proba_one`` plugs in; the
default one is scored a whole list at a time, from its learnt means, variances and weights.

Until the model has seen ``min_examples`` examples, `rank` falls back to similarity plus
popularity, and without any similarity (no vectors) to popularity alone.

Examples
--------
>>> ranker = Ranker(min_examples=4)
>>> near = {"similarity": 0.9, "popularity": 0.5}
>>> hit = {"similarity": 0.1, "popularity": 1.0}
>>> ranker.rank([("a", near), ("b", hit)], k=2)
([('a', 1.4), ('b', 1.1)], 'similarity')
>>> for _ in range(10):
...     ranker.learn_one(near, 0)
...     ranker.learn_one(hit, 1)
>>> ranking, mode = ranker.rank([("a", near), ("b", hit)], k=1)
>>> [item_id for item_id, _ in ranking], mode
(['b'], 'model')
>>> Ranker.loads(ranker.dumps()).rank([("a", near), ("b", hit)], k=1) == (ranking, mode)
True

A list is scored in one go as a matrix, one row per candidate:

>>> import numpy as np
>>> X = np.array([[0.9, 0.5], [0.1, 1.0]])
>>> ranker.rank_many(["a", "b"], X, ["similarity", "popularity"], k=1) == (ranking, mode)
True
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence

import numpy as np
from river import base, compose, linear_model, metrics, optim, preprocessing, utils

__all__ = ["MODES", "Ranker"]

MODES = ("model", "similarity", "popularity")

# Bump when the snapshot layout changes, so an old snapshot is refused, not misread.
SNAPSHOT_FORMAT = 1


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
    """

    def __init__(
        self,
        model: base.Classifier | None = None,
        min_examples: int = 500,
        metrics_window: int = 2_000,
    ) -> None:
        self.model = model if model is not None else default_model()
        self.min_examples = min_examples
        self.examples_seen = 0
        self.version = 0
        self.roc_auc = metrics.RollingROCAUC(window_size=metrics_window)
        self.log_loss = utils.Rolling(metrics.LogLoss, window_size=metrics_window)

    @property
    def trained(self) -> bool:
        return self.examples_seen >= self.min_examples

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
        if self.trained:
            mode = "model"
            scores = self.predict_many(X, columns)
        else:
            similarity, popularity = (_column(X, columns, name) for name in ("similarity", "popularity"))
            if similarity.any():
                mode = "similarity"
                top = popularity.max()
                # Popularity is scaled to [0, 1] within the list to weigh like a cosine.
                scores = similarity + (popularity / top if top > 0 else 0.0)
            else:
                mode = "popularity"
                scores = popularity
        ranked = sorted(zip(item_ids, scores.tolist()), key=lambda s: (-s[1], s[0]))
        return ranked[:k], mode

    def metrics(self) -> dict[str, float]:
        """Running metrics, as published with a snapshot."""
        return {
            "roc_auc": float(self.roc_auc.get()),
            "log_loss": float(self.log_loss.get()),
            "examples_seen": float(self.examples_seen),
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


def _column(X: np.ndarray, columns: Sequence[str], name: str) -> np.ndarray:
    """Column ``name`` of ``X``, 0 where missing."""
    if name not in columns:
        return np.zeros(len(X))
    column = X[:, list(columns).index(name)]
    return np.where(np.isnan(column), 0.0, column)
