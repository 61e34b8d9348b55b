"""One vector index per embedding model, and the rule that says which one readers search.

A rebuild writes a new model's vectors to `item-vectors` beside the live model's, and a
cosine between vectors of two models means nothing. So every model gets its own index and
vectors, and readers search only the *active* one. `embedding-models` names the active
model together with the `item-vectors` offsets that hold all of its vectors; the switch
happens only once this reader has read that far, so it never searches a mixed index nor a
half-filled one. At the switch the replaced model's index is dropped, and its vectors
(which may still arrive, from an old embedder or an uncompacted log) are ignored.

Before any `embedding-models` record is known (vectors written by hand, as the benchmarks
do), the first model seen is active.

Upserts are buffered and reach the index in one call per model (`flush`), which is what
makes reading a whole topic fast; a search flushes first, so it never misses one. A search
takes `candidates` neighbours from the approximate index and ranks them by their exact
float32 cosines, which the store holds anyway (features use them): quantised HNSW finds
the neighbourhood, the exact scores fix its order (bench/index.py measures both).

Examples
--------
>>> from cartstream.schemas import EmbeddingModel
>>> indexes = ModelIndexes("item-vectors")
>>> indexes.upsert("naan", "old", [1.0, 0.0], "r1", available=True)
>>> indexes.active
'old'
>>> indexes.upsert("naan", "new", [0.0, 1.0], "r1", available=True)  # a rebuild's vector
>>> indexes.control(EmbeddingModel(model_id="new", previous_model_id="old", dim=2, items=1,
...     vector_offsets={"0": 8}, menu_offsets={}, event_time=1732540000000))
>>> indexes.advance({("item-vectors", 0): 7}), indexes.active
(False, 'old')
>>> indexes.advance({("item-vectors", 0): 8}), indexes.active, sorted(indexes.stores)
(True, 'new', ['new'])
>>> indexes.search([0.0, 1.0], k=1)
[('naan', 1.0)]
>>> indexes.upsert("lassi", "old", [1.0, 0.0], "r1", available=True)  # a retired model: ignored
>>> len(indexes.current.vectors)
1
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping

import numpy as np

from cartstream.models.vector_index import Contents, VectorIndex, fit_projection
from cartstream.operators.item_vectors import ItemVectors
from cartstream.schemas import EmbeddingModel

__all__ = ["ModelIndexes", "ModelStore", "ProjectionRebuild"]

log = logging.getLogger(__name__)

# A projection fitted on 6,000 embeddings finds neighbours as well as one fitted on 20,000
# (bench/index.py data, exact top 200 in 64 dimensions re-ranked: recall@50 0.996 at 1M).
FIT_SAMPLE = 20_000

Positions = Mapping[tuple[str, int], int]


class ProjectionRebuild:
    """An index built over a projection on a thread of its own, while the old one serves.

    It starts from a copy of what the old index holds; the items changed after that
    (`touched`) are copied over from the old index when the new one is taken, so the new
    index holds exactly what the old one does at that moment.
    """

    def __init__(self, index: VectorIndex, vectors: ItemVectors, sample: np.ndarray, dims: int) -> None:
        self.touched: set[str] = set()
        self._built: VectorIndex | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._build, args=(index, index.contents(vectors), sample, dims),
                                        name="projection-rebuild", daemon=True)
        self._thread.start()

    def _build(self, index: VectorIndex, contents: Contents, sample: np.ndarray, dims: int) -> None:
        """Fit the projection on ``sample`` and index ``contents`` over it (``index`` gives
        only its configuration)."""
        try:
            self._built = index.empty_projected(fit_projection(sample, dims)).filled(contents)
        except Exception as exc:  # handed to the thread that takes the index
            self._error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the build ends (or ``timeout`` passes); whether it ended."""
        self._thread.join(timeout)
        return self.done

    def take(self, index: VectorIndex, vectors: ItemVectors) -> VectorIndex:
        """The built index, brought up to date with ``index`` (the one serving until now)."""
        if self._error is not None:
            raise self._error
        changed = index.contents(vectors, only=self.touched)
        for item_id in self.touched.difference(changed.ids):
            self._built.delete(item_id)
        return self._built.filled(changed)  # one call: an upsert at a time costs a graph search each


