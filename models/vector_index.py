"""Nearest menu items by vector: a usearch HNSW index that knows restaurants and availability.

Only available items live in the HNSW graph; an unavailable item is remembered (its
restaurant) but leaves the graph until an upsert makes it available again. So an
approximate search can never surface an unavailable item, and needs over-fetching only for the
caller's ``exclude`` set. A restaurant filter (a cart's restaurant) is answered by exact
scoring of that restaurant's few items, which is both exact and faster than filtering a
graph search. Vectors are L2-normalised on the way in, so every score is a cosine.

usearch keys are integers and it has no update: each item id maps to a stable 63-bit key
(a hash of the id, the same in every process and replay), and an upsert of a known item
removes its old vector before adding the new one.

A big catalog is searched in fewer dimensions: `fit_projection` finds the directions that
carry most of the vectors' energy, and an index built with that ``projection`` keeps its
graph over the projected vectors (64 of all-MiniLM-L6-v2's 384 dimensions hold nearly all
the neighbourhood: an exact top 200 in them, re-ranked in 384, holds 0.996 of the true top
50 at 1M items). Its cosines are then those of the projected vectors, so a caller that
wants exact ones re-ranks the neighbours it gets (`ModelIndexes` does).

Examples
--------
>>> import numpy as np
>>> index = VectorIndex(ndim=3)
>>> index.upsert("tikka", [1.0, 0.0, 0.0], restaurant_id="spice-route", available=True)
>>> index.upsert("naan", [0.8, 0.6, 0.0], restaurant_id="spice-route", available=True)
>>> index.upsert("lassi", [0.0, 1.0, 0.0], restaurant_id="spice-route", available=False)
>>> index.upsert("pizza", [0.0, 0.0, 1.0], restaurant_id="napoli", available=True)
>>> [(item, round(score, 2)) for item, score in index.search([1.0, 0.2, 0.0], k=2)]
[('tikka', 0.98), ('naan', 0.9)]
>>> index.search([0.0, 1.0, 0.0], k=5, restaurant_id="spice-route", exclude={"naan"})
[('tikka', 0.0)]
>>> index.items_of("spice-route")
['naan', 'tikka']
>>> index.upsert("lassi", [0.0, 1.0, 0.0], restaurant_id="spice-route", available=True)
>>> [(item, round(score, 2)) for item, score in index.search([0.0, 1.0, 0.0], k=1)]
[('lassi', 1.0)]
>>> index.delete("lassi"), index.delete("lassi"), len(index)
(True, False, 3)
>>> item_key("tikka") == item_key("tikka") < 2**63
True
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson

if sys.platform.startswith("linux"):
    # usearch 2.26's extension links libstdc++ statically and exports its GNU-unique
    # symbols; loaded first, they take over the locale state of every C++ extension loaded
    # after it, and `import onnxruntime` then segfaults. With the system libstdc++ loaded
    # globally first, the process keeps one libstdc++ whatever the import order.
    ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)

from usearch.index import Index  # noqa: E402

from cartstream.models.exceptions import DimensionMismatch, IndexKeyCollision, SnapshotNotFound

__all__ = ["Contents", "VectorIndex", "fit_projection", "item_key"]

_INDEX_FILE = "index.usearch"
_META_FILE = "meta.json"
_PROJECTION_FILE = "projection.npy"


class Contents(NamedTuple):
    """Items with their vectors (one row each), restaurants and availability."""

    ids: list[str]
    vectors: np.ndarray | None
    restaurants: list[str]
    available: list[bool]


def item_key(item_id: str) -> int:
    """The usearch key of an item id: 63 bits of its BLAKE2b hash, stable across processes.

    63 bits, not 64, so the key is a valid signed int64 too and never usearch's
    reserved all-ones value.
    """
    digest = hashlib.blake2b(item_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def fit_projection(vectors: np.ndarray, dims: int) -> np.ndarray:
    """A (d, ``dims``) orthonormal projection onto the ``dims`` directions of most energy of
    ``vectors`` (n, d): the top eigenvectors of their uncentred second moment, which keeps
    inner products, unlike centred PCA. Each column's largest component is positive, so the
    same vectors give the same projection on any machine.

    >>> rng = np.random.default_rng(0)
    >>> flat = rng.normal(size=(500, 3)) * [5.0, 1.0, 0.1]  # most energy along the first axis
    >>> (fit_projection(flat, 1).ravel().round(2) + 0.0).tolist()  # + 0.0: no negative zeros
    [1.0, 0.0, 0.0]
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or not 0 < dims <= vectors.shape[1]:
        raise ValueError(f"cannot project vectors of shape {vectors.shape} onto {dims} dimensions")
    _, eigenvectors = np.linalg.eigh(vectors.T @ vectors / len(vectors))
    top = eigenvectors[:, ::-1][:, :dims]
    signs = np.sign(top[np.abs(top).argmax(axis=0), np.arange(dims)])
    return np.ascontiguousarray(top * signs, dtype=np.float32)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class VectorIndex:
    """Approximate and exact cosine search over item vectors, by restaurant and availability.

    Parameters
    ----------
    ndim
        Vector length (384 for all-MiniLM-L6-v2).
    dtype
        How usearch stores vectors: ``f32``, ``f16`` or ``i8``. ``f16`` halves memory and
        speeds up search and insertion against ``f32`` at the same recall; ``i8`` is
        faster still but its cosines are off by up to ~0.01, which `score` would inherit.
    connectivity, expansion_add, expansion_search
        HNSW parameters (edges per node, candidate list while inserting, while searching).
        ``expansion_add`` 64 inserts twice as fast as usearch's 128 for about 0.01 of
        recall; raise ``expansion_search`` for recall at the cost of latency
        (bench/index.py measures both).
    threads
        Threads for bulk insertion; searches always use one, since a recommender
        instance answers one user at a time.
    projection
        A (``ndim``, d) matrix from `fit_projection`: the graph holds the projected
        vectors, and every cosine (`search`, `score`) is of projected vectors.
    """

    def __init__(
        self,
        ndim: int = 384,
        *,
        dtype: str = "f16",
        connectivity: int = 16,
        expansion_add: int = 64,
        expansion_search: int = 128,
        threads: int = 0,
        projection: np.ndarray | None = None,
    ) -> None:
        self.ndim = ndim
        self.threads = threads
        self._config = {
            "ndim": ndim,
            "dtype": dtype,
            "connectivity": connectivity,
            "expansion_add": expansion_add,
            "expansion_search": expansion_search,
        }
        self.projection = None if projection is None else np.ascontiguousarray(projection, dtype=np.float32)
        if self.projection is not None and (self.projection.ndim != 2 or self.projection.shape[0] != ndim):
            raise DimensionMismatch(f"expected a projection of shape ({ndim}, d), got {self.projection.shape}")
        # Vectors are normalised on the way in, so inner product is cosine; unlike
        # usearch's "ip", its "cos" stays correct for i8, which quantises by norm.
        graph_ndim = ndim if self.projection is None else self.projection.shape[1]
        self._index = Index(metric="cos", **{**self._config, "ndim": graph_ndim})
        self._restaurant: dict[str, str] = {}
        self._by_key: dict[int, str] = {}
        self._by_restaurant: dict[str, set[str]] = {}
        self._unavailable: set[str] = set()

    @property
    def expansion_search(self) -> int:
        """HNSW candidate-list size while searching: higher means better recall, slower."""
        return self._index.expansion_search

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        self._index.expansion_search = value
        self._config["expansion_search"] = value

    def __len__(self) -> int:
        """Number of items known, available or not."""
        return len(self._restaurant)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._restaurant

    def is_available(self, item_id: str) -> bool:
        """Whether a known item is available (searchable); False for unknown items."""
        return item_id in self._restaurant and item_id not in self._unavailable

    def upsert(self, item_id: str, vector, restaurant_id: str, available: bool) -> None:
        """Add an item, or replace its vector, restaurant and availability."""
        self.upsert_many([item_id], np.asarray(vector, dtype=np.float32)[None, :], [restaurant_id], [available])

    def upsert_many(
        self,
        item_ids: Sequence[str],
        vectors,
        restaurant_ids: Sequence[str],
        available: Sequence[bool],
    ) -> None:
        """Upsert many items in one usearch call; the way to rebuild from a topic.

        When an item id repeats, its last occurrence wins, as in a compacted topic.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.ndim:
            raise DimensionMismatch(f"expected vectors of shape (n, {self.ndim}), got {vectors.shape}")
        if not len(item_ids) == len(vectors) == len(restaurant_ids) == len(available):
            raise ValueError("item_ids, vectors, restaurant_ids and available differ in length")
        last = {item_id: row for row, item_id in enumerate(item_ids)}
        rows = np.fromiter(last.values(), dtype=np.int64, count=len(last))
        vectors = _normalised(self._projected(vectors[rows]))

        keys = np.fromiter((item_key(i) for i in last), dtype=np.uint64, count=len(last))
        for item_id, key in zip(last, keys.tolist()):
            owner = self._by_key.get(key)
            if owner is not None and owner != item_id:
                raise IndexKeyCollision(f"item ids {owner!r} and {item_id!r} share index key {key}")

        known = [self.is_available(item_id) for item_id in last]
        if any(known):
            self._index.remove(keys[np.asarray(known)])
        add = np.fromiter((bool(available[r]) for r in rows), dtype=bool, count=len(rows))
        if add.any():
            self._index.add(keys[add], vectors[add], threads=self.threads)

        for item_id, key, row, is_available in zip(last, keys.tolist(), rows, add):
            previous = self._restaurant.get(item_id)
            if previous is not None and previous != restaurant_ids[row]:
                self._by_restaurant[previous].discard(item_id)
                if not self._by_restaurant[previous]:
                    del self._by_restaurant[previous]
            self._restaurant[item_id] = restaurant_ids[row]
            self._by_key[key] = item_id
            self._by_restaurant.setdefault(restaurant_ids[row], set()).add(item_id)
            if is_available:
                self._unavailable.discard(item_id)
            else:
                self._unavailable.add(item_id)

    def delete(self, item_id: str) -> bool:
        """Forget an item; returns whether it was known."""
        restaurant_id = self._restaurant.pop(item_id, None)
        if restaurant_id is None:
            return False
        key = item_key(item_id)
        if item_id in self._unavailable:
            self._unavailable.discard(item_id)
        else:
            self._index.remove(key)
        del self._by_key[key]
        self._by_restaurant[restaurant_id].discard(item_id)
        if not self._by_restaurant[restaurant_id]:
            del self._by_restaurant[restaurant_id]
        return True

    def items_of(self, restaurant_id: str, *, available_only: bool = True) -> list[str]:
        """A restaurant's item ids, sorted; only the available ones unless asked otherwise."""
        items = self._by_restaurant.get(restaurant_id, ())
        return sorted(i for i in items if not (available_only and i in self._unavailable))

    def score(self, vector, item_ids: Iterable[str]) -> list[tuple[str, float]]:
        """Cosine of ``vector`` with each available item's stored vector, best first: exact
        but for the storage type, and of the projected vectors when there is a projection.

        Unknown, deleted and unavailable ids are left out: a menu is small, so a
        restaurant's candidates are scored this way.
        """
        query = self._query(vector)
        ids = [i for i in dict.fromkeys(item_ids) if self.is_available(i)]
        if not ids:
            return []
        keys = np.fromiter((item_key(i) for i in ids), dtype=np.uint64, count=len(ids))
        stored = self._index.get(keys, dtype=np.float32)
        # usearch stores f16/i8 approximations of unit vectors: renormalise before the dot.
        scores = _normalised(np.vstack(stored)) @ query
        order = np.argsort(-scores, kind="stable")
        return [(ids[i], float(scores[i])) for i in order]

    def search(
        self,
        vector,
        k: int,
        restaurant_id: str | None = None,
        exclude: Iterable[str] = frozenset(),
    ) -> list[tuple[str, float]]:
        """The ``k`` available items nearest to ``vector``, as (item_id, cosine), best first.

        Parameters
        ----------
        vector
            Query vector of length ``ndim``; need not be normalised.
        k
            Most results wanted.
        restaurant_id
            Only items of this restaurant; answered by exact scoring of its items.
        exclude
            Item ids never to return (e.g. already in the cart).
        """
        if k <= 0:
            return []
        exclude = frozenset(exclude)
        if restaurant_id is not None:
            candidates = (i for i in self._by_restaurant.get(restaurant_id, ()) if i not in exclude)
            return self.score(vector, candidates)[:k]
        query = self._query(vector)
        # Every graph member is available, so only excluded ids can be filtered out.
        wanted = min(k + len(exclude), len(self._index))
        if wanted == 0:
            return []
        results = self._filtered(self._index.search(query, wanted, threads=1), exclude, k)
        eligible = len(self._index) - sum(1 for i in exclude if self.is_available(i))
        if len(results) < min(k, eligible):
            # HNSW returned too few (possible right after many removals): scan exactly.
            results = self._filtered(self._index.search(query, wanted, threads=1, exact=True), exclude, k)
        return results

    def projected(self, projection: np.ndarray, vectors) -> VectorIndex:
        """A new index of the same items, restaurants and availability, built over
        ``projection`` of their vectors; ``vectors`` maps item ids to (unprojected) vectors,
        and an item it lacks is left out (a reader forgets the vector of an item deleted from
        the menu before the item's own tombstone reaches the index)."""
        return self.empty_projected(projection).filled(self.contents(vectors))

    def empty_projected(self, projection: np.ndarray) -> VectorIndex:
        """An empty index configured as this one, over ``projection``."""
        return VectorIndex(**self._config, threads=self.threads, projection=projection)

    def contents(self, vectors, only: Iterable[str] | None = None) -> Contents:
        """A copy of what this index holds (of the items ``only``, if given), with each
        item's vector from ``vectors`` (an item missing there is left out, as in `projected`)."""
        held = self._restaurant if only is None else (i for i in only if i in self._restaurant)
        ids = sorted(i for i in held if i in vectors)
        stacked = np.stack([vectors[i] for i in ids]) if ids else None
        return Contents(ids, stacked, [self._restaurant[i] for i in ids], [self.is_available(i) for i in ids])

    def filled(self, contents: Contents) -> VectorIndex:
        """This index with ``contents`` upserted."""
        if contents.ids:
            self.upsert_many(contents.ids, contents.vectors, contents.restaurants, contents.available)
        return self

    def save(self, path: Path | str, offsets: dict[str, int]) -> None:
        """Snapshot the index, its item metadata and the input offsets it covers.

        The snapshot is written beside ``path`` and swapped in whole, so a crash leaves
        either the old snapshot or the new one, never a mix.

        Parameters
        ----------
        path
            Snapshot directory.
        offsets
            The next offset to read per input partition, e.g. ``{"item-vectors:0": 1234}``;
            a consumer restoring the snapshot resumes from there.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "config": self._config,
            "offsets": dict(offsets),
            "items": list(self._restaurant.items()),
            "unavailable": sorted(self._unavailable),
        }
        stage = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
        try:
            self._index.save(str(stage / _INDEX_FILE))
            if self.projection is not None:
                np.save(stage / _PROJECTION_FILE, self.projection)
            (stage / _META_FILE).write_bytes(orjson.dumps(meta))
            if path.exists():
                retired = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-old-"))
                os.replace(path, retired / "snapshot")
                os.replace(stage, path)
                shutil.rmtree(retired)
            else:
                os.replace(stage, path)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: Path | str, *, threads: int = 0) -> tuple["VectorIndex", dict[str, int]]:
        """Restore a snapshot written by `save`; returns the index and its offsets.

        Raises
        ------
        SnapshotNotFound
            When ``path`` holds no snapshot.
        """
        path = Path(path)
        if not (path / _META_FILE).is_file():
            raise SnapshotNotFound(f"no vector-index snapshot at {path}; rebuild from the item-vectors topic")
        meta = orjson.loads((path / _META_FILE).read_bytes())
        projection = np.load(path / _PROJECTION_FILE) if (path / _PROJECTION_FILE).is_file() else None
        index = cls(**meta["config"], threads=threads, projection=projection)
        index._index.load(str(path / _INDEX_FILE))
        index._unavailable = set(meta["unavailable"])
        for item_id, restaurant_id in meta["items"]:
            index._restaurant[item_id] = restaurant_id
            index._by_key[item_key(item_id)] = item_id
            index._by_restaurant.setdefault(restaurant_id, set()).add(item_id)
        return index, meta["offsets"]

    def _query(self, vector) -> np.ndarray:
        query = np.asarray(vector, dtype=np.float32)
        if query.shape != (self.ndim,):
            raise DimensionMismatch(f"expected a vector of shape ({self.ndim},), got {query.shape}")
        return _normalised(self._projected(query))

    def _projected(self, vectors: np.ndarray) -> np.ndarray:
        return vectors if self.projection is None else vectors @ self.projection

    def _filtered(self, matches, exclude: frozenset[str], k: int) -> list[tuple[str, float]]:
        if not exclude:  # the recommender's case: one pass in C, not a Python loop
            ids = map(self._by_key.__getitem__, matches.keys[:k].tolist())
            return list(zip(ids, (1.0 - matches.distances[:k]).tolist()))
        results = []
        for key, distance in zip(matches.keys.tolist(), matches.distances.tolist()):
            item_id = self._by_key[key]
            if item_id not in exclude:
                results.append((item_id, 1.0 - distance))
                if len(results) == k:
                    break
        return results
