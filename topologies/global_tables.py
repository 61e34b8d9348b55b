"""The recommender's global tables: compacted topics read into memory by every instance.

Like a Kafka Streams GlobalKTable: each recommender process reads every partition of
`menu-items`, `item-vectors`, `item-stats` and `model-snapshots` with a `TableReader`
(topologies/table_reader.py) and keeps applying new records as they arrive, as of the
record time of the event being ranked.
"""

from __future__ import annotations

import logging
import threading

import orjson

from ..models.ranker import Ranker
from ..models.vector_index import VectorIndex
from ..operators.catalog import Catalog, ItemInfo
from ..operators.item_vectors import ItemVectors
from ..operators.model_indexes import ModelIndexes
from ..operators.recommend import Tables
from ..operators.stats_table import StatsTable
from ..operators.validation import Accepted, validate_record
from ..schemas import EmbeddingModel, ItemVector, ModelSnapshot
from .settings import Settings
from .table_reader import Handler, TableReader, read_to_end
from .vector_snapshot import VectorSnapshot

log = logging.getLogger(__name__)

# An i8 HNSW graph finds the neighbourhood, the exact float32 cosines rank it (bench/index.py
# on embedding-like data, CPU per query on one thread). Up to 100k vectors the graph is in all
# 384 dimensions and 50 candidates are ranked: recall@50 0.90 for 0.4-0.5 ms at 10k (a 64-d
# graph needed 100 candidates and 0.7-0.8 ms for 0.97), 0.80 for 1.0 ms at 100k, where the
# two are level. From 100k vectors on (`Settings.vector_projection_after`) it holds them
# projected to 64 dimensions and ranks 100 candidates: at 1M 0.79 for 1.3 ms, where 384
# dimensions took 4.0 ms for 0.87 from 200. The step ranks them with co-visitation and
# trending items anyway.
SEARCH = {"candidates": 50, "projection_dims": 64, "projected_candidates": 100,
          "dtype": "i8", "connectivity": 16, "expansion_add": 64, "expansion_search": 16}


class RecommenderTables(Tables):
    """The recommender's tables plus the models of `model-snapshots`, and how to fill them."""

    def __init__(self, settings: Settings):
        super().__init__(catalog=Catalog(),
                         stats=StatsTable(settings.window_ms, settings.trending_half_life_ms))
        self.embeddings = ModelIndexes(settings.topic("item-vectors"), fit_after=settings.vector_projection_after,
                                       **SEARCH)
        self.search = self._search
        self.snapshot = VectorSnapshot(settings.state_path("recommender-vectors"), settings.topic("item-vectors"))
        self.start_offsets: dict[tuple[str, int], int] = {}
        restored = self.snapshot.load(self.embeddings)
        if restored is not None:
            self.start_offsets = restored
            self._follow_active()
            log.info("vector indexes restored from snapshot: %s",
                     {m: len(s.vectors) for m, s in self.embeddings.stores.items()})
        self.models: dict[str, Ranker] = {}
        self.lock = threading.Lock()
        self.skipped = 0
        # Items whose tombstone was applied: their history is known, so an event naming one
        # is not waiting for a later record of it (see `RecommenderStep`).
        self.deleted: set[str] = set()

    def handlers(self, settings: Settings) -> dict[str, Handler]:
        """Topic name -> function applying one of its records (key text, value bytes or None)."""
        return {
            settings.topic("menu-items"): self.apply_menu_item,
            settings.topic("item-vectors"): self.apply_item_vector,
            settings.topic("item-stats"): self.apply_item_stats,
            settings.topic("model-snapshots"): self.apply_model_snapshot,
            settings.topic("embedding-models"): self.apply_embedding_model,
        }

    def apply_menu_item(self, key: str, value: bytes | None) -> None:
        checked = validate_record("menu-items", key.encode(), value)
        if not isinstance(checked, Accepted):
            # The embedder dead-letters invalid menu items; the table only skips them.
            self.skipped += 1
            return
        if checked.is_tombstone:
            self.catalog.delete(key)
            self.vectors.pop(key, None)
            self.deleted.add(key)
            return
        m = checked.message
        self.deleted.discard(key)
        self.catalog.upsert(ItemInfo(m.item_id, m.restaurant_id, m.name, m.category, m.cuisine,
                                     m.price, m.veg, m.available))

    def apply_item_vector(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.embeddings.delete(key)
        else:
            item = ItemVector.from_json(value)
            self.embeddings.upsert(key, item.model_id, item.vector_array(), item.restaurant_id, item.available)
        self._follow_active()

    def apply_embedding_model(self, key: str, value: bytes | None) -> None:
        self.embeddings.control(EmbeddingModel.from_json(value))
        self._follow_active()

    def save_snapshot_if_due(self, positions: dict[tuple[str, int], int]) -> None:
        """After a batch: index the buffered vectors, switch embedding model once its
        rebuild is read in full, snapshot when enough changed. Reader thread, under the lock."""
        self.embeddings.flush()
        if self.embeddings.advance(positions):
            log.info("searching embedding model %s from now on", self.embeddings.active)
        self._follow_active()
        if self.snapshot.due(positions):
            self.snapshot.save(self.embeddings, positions)

    @property
    def index(self) -> VectorIndex | None:
        """The active embedding model's index (a new one once it is projected, see `ModelStore`)."""
        store = self.embeddings.active_store
        return None if store is None else store.index

    def _follow_active(self) -> None:
        """Point `vectors` at the active embedding model's (they move at a switch)."""
        store = self.embeddings.active_store
        if store is not None:
            self.vectors = store.vectors
        elif self.vectors:
            self.vectors = ItemVectors()

    def reader(self, settings: Settings, hold: bool = False, hold_max_s: float | None = None) -> TableReader:
        """A reader that fills these tables, resuming `item-vectors` after the snapshot;
        `hold`: as of each event's record time (see `TableReader`).

        `embedding-models` is read first, so vectors of retired models are never indexed.
        """
        read_to_end(settings, settings.topic("embedding-models"), self.apply_embedding_model)
        self.embeddings.advance(self.start_offsets)
        self._follow_active()
        return TableReader(settings, self.handlers(settings), self.lock, start_offsets=self.start_offsets,
                           after_batch=self.save_snapshot_if_due, hold=hold, hold_max_s=hold_max_s)

    def _search(self, vector, k: int) -> list[tuple[str, float]]:
        return self.embeddings.search(vector, k)

    def apply_item_stats(self, key: str, value: bytes | None) -> None:
        self.stats.apply(key, None if value is None else orjson.loads(value))

    def apply_model_snapshot(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.models.pop(key, None)
            return
        snapshot = ModelSnapshot.from_json(value)
        ranker = Ranker.loads(snapshot.model_bytes())
        ranker.version = snapshot.version
        self.models[snapshot.model_name] = ranker
