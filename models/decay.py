"""Weights that fade with event time: the memory behind affinities, co-visitation and trending.

Every weight added at event time ``t`` counts ``2 ** -((clock - t) / half_life_ms)`` where
``clock`` is the latest event time seen. The weights are rescaled only when the clock moves
forward, and a late event is discounted on arrival, so the result depends on the events and
not on wall-clock time, and a replay of the same log rebuilds the same weights.

Examples
--------
>>> w = DecayedWeights(half_life_ms=1_000)
>>> w.add({"pizza": 1.0}, event_time=0)
>>> w.add({"sushi": 1.0}, event_time=1_000)
>>> w.weights
{'pizza': 0.5, 'sushi': 1.0}
>>> w.add({"pizza": 1.0}, event_time=0)  # late: discounted as if it had come in order
>>> w.top(2)
[('pizza', 1.0), ('sushi', 1.0)]
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DecayedWeights", "decay_factor"]


def decay_factor(elapsed_ms: float, half_life_ms: float) -> float:
    """How much a weight keeps after ``elapsed_ms`` of event time.

    >>> decay_factor(2_000, half_life_ms=1_000)
    0.25
    """
    return 2.0 ** (-elapsed_ms / half_life_ms)


class DecayedWeights:
    """A dict of non-negative weights with exponential event-time decay.

    Parameters
    ----------
    half_life_ms
        Event time after which a weight counts half.

    Attributes
    ----------
    weights
        Current weight per key, as of `clock`.
    clock
        Latest event time seen, or None before the first event.
    """

    def __init__(self, half_life_ms: float) -> None:
        if half_life_ms <= 0:
            raise ValueError(f"half_life_ms must be positive, got {half_life_ms}")
        self.half_life_ms = half_life_ms
        self.weights: dict[str, float] = {}
        self.clock: int | None = None

    def __len__(self) -> int:
        return len(self.weights)

    def add(self, updates: Mapping[str, float], event_time: int) -> None:
        """Add weights observed at ``event_time``."""
        scale = 1.0
        if self.clock is None:
            self.clock = event_time
        elif event_time > self.clock:
            factor = decay_factor(event_time - self.clock, self.half_life_ms)
            for key in self.weights:
                self.weights[key] *= factor
            self.clock = event_time
        else:
            scale = decay_factor(self.clock - event_time, self.half_life_ms)
        for key, weight in updates.items():
            self.weights[key] = self.weights.get(key, 0.0) + weight * scale

    def get(self, key: str) -> float:
        return self.weights.get(key, 0.0)

    def total(self) -> float:
        return sum(self.weights.values())

    def top(self, k: int, exclude: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, float]]:
        """The ``k`` heaviest keys, ties broken by key so the order is stable."""
        ranked = sorted(
            ((key, w) for key, w in self.weights.items() if key not in exclude),
            key=lambda kw: (-kw[1], kw[0]),
        )
        return ranked[:k]

    def top_shares(self, k: int, prior: float = 0.0) -> list[tuple[str, float]]:
        """The ``k`` heaviest keys with their share of the total, ``w / (total + prior)``.

        A share does not change when the weights are read later (decay scales them all
        alike), and the prior damps the shares of a sparse row.

        >>> w = DecayedWeights(half_life_ms=1_000)
        >>> w.add({"naan": 3.0, "rice": 1.0}, event_time=0)
        >>> w.top_shares(1, prior=1.0)
        [('naan', 0.6)]
        """
        denominator = self.total() + prior
        return [(key, w / denominator) for key, w in self.top(k)] if denominator > 0 else []

    def prune(self, max_keys: int | None = None, min_weight: float = 0.0) -> None:
        """Bound memory: keep at most ``max_keys`` keys, all heavier than ``min_weight``."""
        kept = [(k, w) for k, w in self.weights.items() if w > min_weight]
        if max_keys is not None and len(kept) > max_keys:
            kept = sorted(kept, key=lambda kw: (-kw[1], kw[0]))[:max_keys]
        if len(kept) != len(self.weights):
            keep = {k for k, _ in kept}
            self.weights = {k: w for k, w in self.weights.items() if k in keep}

    def to_dict(self) -> dict:
        return {"half_life_ms": self.half_life_ms, "clock": self.clock, "weights": dict(self.weights)}

    @classmethod
    def from_dict(cls, data: dict) -> DecayedWeights:
        decayed = cls(data["half_life_ms"])
        decayed.clock = data["clock"]
        decayed.weights = dict(data["weights"])
        return decayed
