"""Per-event cost of the recommender's step in process, without Kafka: `recommend` plus the
per-user state round trip (`UserState.to_dict` -> orjson -> `from_dict`, as in Quix state).

The tables are the ones bench/recommender.py publishes (10k items with embedding-like vectors,
item-stats with trending and 3 neighbours per item), applied straight to `RecommenderTables`.
The events are bench/recommender.py's too: 100k users, a random item each, every third a cart
add. The loop runs twice over the same events from empty user states: once with an untrained
`Ranker` (similarity fallback), once with one trained on a few thousand examples labelled
from the lists the first run showed.

Run: ``.venv/bin/python bench/recommend_step.py [--events N] [--users N] [--profile]``. Prints
microseconds per event and writes ``bench/results/recommend_step.json``; ``--profile``
prints a cProfile of the trained run instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import sys
import time
from pathlib import Path

import numpy as np
import orjson

from cartstream.models.ranker import Ranker
from cartstream.operators.recommend import Event, recommend
from cartstream.operators.user_state import UserState
from cartstream.schemas import ItemVector
from cartstream.topologies.global_tables import RecommenderTables
from cartstream.topologies.settings import Settings
from recommender import SEED, catalog, events, item_vectors

RESULTS = Path(__file__).parent / "results" / "recommend_step.json"
START_MS = 1_767_225_600_000  # a fixed clock, so that runs are comparable list for list


def tables_for(menu: list[dict]) -> RecommenderTables:
    """The tables a recommender holds once it has read the bench's table topics."""
    tables = RecommenderTables(Settings())
    rng = np.random.default_rng(SEED)
    for m, v in zip(menu, item_vectors(len(menu))):
        tables.apply_menu_item(m["item_id"], orjson.dumps(m))
        vector = ItemVector.from_array(v, item_id=m["item_id"], restaurant_id=m["restaurant_id"],
                                       model_id="bench", text_hash="-", available=m["available"],
                                       name=m["name"], category=m["category"], cuisine=m["cuisine"],
                                       price=m["price"], veg=m["veg"], event_time=m["event_time"])
        tables.apply_item_vector(m["item_id"], vector.to_json())
        n = int(m["item_id"][1:])
        neighbours = [{"item_id": f"i{(n + d) % len(menu)}", "score": 0.1} for d in (1, 2, 3)]
        tables.apply_item_stats(m["item_id"], orjson.dumps({
            "item_id": m["item_id"], "event_time": m["event_time"], "window_ms": 900_000,
            "clicks": int(rng.integers(50)), "adds": 0, "trending": float(rng.exponential(2.0)),
            "neighbours": neighbours}))
    return tables


def loop(tables: RecommenderTables, ranker: Ranker, batch: list, start_ms: int) -> tuple[float, float, list[dict]]:
    """Wall and CPU seconds spent on the batch, and the lists it showed (`UserState.shown`,
    with features). CPU time is the steadier of the two on a shared machine."""
    states: dict[str, bytes] = {}
    shown = []
    cap = Settings().max_cart_candidates
    started, cpu_started = time.perf_counter(), time.process_time()
    for n, (_, user_id, body) in enumerate(batch):
        event = Event(body["event_id"], start_ms + 50 * n, user_id, body.get("action", "click"),
                      body["item_id"], body["restaurant_id"], body.get("quantity", 1))
        raw = states.get(user_id)
        state = UserState.from_dict(orjson.loads(raw)) if raw is not None else UserState()
        recommend(state, event, tables, ranker, k=10, max_cart_candidates=cap)
        states[user_id] = orjson.dumps(state.to_dict())
        shown.append(state.shown)
    return time.perf_counter() - started, time.process_time() - cpu_started, shown


def trained_ranker(tables: RecommenderTables, batch: list, start_ms: int, examples: int) -> Ranker:
    """A ranker past `min_examples`, taught on the lists an untrained ranker showed: diners
    act on complements and on items like their taste."""
    ranker = Ranker()
    rng = random.Random(SEED)
    *_, shown = loop(tables, Ranker(), batch, start_ms)
    rows = [features for listed in shown for _, features in listed["items"]]
    for features in rows[:examples]:
        p = 0.05 + 0.4 * features["complement_strength"] + 0.3 * max(features["similarity"], 0.0)
        ranker.learn_one(features, int(rng.random() < p))
    return ranker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the trained run")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key with --profile")
    args = parser.parse_args()

    menu = [{**m, "event_time": START_MS} for m in catalog(args.items)]
    tables = tables_for(menu)
    start_ms = START_MS
    batch = events(args.events, args.users, args.items, 0, np.random.default_rng(SEED))
    ranker = trained_ranker(tables, batch, start_ms, examples=3_000)
    assert ranker.trained
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(loop, tables, ranker, batch, start_ms)
        pstats.Stats(profile).sort_stats(args.sort).print_stats(35)
        return 0

    results = {}
    for name, model in (("untrained", Ranker()), ("trained", ranker)):
        loop(tables, model, batch[: len(batch) // 10], start_ms)  # warm caches and allocators
        seconds, cpu_seconds, _ = loop(tables, model, batch, start_ms)
        results[name] = {"us_per_event": seconds / len(batch) * 1e6, "events_per_s": len(batch) / seconds,
                         "cpu_us_per_event": cpu_seconds / len(batch) * 1e6}
        print(f"{name:>9}: {results[name]['us_per_event']:8.1f} us/event  "
              f"{results[name]['events_per_s']:8.0f} events/s  (cpu {results[name]['cpu_us_per_event']:.1f} us/event)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "items": args.items, "users": args.users, "events": args.events, **results,
    }, option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
