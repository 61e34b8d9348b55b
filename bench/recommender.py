"""Recommender throughput and latency through the real broker, exactly-once on.

A catalog of 10k items (embedding-like vectors on `item-vectors`, trending and neighbours on
`item-stats`) and 100k users. Two measurements against one `cartstream run recommender`
child process:

- sustained: a backlog of events is published first; events/s is the rate at which
  read_committed lists appear once the recommender is caught up with its tables;
- latency: events are offered at fixed rates; latency is the time from the trigger
  event's producer timestamp (its event_time, set at send) to the list's arrival at a
  read_committed consumer. Rates step up until p99 passes 100 ms.

At each rate it also reads the recommender's own event -> published histogram (its
/metrics), which shows how much of the latency comes before the exactly-once commit.
Beside wall-clock rates it reports the recommender's own CPU time per event during the
sustained phase (all its threads, from /proc), which a machine shared with other work
disturbs far less than throughput.

Run with the broker up: ``.venv/bin/python bench/recommender.py [--quick]``. Prints a
table and writes ``bench/results/recommender.json``. ``--py-spy FILE`` samples the
recommender with py-spy (installed separately) during the sustained phase and writes the
samples to FILE.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import orjson
from confluent_kafka import Consumer, Producer

from index import derived_vectors, menu_embeddings

from cartstream.schemas import ItemVector
from cartstream.topologies.clients import consume_available
from cartstream.topologies.settings import Settings
from cartstream.topologies.topics import create_topics

RESULTS = Path(__file__).parent / "results" / "recommender.json"
CATEGORIES = ("main", "main", "side", "drink", "dessert", "starter")
SEED = 7


def catalog(items: int, per_restaurant: int = 20) -> list[dict]:
    rng = np.random.default_rng(SEED)
    now = int(time.time() * 1000)
    return [{
        "event_id": f"m{n}", "event_time": now, "item_id": f"i{n}", "restaurant_id": f"r{n // per_restaurant}",
        "name": f"dish {n}", "category": CATEGORIES[n % len(CATEGORIES)], "cuisine": f"c{n % 12}",
        "price": float(rng.uniform(3, 30)), "veg": bool(n % 3 == 0), "available": n % 50 != 0, "tags": [],
    } for n in range(items)]


def item_vectors(items: int) -> np.ndarray:
    """One unit vector per catalog item, embedding-like (bench/index.py's derived vectors, near
    and between real menu-text embeddings), so the vector search works as on a real menu:
    random vectors have no low-dimensional structure and no near neighbours."""
    return derived_vectors(menu_embeddings(6000, seed=11), items, seed=SEED)


def publish_tables(settings: Settings, menu: list[dict]) -> None:
    rng = np.random.default_rng(SEED)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 20})
    for m, v in zip(menu, item_vectors(len(menu))):
        producer.produce(settings.topic("menu-items"), key=m["item_id"], value=orjson.dumps(m))
        vector = ItemVector.from_array(v, item_id=m["item_id"], restaurant_id=m["restaurant_id"],
                                       model_id="bench", text_hash="-", available=m["available"],
                                       name=m["name"], category=m["category"], cuisine=m["cuisine"],
                                       price=m["price"], veg=m["veg"], event_time=m["event_time"])
        producer.produce(settings.topic("item-vectors"), key=m["item_id"], value=vector.to_json())
        n = int(m["item_id"][1:])
        neighbours = [{"item_id": f"i{(n + d) % len(menu)}", "score": 0.1} for d in (1, 2, 3)]
        producer.produce(settings.topic("item-stats"), key=m["item_id"], value=orjson.dumps({
            "item_id": m["item_id"], "event_time": m["event_time"], "window_ms": 900_000, "clicks": int(rng.integers(50)),
            "adds": 0, "trending": float(rng.exponential(2.0)), "neighbours": neighbours}))
        producer.poll(0)
    producer.flush(60)


def events(count: int, users: int, items: int, start: int, rng) -> list[tuple[str, str, dict]]:
    out = []
    for n in range(start, start + count):
        user = f"u{int(rng.integers(users))}"
        item = int(rng.integers(items))
        body = {"event_id": f"b{n}", "event_time": 0, "user_id": user, "item_id": f"i{item}",
                "restaurant_id": f"r{item // 20}"}
        if n % 3 == 2:
            out.append(("carts", user, {**body, "action": "add", "quantity": 1}))
        else:
            out.append(("clicks", user, body))
    return out


def send(producer: Producer, settings: Settings, batch, rate: float | None) -> None:
    started = time.perf_counter()
    for n, (topic, user, body) in enumerate(batch):
        if rate is not None:
            # Sleep, not spin: the sender must not take a core from the recommender.
            time.sleep(max(0.0, n / rate - (time.perf_counter() - started)))
        body["event_time"] = int(time.time() * 1000)
        producer.produce(settings.topic(topic), key=user, value=orjson.dumps(body))
        producer.poll(0)
    producer.flush(60)


class Arrivals:
    """Reads lists on a thread of its own, stamping each with its arrival time, while events are sent."""

    def __init__(self, consumer: Consumer):
        self.consumer = consumer
        self.lists: list[tuple[float, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in consume_available(self.consumer, 500, 0.1):
                if msg.error() is None:
                    timings = orjson.loads(dict(msg.headers() or [])["timings_ms"])
                    self.lists.append((time.time(), {**orjson.loads(msg.value()), "timings_ms": timings}))

    def wait_for(self, count: int, timeout: float) -> list[tuple[float, dict]]:
        """The first `count` lists received (fewer if `timeout` passes first)."""
        deadline = time.monotonic() + timeout
        while len(self.lists) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.lists[:count]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process and all its descendants so far (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # the process ended meanwhile
            continue
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Histogram(dict):
    """Cumulative bucket counts of a Prometheus histogram: upper bound (s) -> count."""

    def __sub__(self, other: "Histogram") -> "Histogram":
        return Histogram({le: n - other.get(le, 0) for le, n in self.items()})

    def quantile_ms(self, q: float) -> float:
        """The upper bound of the bucket holding quantile `q`, in ms (inf beyond the last)."""
        total = self.get(float("inf"), 0)
        for le in sorted(self):
            if total and self[le] >= q * total:
                return le * 1000
        return float("nan")


def published_latencies(port: int) -> Histogram:
    """The recommender's own event -> published latency histogram (before the commit makes
    lists visible), read from its /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = re.findall(r'^cartstream_event_to_recommendation_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M)
    return Histogram({float(le): float(n) for le, n in found})


def percentile(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--backlog", type=int, default=20_000)
    parser.add_argument("--rates", default="250,500,1000,1500,2000,3000")
    parser.add_argument("--seconds", type=float, default=15.0, help="per offered rate")
    parser.add_argument("--commit-interval", type=float, default=Settings().commit_interval)
    parser.add_argument("--at-least-once", action="store_true", help="exactly-once off")
    parser.add_argument("--quick", action="store_true", help="smaller backlog, two rates")
    parser.add_argument("--py-spy", metavar="FILE", help="profile the recommender with py-spy into FILE")
    args = parser.parse_args()
    if args.quick:
        args.backlog, args.rates, args.seconds = 5_000, "250,1000", 8.0

    run = uuid.uuid4().hex[:6]
    settings = Settings(topic_prefix=f"bench{run}.", group_prefix=f"bench{run}",
                        state_dir=Path(f".cartstream/bench/{run}"), commit_interval=args.commit_interval,
                        processing_guarantee="at-least-once" if args.at_least_once else "exactly-once",
                        metrics_port=free_port())
    create_topics(settings)
    menu = catalog(args.items)
    publish_tables(settings, menu)
    rng = np.random.default_rng(SEED)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 1})
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": f"bench-reader-{run}",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                         # A reader that wants lists fast asks the broker not to sit on a fetch
                         # (librdkafka waits up to 500 ms for more data by default).
                         "fetch.wait.max.ms": 10})
    consumer.subscribe([settings.topic("recommendations")])

    backlog = events(args.backlog, args.users, args.items, 0, rng)
    send(producer, settings, backlog, rate=None)
    log = open(settings.state_dir.parent / f"{run}-recommender.log", "wb") if settings.state_dir.parent.mkdir(
        parents=True, exist_ok=True) is None else None
    arrivals = Arrivals(consumer)
    child = subprocess.Popen([sys.executable, "-m", "cartstream.topologies.cli", "run", "recommender"],
                             env={**os.environ, **settings.to_env()}, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert arrivals.wait_for(1, 180), "the recommender published nothing within 180 s"
        # Skip the warm-up (table loading, first rebalance), then time the rest of the backlog.
        warm = len(arrivals.wait_for(args.backlog // 10, 120))
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw",
                                "--rate", "100", "--pid", str(child.pid), "--output", args.py_spy],
                               stdout=subprocess.DEVNULL) if args.py_spy else None
        t0, cpu0, load = time.time(), cpu_seconds(child.pid), os.getloadavg()[0]
        done = len(arrivals.wait_for(args.backlog, 600)) - warm
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
            spy.wait(60)
        sustained = done / (time.time() - t0)
        cpu_ms = (cpu_seconds(child.pid) - cpu0) / done * 1000
        print(f"sustained: {sustained:,.0f} events/s per process ({done} lists after warm-up); "
              f"recommender CPU {cpu_ms:.2f} ms/event; load average {load:.2f}")

        steps = []
        sent = args.backlog
        for rate in [float(r) for r in args.rates.split(",")]:
            batch = events(int(rate * args.seconds), args.users, args.items, sent, rng)
            sent += len(batch)
            published_before = published_latencies(settings.metrics_port)
            send(producer, settings, batch, rate=rate)
            lists = arrivals.wait_for(sent, 60 + args.seconds)[sent - len(batch):]
            latencies = [(arrived * 1000 - rec["trigger_event_time"]) for arrived, rec in lists]
            queued = [rec["timings_ms"]["queued"] for _, rec in lists]
            process = [rec["timings_ms"]["process"] for _, rec in lists]
            # What follows the step: producing, the exactly-once commit, the reader's fetch.
            after = [total - q - p for total, q, p in zip(latencies, queued, process)]
            published = published_latencies(settings.metrics_port) - published_before
            step = {"offered_per_s": rate, "lists": len(lists), "p50_ms": percentile(latencies, 50),
                    "p99_ms": percentile(latencies, 99), "p999_ms": percentile(latencies, 99.9),
                    "published_p50_ms_at_most": published.quantile_ms(0.5),
                    "published_p99_ms_at_most": published.quantile_ms(0.99),
                    **{f"{name}_p{q}_ms": percentile(values, q)
                       for name, values in (("queued", queued), ("process", process), ("after", after)) for q in (50, 99)},
                    "load_average_1m": os.getloadavg()[0]}
            steps.append(step)
            print(f"offered {rate:>6.0f}/s: p50 {step['p50_ms']:7.1f} ms  p99 {step['p99_ms']:7.1f} ms  "
                  f"p99.9 {step['p999_ms']:7.1f} ms  ({len(lists)}/{len(batch)} lists, load {step['load_average_1m']:.2f}); "
                  f"published (before commit) p50 <= {step['published_p50_ms_at_most']:g} ms, "
                  f"p99 <= {step['published_p99_ms_at_most']:g} ms\n"
                  f"{'':>17}p50/p99 ms: queued before the step {step['queued_p50_ms']:.1f}/{step['queued_p99_ms']:.1f}, "
                  f"step {step['process_p50_ms']:.1f}/{step['process_p99_ms']:.1f}, "
                  f"after it {step['after_p50_ms']:.1f}/{step['after_p99_ms']:.1f}")
            if step["p99_ms"] > 100 or len(lists) < len(batch):
                break
    finally:
        child.terminate()
        child.wait(60)
        arrivals.stop()
        consumer.close()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "items": args.items, "users": args.users, "exactly_once": not args.at_least_once, "commit_interval_s": args.commit_interval,
        "sustained_events_per_s": sustained, "recommender_cpu_ms_per_event": cpu_ms,
        "load_average_1m": load, "latency_steps": steps,
    }, option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
