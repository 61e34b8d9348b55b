"""How far simple next-item signals go on the Instacart subset: the ceiling behind the HR goal.

`cartstream evaluate` judges the product against popularity on the real carts. This
script asks what any system fed the same information could reach: it replays the orders
in process, in order-id order (the evaluation's order), and before each add except the
first of its order ranks every product added so far, minus the cart, by a handful of
scorers built from the signals a session-only recommender has:

- ``popularity``: adds so far (the evaluation's baseline);
- ``co_visitation``: times each product was in one order with any item of this cart;
- ``similarity``: cosine of the product's embedding (the text cartstream embeds, the
  exported all-MiniLM-L6-v2) with the cart's mean embedding, tie-broken by popularity;
- ``blend``: log(1 + popularity) + ``a`` * similarity + ``b`` * log(1 + co-visitation),
  over a small grid of ``a`` and ``b``; the grid's best is an optimistic ceiling (tuned on
  the data it is judged on).

The subset has no user ids: each order is its own diner, so the signal that dominates real
grocery carts (a diner's own past orders; 60% of these adds are reorders) is not there.

Usage::

    .venv/bin/python bench/instacart_signals.py PATH/instacart-subset [--orders N]

Prints HR@10 and NDCG@10 per scorer with the ratio to popularity and writes
``bench/results/instacart_signals.json``. Product embeddings are cached under the
cartstream cache folder, never in the repository (the data's terms).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from cartstream.models.embedder import TextEmbedder  # noqa: E402
from cartstream.operators.datasets import START_MS, read_instacart  # noqa: E402
from cartstream.operators.item_text import item_text  # noqa: E402
from cartstream.topologies.settings import Settings  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "instacart_signals.json"
K = 10
BLEND_GRID = [(a, b) for a in (2.0, 5.0, 10.0) for b in (0.5, 1.0, 2.0)]


def embeddings(products: list, settings: Settings) -> np.ndarray:
    """One normalised vector per product, cached by model id and product ids."""
    embedder = TextEmbedder(settings.embed_model_dir())
    key = hashlib.sha256("\n".join(p.item_id for p in products).encode()).hexdigest()[:12]
    cache = settings.cache_dir / "bench" / f"instacart-{embedder.model_id}-{len(products)}-{key}.npy"
    if cache.exists():
        return np.load(cache)
    texts = [item_text(p.menu_item(START_MS)) for p in products]
    started = time.perf_counter()
    vectors = embedder.embed_many(texts).astype(np.float32)
    print(f"embedded {len(texts):,} products in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def judge(scores: np.ndarray, known: np.ndarray, cart: list[int], target: int) -> tuple[int, float]:
    """(hit, NDCG) of the top K of ``scores`` over known products not in the cart."""
    s = np.where(known, scores, -np.inf)
    s[cart] = -np.inf
    top = np.argpartition(-s, K)[:K]
    top = [int(t) for t in top[np.argsort(-s[top], kind="stable")] if np.isfinite(s[t])]
    if target not in top:
        return 0, 0.0
    return 1, 1.0 / math.log2(top.index(target) + 2)


def replay(log, vectors: np.ndarray, index: dict[str, int]) -> tuple[dict[str, list[float]], int]:
    n = len(index)
    popularity = np.zeros(n)
    known = np.zeros(n, dtype=bool)
    together: dict[int, Counter] = defaultdict(Counter)
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    judged = 0
    for order in log.orders:
        cart: list[int] = []
        for target in (index[item_id] for item_id in order.item_ids):
            if cart:
                judged += 1
                covis = np.zeros(n)
                for c in cart:
                    for j, count in together[c].items():
                        covis[j] += count
                taste = vectors[cart].mean(axis=0)
                similarity = vectors @ (taste / np.linalg.norm(taste))
                log_pop, log_covis = np.log1p(popularity), np.log1p(covis)
                scorers = {
                    "popularity": popularity,
                    "co_visitation": covis + 1e-6 * popularity,
                    "similarity": similarity + 1e-6 * popularity,
                    **{f"blend a={a:g} b={b:g}": log_pop + a * similarity + b * log_covis for a, b in BLEND_GRID},
                }
                for name, scores in scorers.items():
                    hit, ndcg = judge(scores, known, cart, target)
                    totals[name][0] += hit
                    totals[name][1] += ndcg
            for c in cart:
                together[c][target] += 1
                together[target][c] += 1
            popularity[target] += 1
            known[target] = True
            cart.append(target)
    return totals, judged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the instacart-subset folder")
    parser.add_argument("--orders", type=int, default=None, help="first N orders (default all)")
    args = parser.parse_args()
    log = read_instacart(args.path, orders=args.orders)
    products = sorted(log.products.values(), key=lambda p: p.item_id)
    index = {p.item_id: n for n, p in enumerate(products)}
    vectors = embeddings(products, Settings())
    started = time.perf_counter()
    totals, judged = replay(log, vectors, index)
    popularity_hr = totals["popularity"][0] / judged
    report = {"orders": len(log.orders), "adds_judged": judged, "seconds": round(time.perf_counter() - started, 1),
              "scorers": {}}
    print(f"{len(log.orders):,} orders, {judged:,} adds judged")
    for name, (hits, ndcg) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
        hr = hits / judged
        report["scorers"][name] = {"hr@10": round(hr, 4), "ndcg@10": round(ndcg / judged, 4),
                                   "vs_popularity": round(hr / popularity_hr, 3)}
        print(f"{name:24s} HR@10 {hr:.4f}  NDCG@10 {ndcg / judged:.4f}  x{hr / popularity_hr:.2f} popularity")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
