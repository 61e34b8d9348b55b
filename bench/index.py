"""Benchmark the recommender's vector search: recall@50 against exact search, latency, build speed.

The data is embedding-like, not random. 6,000 synthetic menu texts (`menu_texts.py`, seed
11) are embedded once with the exported all-MiniLM-L6-v2 ONNX model (cached under
``bench/results/``). Each of the n indexed vectors is normalise(l*a + (1-l)*b + 0.5*g): a
and b are two of those real embeddings drawn at random, l ~ U(0.5, 1), and g is Gaussian
noise with the real embeddings' own covariance; so the vectors sit near and between real
menu items, with the spectrum of real embeddings. Queries are what the recommender
searches with, taste vectors: the normalised mean of 1 to 4 embeddings of 1,000 *other*
menu texts (seed 12), never indexed. The script prints the cosine of each query's 1st and
50th exact neighbour, for the real 6,000 and for the derived set, as a sanity check.

Every configuration runs the recommender's own path, `ModelIndexes`: records are buffered
and flushed into the index every 500 (as the table reader does after each batch; from
``fit_after`` vectors on the graph holds a projection of them, see `ModelStore`), and a
search takes ``candidates`` (``projected_candidates`` in a projected graph) neighbours from
the HNSW graph and ranks them by exact float32 cosine. It reports the build rate (wall and
CPU), recall@50 of `search` against a brute-force numpy top 50, and one-thread latency per query (wall and CPU: the machine is
shared, and CPU time is what a query costs when it has a core to itself). It also times
decoding `item-vectors` records (the other half of a rebuild from the topic) and a
snapshot restore. Prints a summary and writes ``bench/results/index.json``.

Usage::

    .venv/bin/python bench/index.py            # 100k sweep, then 1M with the chosen defaults
    .venv/bin/python bench/index.py --quick    # 10k, defaults only (under a minute)
    .venv/bin/python bench/index.py --sizes 1000000 --connectivity 32 --expansion-add 128   # a denser graph

A projected graph's run also reports the recall of exact search in the projected space,
ranked by exact cosine: the most any graph over that projection could give.
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

# One BLAS thread: the goal is latency on one thread, and on a shared 2-core machine a
# second OpenBLAS thread makes a small matrix-vector product ten times slower, not faster.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from menu_texts import menu_texts  # noqa: E402

from cartstream.operators.model_indexes import ModelIndexes  # noqa: E402
from cartstream.schemas import ItemVector  # noqa: E402
from cartstream.topologies.global_tables import SEARCH  # noqa: E402
from cartstream.topologies.settings import Settings  # noqa: E402
from cartstream.topologies.vector_snapshot import VectorSnapshot  # noqa: E402

K = 50
QUERIES = 200
FLUSH_EVERY = 500
ITEMS_PER_RESTAURANT = 80
TOPIC = "item-vectors"


def load() -> float:
    """One-minute load average: how busy the shared machine was."""
    return round(os.getloadavg()[0], 2)


def menu_embeddings(n: int, seed: int) -> np.ndarray:
    """Embeddings of ``menu_texts(n, seed)`` by the exported ONNX model, cached on disk."""
    settings = Settings()
    cache = HERE / "results" / f"menu-embeddings-{settings.embed_model}-{n}-{seed}.npy"
    if not cache.exists():
        from cartstream.models.embedder import TextEmbedder

        started = time.perf_counter()
        vectors = TextEmbedder(settings.embed_model_dir()).embed_many(menu_texts(n, seed=seed))
        print(f"embedded {n} menu texts in {time.perf_counter() - started:.0f} s (cached in {cache})", flush=True)
        cache.parent.mkdir(exist_ok=True)
        np.save(cache, vectors)
    return np.load(cache)


def derived_vectors(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors near and between the real embeddings ``base`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov((base - base.mean(0)).T))
    noise_basis = (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0))).T.astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        a, b = base[rng.integers(0, len(base), m)], base[rng.integers(0, len(base), m)]
        mix = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
        v = mix * a + (1 - mix) * b + 0.5 * (rng.standard_normal((m, base.shape[1]), dtype=np.float32) @ noise_basis)
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def taste_queries(held_out: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Taste vectors: the normalised mean of 1 to 4 held-out embeddings each."""
    rng = np.random.default_rng(seed)
    queries = np.stack([held_out[rng.choice(len(held_out), rng.integers(1, 5), replace=False)].mean(0)
                        for _ in range(n)])
    return (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the k highest cosines per query, and the 1st and k-th cosine."""
    best = np.empty((len(queries), k), dtype=np.int64)
    edges = np.empty((len(queries), 2), dtype=np.float32)
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        best[start : start + 50] = top
        ranked = -np.sort(-np.take_along_axis(scores, top, axis=1), axis=1)
        edges[start : start + 50] = ranked[:, [0, k - 1]]
    return best, edges


def build(vectors: np.ndarray, candidates: int, config: dict) -> tuple[ModelIndexes, dict]:
    """The recommender's indexes filled with ``vectors``, and the build rates."""
    indexes = ModelIndexes(TOPIC, candidates=candidates, **config)
    wall, cpu = time.perf_counter(), time.process_time()
    for row, vector in enumerate(vectors):
        indexes.upsert(f"item-{row}", "bench", vector, f"restaurant-{row // ITEMS_PER_RESTAURANT}", True)
        if row % FLUSH_EVERY == FLUSH_EVERY - 1:
            indexes.flush()
    indexes.flush()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return indexes, {"vectors_per_s": round(len(vectors) / wall), "cpu_vectors_per_s": round(len(vectors) / cpu)}


def recall_and_latency(indexes: ModelIndexes, queries: np.ndarray, truth: np.ndarray) -> dict:
    """Mean recall@K of `search`, and its one-thread latency per query (wall and CPU)."""
    hits, wall, cpu = 0, [], []
    for query, expected in zip(queries, truth):
        w, c = time.perf_counter(), time.process_time()
        found = indexes.search(query, K)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
        hits += len({int(item_id[5:]) for item_id, _ in found} & set(expected.tolist()))
    ms = np.array(wall) * 1000
    return {"recall_at_50": round(hits / truth.size, 4), "ms_mean": round(float(ms.mean()), 3),
            "ms_p50": round(float(np.median(ms)), 3), "ms_p99": round(float(np.percentile(ms, 99)), 3),
            "cpu_ms_mean": round(float(np.mean(cpu)) * 1000, 3), "load": load()}


def projected_exact_recall(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, projection: np.ndarray,
                           candidates: int) -> float:
    """Recall@K of taking the exact top ``candidates`` in the projected space and ranking them
    by exact cosine: the ceiling of a graph over that projection."""
    projected = vectors @ projection
    projected /= np.linalg.norm(projected, axis=1, keepdims=True)
    hits = 0
    for query, expected in zip(queries, truth):
        q = query @ projection
        scores = projected @ (q / np.linalg.norm(q))
        found = np.argpartition(-scores, candidates)[:candidates]
        best = found[np.argsort(-(vectors[found] @ query))[:K]]
        hits += len(set(best.tolist()) & set(expected.tolist()))
    return round(hits / truth.size, 4)


def dot_ns() -> float:
    """CPU nanoseconds per 384-d float32 dot product in a one-thread numpy product over 4,000
    rows: how fast this machine is at the moment, to read the other numbers by."""
    rows, query = np.random.default_rng(0).random((4000, 384), dtype=np.float32), np.ones(384, dtype=np.float32)
    started = time.process_time()
    for _ in range(200):
        rows @ query
    return (time.process_time() - started) / 200 / len(rows) * 1e9


def decode_rate(vectors: np.ndarray) -> float:
    """`item-vectors` records decoded per second (JSON, schema, base64 to float32)."""
    records = [ItemVector.from_array(v, item_id=f"item-{i}", restaurant_id="r1", model_id="bench", text_hash="h",
                                     available=True, name="Butter Chicken", category="main", cuisine="indian",
                                     price=12.5, veg=False, event_time=1732540000000).to_json()
               for i, v in enumerate(vectors[:20_000])]
    started = time.perf_counter()
    for record in records:
        ItemVector.from_json(record).vector_array()
    return len(records) / (time.perf_counter() - started)


def restore_rate(indexes: ModelIndexes, n: int) -> float:
    """Vectors per second restored from a snapshot (what a restarted recommender does)."""
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = VectorSnapshot(Path(tmp), TOPIC)
        snapshot.save(indexes, {(TOPIC, 0): n})
        started = time.perf_counter()
        assert snapshot.load(ModelIndexes(TOPIC)) == {(TOPIC, 0): n}
        return n / (time.perf_counter() - started)


def measure(n: int, runs: list[tuple[dict, list[int], list[int]]], base: np.ndarray, held_out: np.ndarray) -> list[dict]:
    """Build each index configuration over n derived vectors and sweep its search settings."""
    vectors = derived_vectors(base, n, seed=n)
    queries = taste_queries(held_out, QUERIES, seed=1)
    truth, edges = exact_top_k(vectors, queries, K)
    profile = {"cos_1st": round(float(edges[:, 0].mean()), 3), "cos_50th": round(float(edges[:, 1].mean()), 3)}
    print(f"n={n:,}: query cosine to exact neighbour 1 / 50: {profile['cos_1st']} / {profile['cos_50th']}", flush=True)
    rows = []
    for config, candidate_counts, expansions in runs:
        indexes, rates = build(vectors, candidate_counts[0], config)
        row = {"n": n, "data_profile": profile, "config": config, "build": rates, "load_after_build": load()}
        print(f"n={n:,} {config}: built at {rates['vectors_per_s']:,} vectors/s "
              f"(CPU {rates['cpu_vectors_per_s']:,}/s, load {load()})", flush=True)
        row["search"] = []
        projection = indexes.current.index.projection
        if projection is not None:
            # What the graph could give at best: the exact nearest in the projected space.
            row["projected_exact_recall_at_50"] = {str(c): projected_exact_recall(vectors, queries, truth, projection, c)
                                                   for c in candidate_counts}
            print(f"  exact search in the projected space: recall@50 {row['projected_exact_recall_at_50']} "
                  "by candidates", flush=True)
        for candidates in candidate_counts:
            for expansion in expansions:
                indexes.candidates = indexes.projected_candidates = candidates
                indexes.current.index.expansion_search = expansion
                r = {"candidates": candidates, "expansion_search": expansion,
                     **recall_and_latency(indexes, queries, truth)}
                row["search"].append(r)
                print(f"  candidates={candidates} expansion_search={expansion}: recall@50 {r['recall_at_50']:.4f}, "
                      f"{r['ms_mean']:.3f} ms/query (CPU {r['cpu_ms_mean']:.3f}, p99 {r['ms_p99']:.3f}, "
                      f"load {r['load']})", flush=True)
        row["snapshot_restore_vectors_per_s"] = round(restore_rate(indexes, n))
        print(f"  snapshot restore: {row['snapshot_restore_vectors_per_s']:,} vectors/s", flush=True)
        rows.append(row)
        del indexes
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k vectors, the defaults only (under a minute)")
    parser.add_argument("--sizes", default="100000,1000000", help="sizes of the full run (default 100000,1000000)")
    parser.add_argument("--connectivity", type=int, help=f"graph degree (default {SEARCH['connectivity']})")
    parser.add_argument("--expansion-add", type=int, help=f"build breadth (default {SEARCH['expansion_add']})")
    args = parser.parse_args()

    started = time.perf_counter()
    base, held_out = menu_embeddings(6000, seed=11), menu_embeddings(1000, seed=12)
    _, edges = exact_top_k(base, taste_queries(held_out, QUERIES, seed=1), K)
    defaults = {k: v for k, v in SEARCH.items() if k not in ("candidates", "projected_candidates")}
    defaults["fit_after"] = Settings().vector_projection_after
    if args.connectivity is not None:
        defaults["connectivity"] = args.connectivity
    if args.expansion_add is not None:
        defaults["expansion_add"] = args.expansion_add
    results = {"machine": {"cores": os.cpu_count(), "load_at_start": load(), "dot_ns": round(dot_ns(), 1)}, "k": K, "queries": QUERIES,
               "defaults": SEARCH, "real_embeddings_profile": {"n": len(base), "cos_1st": round(float(edges[:, 0].mean()), 3),
                                                               "cos_50th": round(float(edges[:, 1].mean()), 3)},
               "runs": []}
    print(f"machine: {results['machine']['dot_ns']} ns per 384-d float32 dot product (numpy), load {load()}")
    print(f"6,000 real menu embeddings: query cosine to exact neighbour 1 / 50: "
          f"{results['real_embeddings_profile']['cos_1st']} / {results['real_embeddings_profile']['cos_50th']}")
    results["decode_records_per_s"] = round(decode_rate(derived_vectors(base, 20_000, seed=0)))
    print(f"decoding item-vectors records: {results['decode_records_per_s']:,} records/s", flush=True)

    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    out = HERE / "results" / ("index-quick.json" if args.quick else "index.json")
    out.parent.mkdir(exist_ok=True)
    for n in sizes:
        if args.quick:
            runs = [(defaults, [SEARCH["candidates"]], [16, 64])]
        elif n >= 1_000_000:
            runs = [(defaults, [SEARCH["projected_candidates"], 2 * SEARCH["projected_candidates"]], [16, 64])]
        else:
            runs = [(defaults, [50, 100, 200, 400], [16, 64]), ({**defaults, "dtype": "f16"}, [100, 200], [16])]
        results["runs"] += measure(n, runs, base, held_out)
        results["seconds"] = round(time.perf_counter() - started)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        # Written after every size: the 1M build is long, and what was measured is kept.
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"done in {results['seconds']} s, peak RSS {results['peak_rss_mb']} MB; wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