@dataclasses.dataclass
class ModelStore:
    """The index and the exact vectors of one embedding model.

    With ``background``, the projected index is built on a thread while the unprojected one
    keeps serving (`ProjectionRebuild`), and swapped in by the first flush after it is built;
    without, the flush that crosses ``fit_after`` builds it, so that where the index changes
    depends on the log alone (a replay must see the same index at the same record).
    """

    index: VectorIndex
    vectors: ItemVectors
    pending: dict[str, tuple[np.ndarray, str, bool]] = dataclasses.field(default_factory=dict)
    projection_dims: int | None = None
    fit_after: int = 2_000
    background: bool = False
    rebuild: ProjectionRebuild | None = None

    def flush(self) -> None:
        """Apply the buffered upserts to the index in one call; once the store holds
        ``fit_after`` vectors, rebuild the index over a projection to ``projection_dims``
        fitted on the first (at most `FIT_SAMPLE`) rows of its vectors.

        The rebuild happens once. In the foreground (under the tables' lock) at 100k vectors
        it holds the stream for the time it takes to insert them all again (6.5 s here, two
        threads). Which vectors the projection is fitted on depends on the order
        they arrived in, which a topic of several partitions does not fix; a snapshot keeps
        the projection, so a restarted reader searches the same way."""
        if self.pending:
            ids = list(self.pending)
            vectors, restaurants, available = zip(*self.pending.values())
            self.pending = {}
            self.index.upsert_many(ids, np.stack(vectors), list(restaurants), list(available))
            if self.rebuild is not None:
                self.rebuild.touched.update(ids)
        if self.rebuild is not None:
            if self.rebuild.done:
                rebuild, self.rebuild = self.rebuild, None
                try:
                    self.index = rebuild.take(self.index, self.vectors)
                    log.info("searching %d vectors projected to %d dimensions", len(self.index), self.projection_dims)
                except Exception:  # the unprojected index is still whole: keep searching it
                    log.exception("projecting the index failed; it stays unprojected")
                    self.projection_dims = None
            return
        if (self.projection_dims is not None and self.index.projection is None
                and self.projection_dims < self.index.ndim and len(self.vectors) >= self.fit_after):
            sample = self.vectors.unit_rows(np.arange(min(self.fit_after, FIT_SAMPLE)))
            log.info("indexing %d vectors projected to %d dimensions%s", len(self.vectors), self.projection_dims,
                     " in the background" if self.background else "")
            if self.background:
                self.rebuild = ProjectionRebuild(self.index, self.vectors, sample, self.projection_dims)
            else:
                self.index = self.index.projected(fit_projection(sample, self.projection_dims), self.vectors)

    def forget(self, item_id: str) -> None:
        """Remove an item: its buffered upsert, its vector and its place in the index."""
        self.pending.pop(item_id, None)
        self.vectors.pop(item_id, None)
        self.index.delete(item_id)
        if self.rebuild is not None:
            self.rebuild.touched.add(item_id)


