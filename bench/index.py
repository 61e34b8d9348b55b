"""Benchmark `VectorIndex`: recall@50 against exact search, latency per query, insertion speed.

Random normalised 384-d vectors are the hard case for HNSW (no cluster structure, full
intrinsic dimension); real embeddings are easier. For each size the script builds the
index through `VectorIndex.upsert_many` (the rebuild path), then for each
``expansion_search`` measures recall@50 of `search` against a brute-force numpy top-50
and one-thread latency per query. It also times upserts of existing items (remove + add),
the restaurant-filtered search (exact scoring of one restaurant's items), and a snapshot
save/load. Prints a summary and writes ``bench/results/index.json``.

Usage::

    .venv/bin/python bench/index.py            # 100k dtype sweep, then 1M (about 10 min)
    .venv/bin/python bench/index.py --quick    # 100k only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cartstream.models.vector_index import VectorIndex

HERE = Path(__file__).resolve().parent
DIM = 384
K = 50
QUERIES = 100
ITEMS_PER_RESTAURANT = 80


def load() -> float:
    """One-minute load average: how busy the shared machine was."""
    return round(os.getloadavg()[0], 2)


def unit_vectors(n: int, seed: int, rank: int | None = None) -> np.ndarray:
    """``n`` random unit vectors, made in chunks to bound peak memory.

    With ``rank``, the vectors span a random ``rank``-dimensional subspace: a stand-in
    for real sentence embeddings, whose intrinsic dimension is far below 384.
    """
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(12345).standard_normal((rank, DIM), dtype=np.float32) if rank else None
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        chunk = rng.standard_normal((m, rank), dtype=np.float32) @ basis if rank else rng.standard_normal((m, DIM), dtype=np.float32)
        out[start : start + m] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row positions of the k highest inner products per query (brute force)."""
    best = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        best[start : start + 50] = top
    return best


def build(vectors: np.ndarray, batch: int, **config) -> tuple[VectorIndex, float]:
    """A filled index and its insertion rate (vectors/s) through upsert_many."""
    index = VectorIndex(DIM, **config)
    ids = [f"item-{i}" for i in range(len(vectors))]
    restaurants = [f"restaurant-{i // ITEMS_PER_RESTAURANT}" for i in range(len(vectors))]
    available = [True] * len(vectors)
    start = time.perf_counter()
    for s in range(0, len(vectors), batch):
        index.upsert_many(ids[s : s + batch], vectors[s : s + batch], restaurants[s : s + batch], available[s : s + batch])
    return index, len(vectors) / (time.perf_counter() - start)


def recall_and_latency(index: VectorIndex, queries: np.ndarray, truth: np.ndarray) -> dict:
    """Mean recall@K of `search` and its one-thread latency per query."""
    hits, latencies = 0, []
    for query, expected in zip(queries, truth):
        start = time.perf_counter()
        found = index.search(query, K)
        latencies.append(time.perf_counter() - start)
        hits += len({int(item_id[5:]) for item_id, _ in found} & set(expected.tolist()))
    ms = np.array(latencies) * 1000
    return {"recall_at_50": round(hits / truth.size, 4), "ms_mean": round(float(ms.mean()), 3),
            "ms_p50": round(float(np.median(ms)), 3), "ms_p99": round(float(np.percentile(ms, 99)), 3),
            "load": load()}


def measure(n: int, configs: list[dict], expansions: list[int], rank: int | None = None) -> list[dict]:
    vectors = unit_vectors(n, seed=n, rank=rank)
    queries = unit_vectors(QUERIES, seed=1, rank=rank)
    truth = exact_top_k(vectors, queries, K)
    data = f"rank-{rank}" if rank else "random"
    rows = []
    for config in configs:
        index, rate = build(vectors, batch=50_000, **config)
        row = {"n": n, "data": data, "config": config, "insert_vectors_per_s": round(rate), "load_after_build": load()}
        print(f"n={n:,} {data} {config}: built at {rate:,.0f} vectors/s (load {load()})", flush=True)
        row["search"] = []
        for ef in expansions:
            index.expansion_search = ef
            r = {"expansion_search": ef, **recall_and_latency(index, queries, truth)}
            row["search"].append(r)
            print(f"  expansion_search={ef}: recall@50 {r['recall_at_50']:.4f}, "
                  f"{r['ms_mean']:.3f} ms/query (p99 {r['ms_p99']:.3f}, load {r['load']})", flush=True)

        replaced = 10_000
        ids = [f"item-{i}" for i in range(replaced)]
        start = time.perf_counter()
        index.upsert_many(ids, unit_vectors(replaced, seed=n + 1),
                          [f"restaurant-{i // ITEMS_PER_RESTAURANT}" for i in range(replaced)], [True] * replaced)
        row["replace_vectors_per_s"] = round(replaced / (time.perf_counter() - start))
        start = time.perf_counter()
        for i in range(200):
            index.upsert(f"item-{i}", queries[i % len(queries)], f"restaurant-{i // ITEMS_PER_RESTAURANT}", True)
        row["single_upsert_ms"] = round((time.perf_counter() - start) / 200 * 1000, 3)
        print(f"  replace existing (batch): {row['replace_vectors_per_s']:,} vectors/s; "
              f"one upsert: {row['single_upsert_ms']} ms", flush=True)

        restaurants = [f"restaurant-{i}" for i in range(0, n // ITEMS_PER_RESTAURANT, max(1, n // ITEMS_PER_RESTAURANT // 200))]
        start = time.perf_counter()
        for q, r in zip(queries, restaurants):
            index.search(q, 10, restaurant_id=r, exclude={f"item-{int(r.split('-')[1]) * ITEMS_PER_RESTAURANT}"})
        row["restaurant_search_ms"] = round((time.perf_counter() - start) / min(len(queries), len(restaurants)) * 1000, 3)
        print(f"  restaurant-filtered search ({ITEMS_PER_RESTAURANT} items, exact): "
              f"{row['restaurant_search_ms']} ms/query", flush=True)

        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            index.save(Path(tmp) / "snapshot", {"item-vectors:0": n})
            row["save_s"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            restored, offsets = VectorIndex.load(Path(tmp) / "snapshot")
            row["load_s"] = round(time.perf_counter() - start, 2)
            assert len(restored) == len(index) and offsets == {"item-vectors:0": n}
        print(f"  snapshot save {row['save_s']} s, load {row['load_s']} s", flush=True)
        rows.append(row)
        del index, restored
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k vectors only")
    args = parser.parse_args()

    results = {"machine": {"cores": os.cpu_count(), "load_at_start": load()}, "k": K, "dim": DIM,
               "queries": QUERIES, "runs": []}
    started = time.perf_counter()
    out = HERE / "results" / "index.json"
    out.parent.mkdir(exist_ok=True)
    dtypes = [{"dtype": d} for d in ("f16", "i8")]
    cases = [(100_000, dtypes, [64, 128, 256], None), (100_000, dtypes, [64, 128, 256], 32)]
    if not args.quick:
        cases.append((1_000_000, [{"dtype": "f16"}], [128, 256], None))
    for n, configs, expansions, rank in cases:
        results["runs"] += measure(n, configs, expansions, rank)
        results["seconds"] = round(time.perf_counter() - started)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        # Written after every case: the 1M build is long, and what was measured is kept.
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"done in {results['seconds']} s, peak RSS {results['peak_rss_mb']} MB; wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
