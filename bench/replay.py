"""Replay speed: a silent rebuild (`cartstream replay --no-emit`) against the live recommender.

The setup of `recommender.py` (10k items with vectors and item stats), a backlog of
events from diners with several events each (a replay covers sessions, not one event per
diner: by default 20,000 events of 2,000 diners), then two runs over the same backlog,
each a child process:

- live: `cartstream run recommender` (lists to Kafka and Redis, training examples);
- replay: `cartstream replay recommender --until <end> --no-emit` (state only; it ranks
  only each diner's last list, the one its state keeps).

Each rate is the events per second at which the run's consumer group commits its way
through the backlog, after the first tenth (table loading and the first rebalance are
not part of it). Run with the broker up: ``.venv/bin/python bench/replay.py [--quick]``.
Prints the rates and writes ``bench/results/replay.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from cartstream.topologies.settings import Settings
from cartstream.topologies.topics import create_topics

from recommender import SEED, catalog, events, publish_tables, send

RESULTS = Path(__file__).parent / "results" / "replay.json"


def committed_total(settings: Settings, group: str) -> int:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    try:
        parts = [TopicPartition(settings.topic(t), p) for t in ("clicks", "carts") for p in range(settings.partitions)]
        return sum(max(0, tp.offset) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def rate_through_backlog(settings: Settings, group: str, backlog: int, child: subprocess.Popen,
                         timeout: float) -> float:
    """Events/s of `group` from a tenth of the backlog to its end."""
    deadline = time.monotonic() + timeout
    started_at = started_done = None
    while time.monotonic() < deadline:
        done = committed_total(settings, group)
        if started_at is None and done >= backlog // 10:
            started_at, started_done = time.monotonic(), done
        if done >= backlog:
            return (done - started_done) / max(time.monotonic() - started_at, 1e-9)
        if child.poll() is not None and done < backlog:
            raise RuntimeError(f"{group} exited with code {child.returncode} after {done} of {backlog} events")
        time.sleep(0.2)
    raise RuntimeError(f"{group} did not get through {backlog} events in {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--replay-commit-interval", type=float, default=None,
                        help="the replay's --commit-interval (default: the live one's)")
    parser.add_argument("--quick", action="store_true", help="2,000 items, 3,000 events of 300 diners")
    args = parser.parse_args()
    if args.quick:
        args.items, args.events, args.users = 2_000, 3_000, 300

    run = uuid.uuid4().hex[:6]
    settings = Settings(topic_prefix=f"benchreplay{run}.", group_prefix=f"benchreplay{run}",
                        state_dir=Path(f".cartstream/bench/replay-{run}"))
    create_topics(settings)
    publish_tables(settings, catalog(args.items))
    send(Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 5}), settings,
         events(args.events, args.users, args.items, 0, np.random.default_rng(SEED)), rate=None)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings.to_env()}
    rates = {}
    for name, command in (("live", ["run", "recommender"]),
                          ("replay_no_emit", ["replay", "recommender", "--until", "2100-01-01T00:00:00Z", "--no-emit",
                                              *([] if args.replay_commit_interval is None else
                                                ["--commit-interval", str(args.replay_commit_interval)])])):
        group = settings.model_copy(update={"generation": 0 if name == "live" else 1}).consumer_group("recommender")
        with open(settings.state_dir / f"{name}.log", "wb") as log:
            child = subprocess.Popen([sys.executable, "-m", "cartstream.topologies.cli", *command],
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                rates[name] = rate_through_backlog(settings, group, args.events, child, timeout=900)
            finally:
                child.terminate()
                child.wait(60)
        print(f"{name:>15}: {rates[name]:,.0f} events/s")
    ratio = rates["replay_no_emit"] / rates["live"]
    print(f"replay --no-emit runs at {ratio:.2f}x the live rate")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
        "items": args.items, "users": args.users, "events": args.events,
        "commit_interval_s": {"live": settings.commit_interval,
                              "replay": args.replay_commit_interval or settings.commit_interval},
        "live_events_per_s": rates["live"], "replay_no_emit_events_per_s": rates["replay_no_emit"],
        "replay_speedup": ratio,
    }, option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
