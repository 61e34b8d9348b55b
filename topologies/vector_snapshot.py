"""The recommender's vector indexes on local disk, with the `item-vectors` offsets they cover.

A restarted instance loads the snapshot and reads only the tail of `item-vectors` after
those offsets, instead of rebuilding its indexes from the whole topic. Every embedding
model the instance holds (the active one, and one a rebuild is filling) is saved as its
index and its exact vectors (float32, for features), each carrying the offsets, into a
fresh folder; ``snapshot.json``, replaced last, names the folders. A crash mid-save leaves
the previous snapshot whole, and a folder whose offsets differ from ``snapshot.json`` is
never used.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import orjson

from ..models.exceptions import SnapshotNotFound
from ..models.vector_index import VectorIndex
from ..operators.item_vectors import ItemVectors
from ..operators.model_indexes import ModelIndexes

log = logging.getLogger(__name__)

Positions = dict[tuple[str, int], int]
_MANIFEST = "snapshot.json"


def _encode(positions: Positions) -> dict[str, int]:
    return {f"{topic}:{partition}": offset for (topic, partition), offset in sorted(positions.items())}


def _decode(offsets: dict[str, int]) -> Positions:
    return {(key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1])): offset for key, offset in offsets.items()}


class VectorSnapshot:
    """Saves and restores (indexes per model, offsets) under one directory.

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

    def load(self, indexes: ModelIndexes) -> Positions | None:
        """Fill the empty `indexes` from the snapshot and return its offsets; None when there is
        no usable snapshot (then `indexes` stays empty). Search settings stay the caller's."""
        manifest_path = self.directory / _MANIFEST
        if not manifest_path.is_file():
            return None
        manifest = orjson.loads(manifest_path.read_bytes())
        stores = {}
        for model_id, folder in manifest["models"].items():
            try:
                index, offsets = VectorIndex.load(self.directory / folder / "index")
                stored = np.load(self.directory / folder / "vectors.npz", allow_pickle=False)
            except (SnapshotNotFound, FileNotFoundError):
                log.warning("vector snapshot folder %s is incomplete; reading item-vectors from the start", folder)
                return None
            if offsets != manifest["offsets"] or orjson.loads(bytes(stored["offsets"])) != offsets:
                log.warning("vector snapshot folder %s is from another save; reading item-vectors from the start",
                            folder)
                return None
            if "expansion_search" in indexes.index_config:
                index.expansion_search = indexes.index_config["expansion_search"]
            stores[model_id] = indexes.store(index, ItemVectors(dict(zip(map(str, stored["ids"]), stored["matrix"]))))
        indexes.stores, indexes.active = stores, manifest["active"]
        positions = _decode(manifest["offsets"])
        self._saved_positions = positions
        return positions

    def due(self, positions: Positions) -> bool:
        """Whether enough has changed since the last snapshot to write another."""
        read = sum(o for (t, _), o in positions.items() if t == self.topic)
        saved = sum(self._saved_positions.values())
        return read - saved >= self.every_updates or (read > saved and time.monotonic() - self._saved_at >= self.every_s)

    def save(self, indexes: ModelIndexes, positions: Positions) -> None:
        """Write the snapshot (the caller holds the tables' lock, so nothing moves meanwhile)."""
        mine = {key: offset for key, offset in positions.items() if key[0] == self.topic}
        offsets = _encode(mine)
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = time.time_ns()
        folders = {}
        indexes.flush()
        for number, (model_id, store) in enumerate(sorted(indexes.stores.items())):
            folder = folders[model_id] = f"{generation}-{number}"
            (self.directory / folder).mkdir()
            ids = list(store.vectors)
            matrix = (np.stack([store.vectors[i] for i in ids]) if ids
                      else np.zeros((0, store.index.ndim), dtype=np.float32))
            np.savez(self.directory / folder / "vectors.npz", ids=np.array(ids, dtype=str),
                     matrix=matrix.astype(np.float32), offsets=np.frombuffer(orjson.dumps(offsets), dtype=np.uint8))
            store.index.save(self.directory / folder / "index", offsets)
        staged = self.directory / f"{_MANIFEST}.tmp"
        staged.write_bytes(orjson.dumps({"offsets": offsets, "models": folders, "active": indexes.active}))
        os.replace(staged, self.directory / _MANIFEST)
        for old in self.directory.iterdir():
            if old.is_dir() and old.name not in folders.values():
                shutil.rmtree(old, ignore_errors=True)
        self._saved_positions = mine
        self._saved_at = time.monotonic()
