"""The recommender's vector index on local disk, with the `item-vectors` offsets it covers.

A restarted instance loads the snapshot and reads only the tail of `item-vectors` after
those offsets, instead of rebuilding the index from the whole topic. The index and the
exact vectors (float32, for features) are written one after the other; each carries the
offsets, and a pair whose offsets differ (a crash between the writes) is not used.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import orjson

from ..models.exceptions import SnapshotNotFound
from ..models.vector_index import VectorIndex

log = logging.getLogger(__name__)

Positions = dict[tuple[str, int], int]


def _encode(positions: Positions) -> dict[str, int]:
    return {f"{topic}:{partition}": offset for (topic, partition), offset in sorted(positions.items())}


def _decode(offsets: dict[str, int]) -> Positions:
    return {(key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1])): offset for key, offset in offsets.items()}


class VectorSnapshot:
    """Saves and restores (index, vectors, offsets) under one directory.

    Parameters
    ----------
    directory
        Where the snapshot lives (inside the instance's state directory).
    topic
        The full name of the `item-vectors` topic; only its offsets are kept.
    every_updates, every_s
        A snapshot is written after this many new records, or this many seconds with any.
    """

    def __init__(self, directory: Path, topic: str, every_updates: int = 5_000, every_s: float = 60.0):
        self.directory = directory
        self.topic = topic
        self.every_updates = every_updates
        self.every_s = every_s
        self._saved_at = time.monotonic()
        self._saved_positions: Positions = {}

    def load(self) -> tuple[VectorIndex, dict[str, np.ndarray], Positions] | None:
        """The saved index, vectors and offsets, or None when there is no usable snapshot."""
        try:
            index, offsets = VectorIndex.load(self.directory / "index")
            stored = np.load(self.directory / "vectors.npz", allow_pickle=False)
        except (SnapshotNotFound, FileNotFoundError):
            return None
        if orjson.loads(bytes(stored["offsets"])) != offsets:
            log.warning("vector snapshot halves differ (interrupted save); reading item-vectors from the start")
            return None
        vectors = {str(item_id): row for item_id, row in zip(stored["ids"], stored["matrix"])}
        positions = _decode(offsets)
        self._saved_positions = positions
        return index, vectors, positions

    def due(self, positions: Positions) -> bool:
        """Whether enough has changed since the last snapshot to write another."""
        read = sum(o for (t, _), o in positions.items() if t == self.topic)
        saved = sum(self._saved_positions.values())
        return read - saved >= self.every_updates or (read > saved and time.monotonic() - self._saved_at >= self.every_s)

    def save(self, index: VectorIndex | None, vectors: dict[str, np.ndarray], positions: Positions) -> None:
        """Write the snapshot (the caller holds the tables' lock, so nothing moves meanwhile)."""
        if index is None:
            return
        mine = {key: offset for key, offset in positions.items() if key[0] == self.topic}
        offsets = _encode(mine)
        self.directory.mkdir(parents=True, exist_ok=True)
        ids = sorted(vectors)
        matrix = np.stack([vectors[i] for i in ids]) if ids else np.zeros((0, index.ndim), dtype=np.float32)
        staged = self.directory / "vectors.tmp.npz"
        np.savez(staged, ids=np.array(ids), matrix=matrix.astype(np.float32),
                 offsets=np.frombuffer(orjson.dumps(offsets), dtype=np.uint8))
        index.save(self.directory / "index", offsets)
        os.replace(staged, self.directory / "vectors.npz")
        self._saved_positions = mine
        self._saved_at = time.monotonic()
