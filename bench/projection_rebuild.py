"""How long the recommender's stream waits when its catalog grows past ``vector_projection_after``.

At that size the vector index is rebuilt once over a 64-d projection (`ModelStore`). In
the foreground (a replay, or a recommender loading its tables) the flush that crosses it
rebuilds under the tables' lock, so the stream waits for the whole rebuild; in the
background (a live recommender once loaded) a thread builds the new index while the old
one serves, and a later flush swaps it in.

The data is bench/index.py's embedding-like vectors. For each mode the script loads
`ModelIndexes` with vectors up to just short of ``--fit-after`` (not timed), then goes on
to ``--items`` vectors in flushes of 500 (as the table reader does), with one search with
a taste vector after every flush (as the stream does between table batches). It reports
the longest flush (the stream's longest wait for the tables' lock), search latency
p50/p99/max (a search flushes first) from then until the projected index serves, and how
long after the crossing that was. Prints the figures and writes
``bench/results/projection_rebuild.json``.

Usage::

    .venv/bin/python bench/projection_rebuild.py [--items 102000] [--fit-after 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from index import FLUSH_EVERY, ITEMS_PER_RESTAURANT, TOPIC, derived_vectors, load, menu_embeddings, taste_queries  # noqa: E402

from cartstream.operators.model_indexes import ModelIndexes  # noqa: E402
from cartstream.topologies.global_tables import SEARCH  # noqa: E402

RESULTS = HERE / "results" / "projection_rebuild.json"


def run(vectors: np.ndarray, queries: np.ndarray, fit_after: int, background: bool) -> dict:
    """Load the indexes short of ``fit_after``, then grow them past it, searching after
    every flush; the timings from then on."""
    indexes = ModelIndexes(TOPIC, fit_after=fit_after, **SEARCH)
    loaded = (fit_after - 1) // FLUSH_EVERY * FLUSH_EVERY
    for start in range(0, loaded, FLUSH_EVERY):
        for row in range(start, start + FLUSH_EVERY):
            indexes.upsert(f"item-{row}", "bench", vectors[row], f"restaurant-{row // ITEMS_PER_RESTAURANT}", True)
        indexes.flush()
    if background:
        indexes.project_in_background()
    flushes, searches = [], []

    def search() -> None:
        began = time.perf_counter()
        indexes.search(queries[len(searches) % len(queries)], k=50)
        searches.append(time.perf_counter() - began)

    crossed_at = time.perf_counter()
    for start in range(loaded, len(vectors), FLUSH_EVERY):
        for row in range(start, min(start + FLUSH_EVERY, len(vectors))):
            indexes.upsert(f"item-{row}", "bench", vectors[row], f"restaurant-{row // ITEMS_PER_RESTAURANT}", True)
        began = time.perf_counter()
        indexes.flush()
        flushes.append(time.perf_counter() - began)
        search()
    while indexes.active_store.index.projection is None:  # the catalog stopped growing: a search swaps it in
        search()
    projected_at = time.perf_counter()
    ms = np.array(searches) * 1000
    return {"mode": "background" if background else "foreground",
            "longest_flush_ms": round(max(flushes) * 1000, 1),
            "search_ms": {"p50": round(float(np.percentile(ms, 50)), 2), "p99": round(float(np.percentile(ms, 99)), 2),
                          "max": round(float(ms.max()), 1), "n": len(ms)},
            "projected_after_crossing_s": round(projected_at - crossed_at, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=102_000, help="vectors in the end (default 102000)")
    parser.add_argument("--fit-after", type=int, default=100_000, help="vectors at which the index is projected")
    args = parser.parse_args()
    base, held_out = menu_embeddings(6000, seed=11), menu_embeddings(1000, seed=12)
    vectors, queries = derived_vectors(base, args.items, seed=0), taste_queries(held_out, 200, seed=1)
    results = {"items": args.items, "fit_after": args.fit_after, "load_at_start": load(), "runs": []}
    for background in (False, True):
        result = run(vectors, queries, args.fit_after, background)
        results["runs"].append(result)
        s = result["search_ms"]
        print(f"{result['mode']:>10}: longest flush {result['longest_flush_ms']:,.0f} ms; searches until the "
              f"projected index served p50 {s['p50']} / p99 {s['p99']} / max {s['max']:,.0f} ms (n={s['n']}); "
              f"it served {result['projected_after_crossing_s']} s after the crossing", flush=True)
    results["load_at_end"] = load()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