class ModelIndexes:
    """Item vectors by embedding model; searches go to the active model's index.

    Parameters
    ----------
    topic
        Full name of the `item-vectors` topic: the offsets of a switch refer to it.
    candidates
        Neighbours taken from the approximate index per search, then ranked exactly.
    projection_dims, fit_after
        Search a model's index in ``projection_dims`` dimensions once it holds ``fit_after``
        vectors (see `ModelStore.flush`); None: always in all of them.
    projected_candidates
        ``candidates`` of a projected index (its order is rougher, so it takes more); None:
        the same.
    index_config
        `VectorIndex` parameters of the indexes this creates (dtype, connectivity, ...).
    """

    def __init__(self, topic: str, candidates: int = 100, projection_dims: int | None = None,
                 fit_after: int = 2_000, projected_candidates: int | None = None, **index_config) -> None:
        self.topic = topic
        self.candidates = candidates
        self.projected_candidates = projected_candidates or candidates
        self.projection_dims = projection_dims
        self.fit_after = fit_after
        self.background_projection = False  # see `project_in_background`
        self.index_config = index_config
        self.stores: dict[str, ModelStore] = {}
        self.active: str | None = None
        self.switch: tuple[str, dict[int, int]] | None = None
        self.retired: set[str] = set()
        self.controlled = False

    @property
    def active_store(self) -> ModelStore | None:
        """The active model's store as it is (upserts may wait in it); None while no model
        is active or it has no vector."""
        return self.stores.get(self.active) if self.active is not None else None

    @property
    def current(self) -> ModelStore | None:
        """The active model's store, flushed; None while no model is active or it has no vector."""
        store = self.active_store
        if store is not None:
            store.flush()
        return store

    def upsert(self, item_id: str, model_id: str, vector, restaurant_id: str, available: bool) -> None:
        """Buffer one item's vector of one model (ignored when that model was replaced)."""
        if model_id in self.retired:
            return
        vector = np.asarray(vector, dtype=np.float32)
        store = self.stores.get(model_id)
        if store is None:
            store = self.stores[model_id] = self.store(VectorIndex(ndim=len(vector), **self.index_config),
                                                       ItemVectors())
        if self.active is None and not self.controlled:
            self.active = model_id
        store.vectors[item_id] = vector
        store.pending[item_id] = (vector, restaurant_id, available)

    def delete(self, item_id: str) -> None:
        """Forget an item in every model."""
        for store in self.stores.values():
            store.forget(item_id)

    def project_in_background(self) -> None:
        """Build projected indexes on a thread from now on (see `ModelStore`): for a reader
        that has loaded its tables, whose stream must not wait for a rebuild. While it loads,
        a rebuild in the foreground is faster: every vector after the crossing goes to the
        projected index alone."""
        self.background_projection = True
        for store in self.stores.values():
            store.background = True

    def store(self, index: VectorIndex, vectors: ItemVectors) -> ModelStore:
        """A model's store of ``index`` and ``vectors``, projecting as this was configured to."""
        return ModelStore(index, vectors, projection_dims=self.projection_dims, fit_after=self.fit_after,
                          background=self.background_projection)

    def control(self, record: EmbeddingModel) -> None:
        """Apply an `embedding-models` record: the model to switch to once its offsets are read.

        The record's ``previous_model_id`` is the one retired model: a rebuild back to it
        first re-publishes the active record without it, so its vectors are taken again.
        """
        self.controlled = True
        if record.model_id != self.active:
            self.switch = (record.model_id, {int(p): o for p, o in record.vector_offsets.items()})
        self.retired = set()
        if record.previous_model_id not in (None, record.model_id, self.active):
            self._retire(record.previous_model_id)

    def advance(self, positions: Positions) -> bool:
        """Switch to the announced model once `positions` reach its offsets; whether it switched."""
        if self.switch is None:
            return False
        model_id, offsets = self.switch
        if any(positions.get((self.topic, p), 0) < o for p, o in offsets.items()):
            return False
        retired, self.active, self.switch = self.active, model_id, None
        if retired is not None:
            self._retire(retired)
        return True

    def flush(self) -> None:
        """Apply every model's buffered upserts to its index."""
        for store in self.stores.values():
            store.flush()

    def search(self, vector, k: int) -> list[tuple[str, float]]:
        """The active model's `k` nearest available items, as (item_id, exact cosine), best first;
        empty while no model is active."""
        store = self.current
        if store is None:
            return []
        wanted = self.candidates if store.index.projection is None else self.projected_candidates
        ids = [item_id for item_id, _ in store.index.search(vector, max(k, wanted))]
        scores = store.vectors.cosines(vector, ids)
        return [(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")[:k]]

    def _retire(self, model_id: str) -> None:
        self.retired.add(model_id)
        self.stores.pop(model_id, None)
