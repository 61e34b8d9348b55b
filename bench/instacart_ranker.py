"""The recommender's own ranking on the Instacart subset, in process: fast enough to compare changes.

`cartstream evaluate` judges the running topologies through Kafka at ~15 events/s (every
new item waits for its vector): 13 minutes for 1,000 orders. This script replays the same
orders through the same step, `operators.recommend.recommend`, with the tables a
recommender holds (catalog, vectors, item-stats from `ItemStatsState`) and a trainer's
ranker learning every example and handing the recommender a snapshot every
``--snapshot-every`` examples, as the trainer does. Each add except the first of its order
is judged by the list published after the diner's previous event; popularity (most added
so far, minus the cart) is judged on the same adds. 1,000 orders take about 2.5 minutes.

What it leaves out: the embedder's delay (vectors are there when an item first appears)
and the asynchrony of item-stats and snapshots (applied right after each event), so its
figures sit close to, not exactly on, `cartstream evaluate`'s (first 1,000 orders: 0.062
here, 0.061 through Kafka).

Usage::

    .venv/bin/python bench/instacart_ranker.py PATH/instacart-subset [--orders 1000]

Prints HR@10 and NDCG@10 for cartstream and popularity, the share of lists the learnt
model ranked, and the trainer's final metrics (its shadow comparison with the fallback);
writes ``bench/results/instacart_ranker.json``. Product embeddings are cached as
``bench/instacart_signals.py`` caches them, never in the repository (the data's terms).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).parent))

from instacart_signals import embeddings  # noqa: E402

from cartstream.models.ranker import Ranker  # noqa: E402
from cartstream.operators.catalog import Catalog, ItemInfo  # noqa: E402
from cartstream.operators.datasets import read_instacart  # noqa: E402
from cartstream.operators.item_stats import ItemStatsState, updates_for  # noqa: E402
from cartstream.operators.online_metrics import NDCG, HitRate  # noqa: E402
from cartstream.operators.recommend import Event, Tables, recommend  # noqa: E402
from cartstream.operators.stats_table import StatsTable  # noqa: E402
from cartstream.operators.user_state import UserState  # noqa: E402
from cartstream.topologies.settings import Settings  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "instacart_ranker.json"
K = 10


class Judge:
    """HR@10 and NDCG@10 of one system's lists over the judged adds."""

    def __init__(self) -> None:
        self.hit_rate, self.ndcg = HitRate(K), NDCG(K)

    def update(self, listed: list[str], taken: str) -> None:
        self.hit_rate.update(listed, taken)
        self.ndcg.update(listed, taken)

    def report(self) -> dict:
        return {"hr@10": round(self.hit_rate.get(), 4), "ndcg@10": round(self.ndcg.get(), 4)}


class ItemStatsTopology:
    """The item-stats topology's updates applied straight to a recommender's `StatsTable`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.states: dict[str, ItemStatsState] = {}
        self.table = StatsTable(settings.window_ms, settings.trending_half_life_ms)

    def add(self, item_id: str, event_time: int, held: list[str]) -> None:
        s = self.settings
        for update in updates_for(item_id, "add", event_time, held=held):
            state = self.states.get(update["item_id"])
            if state is None:
                state = self.states[update["item_id"]] = ItemStatsState(
                    update["item_id"], s.window_ms, s.trending_half_life_ms, s.covisitation_half_life_ms)
            state.learn_one(update["event_time"], update["action"], update["with"])
            message = state.to_message(s.neighbours_k)
            self.table.apply(update["item_id"], {
                "event_time": message.event_time, "trending": message.trending,
                "neighbours": [{"item_id": n.item_id, "score": n.score} for n in message.neighbours]})


def replay(log, vectors: dict, settings: Settings, snapshot_every: int) -> dict:
    stats = ItemStatsTopology(settings)
    tables = Tables(catalog=Catalog(), stats=stats.table)
    users: dict[str, UserState] = defaultdict(UserState)
    sessions: dict[str, list[str]] = defaultdict(list)
    latest: dict[str, list[str]] = {}
    trainer = Ranker()
    serving, since = Ranker.loads(trainer.dumps()), 0
    judges = {"cartstream": Judge(), "popularity": Judge()}
    modes: Counter = Counter()
    for topic, event in log.replay():
        if topic == "menu-items":
            tables.catalog.upsert(ItemInfo(event["item_id"], event["restaurant_id"], event["name"], event["category"],
                                           event["cuisine"], event["price"], event["veg"]))
            tables.vectors[event["item_id"]] = vectors[event["item_id"]]
            continue
        user, item, t = event["user_id"], event.get("item_id"), event["event_time"]
        if event["action"] == "add" and sessions[user]:
            judges["cartstream"].update(latest.get(user, []), item)
            popular = [item_id for item_id, _ in stats.table.top(K, exclude=set(sessions[user]))]
            judges["popularity"].update(popular, item)
        outcome = recommend(users[user], Event(event["event_id"], t, user, event["action"], item,
                                               event.get("restaurant_id")),
                            tables, serving, k=settings.recommendations_k,
                            max_cart_candidates=settings.max_cart_candidates)
        for example in outcome.examples:
            if example.get("listed_by"):
                trainer.compare(example["listed_by"])
            trainer.learn_one(example["features"], example["label"])
            since += 1
        if since >= snapshot_every:
            serving, since = Ranker.loads(trainer.dumps()), 0
        if outcome.recommendation is not None:
            latest[user] = [i["item_id"] for i in outcome.recommendation["items"]]
            modes[outcome.recommendation["mode"]] += 1
        if event["action"] == "add":
            stats.add(item, t, sessions[user])
            sessions[user].append(item)
        else:
            sessions[user] = []
    return {"systems": {name: judge.report() for name, judge in judges.items()},
            "adds_judged": judges["cartstream"].hit_rate.n, "modes": dict(modes), "trainer": trainer.metrics()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the instacart-subset folder")
    parser.add_argument("--orders", type=int, default=1000, help="first N orders (default 1000)")
    parser.add_argument("--snapshot-every", type=int, default=Settings().snapshot_every,
                        help="examples between the trainer's snapshots")
    args = parser.parse_args()
    settings = Settings()
    log = read_instacart(args.path, orders=args.orders)
    products = sorted(log.products.values(), key=lambda p: p.item_id)
    vectors = dict(zip((p.item_id for p in products), embeddings(products, settings)))
    started = time.perf_counter()
    report = {"orders": len(log.orders), **replay(log, vectors, settings, args.snapshot_every)}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{len(log.orders):,} orders, {report['adds_judged']:,} adds judged, {report['seconds']:.0f}s")
    for name, figures in report["systems"].items():
        print(f"{name:12s} HR@10 {figures['hr@10']:.4f}  NDCG@10 {figures['ndcg@10']:.4f}")
    print(f"lists by mode: {report['modes']}")
    print("trainer: " + ", ".join(f"{k}={v:.4g}" for k, v in report["trainer"].items()))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
