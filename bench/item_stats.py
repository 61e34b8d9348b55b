"""item-stats through the real broker: how fast one process works through a backlog.

A backlog of clicks and cart adds (bench/recommender.py's events: `--users` diners over a
`--items` catalog, every third event an add; about 4 events per diner) is published first; then `cartstream run
item-stats` starts. It is done when its consumer group has committed every input event and
every update its sessions sent through the repartition by item (a transactional topic,
whose last offset is the commit marker). The rate is input events per second from its
first commit to then (the start-up before the first commit is reported apart), so each
event's whole path counts: sessions, the repartition, the per-item windows, exactly-once.

Run with the broker up: ``.venv/bin/python bench/item_stats.py [--events N]``. Prints the
rate and writes ``bench/results/item_stats.json``.
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
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from recommender import SEED, catalog, cpu_seconds, events, send

from cartstream.topologies.settings import Settings
from cartstream.topologies.topics import create_topics

RESULTS = Path(__file__).parent / "results" / "item_stats.json"


def committed(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    """The group's committed offset of every partition it has committed."""
    [future] = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    return {(tp.topic, tp.partition): tp.offset for tp in future.result().topic_partitions if tp.offset >= 0}


def repartition_ends(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    """Where each partition of the group's repartition topic ends now, its last commit marker excluded."""
    topics = {name: topic for name, topic in admin.list_topics(timeout=10).topics.items()
              if name.startswith(f"repartition__{group}--")}
    if not topics:
        raise SystemExit(f"no repartition topic of {group}: item-stats no longer repartitions as this bench expects")
    ends = latest(admin, [(name, p) for name, topic in topics.items() for p in topic.partitions])
    return {key: max(0, end - 1) for key, end in ends.items()}


def records_in(settings: Settings, ends: dict[tuple[str, int], int]) -> int:
    """How many committed records the partitions hold up to ``ends`` (transaction markers take
    offsets but are no records)."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": f"bench-count-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for (topic, p), end in ends.items() if end > 0])
    count, open_partitions = 0, sum(1 for end in ends.values() if end > 0)
    while open_partitions:
        for message in consumer.consume(1000, timeout=10):
            if message.error() is None:
                count += 1
            elif message.error().code() == KafkaError._PARTITION_EOF:
                open_partitions -= 1
            else:
                raise SystemExit(f"reading the repartition topic failed: {message.error()}")
    consumer.close()
    return count


def latest(admin: AdminClient, partitions) -> dict[tuple[str, int], int]:
    """The end offset of each (topic, partition)."""
    wanted = {TopicPartition(topic, p): OffsetSpec.latest() for topic, p in partitions}
    return {(tp.topic, tp.partition): f.result().offset for tp, f in admin.list_offsets(wanted).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=6_000)
    parser.add_argument("--users", type=int, default=1_500)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    run = uuid.uuid4().hex[:6]
    # Exactly-once whatever the environment says: the end of a repartition partition is then
    # its last commit marker.
    settings = Settings(topic_prefix=f"bench{run}.", group_prefix=f"bench{run}",
                        state_dir=Path(f".cartstream/bench/{run}"), processing_guarantee="exactly-once")
    create_topics(settings)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 5})
    for item in catalog(args.items):
        producer.produce(settings.topic("menu-items"), key=item["item_id"], value=orjson.dumps(item))
    send(producer, settings, events(args.events, args.users, args.items, 0, np.random.default_rng(SEED)), rate=None)

    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    group = settings.consumer_group("item-stats")
    inputs = [(settings.topic(t), p) for t in ("clicks", "carts") for p in range(settings.partitions)]
    ends = latest(admin, inputs)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.state_dir / "item-stats.log", "wb")
    started = time.time()
    child = subprocess.Popen([sys.executable, "-m", "cartstream.topologies.cli", "run", "item-stats"],
                             env={**os.environ, **settings.to_env()}, stdout=log, stderr=subprocess.STDOUT)
    first = None
    try:
        while True:
            done = committed(admin, group)
            if first is None and done:
                first = (time.time(), sum(done.get(key, 0) for key in inputs), cpu_seconds(child.pid), os.getloadavg()[0])
            if all(done.get(key, 0) >= end for key, end in ends.items()):
                # Every input is in; the updates it sent are all in the repartition topic now.
                updates = repartition_ends(admin, group)
                if all(done.get(key, 0) >= end for key, end in updates.items()):
                    break
            if child.poll() is not None:
                raise SystemExit(f"item-stats exited with code {child.returncode}; see {log.name}")
            if time.time() - started > args.timeout:
                raise SystemExit(f"item-stats did not finish its backlog within {args.timeout:.0f} s")
            time.sleep(0.1)
        finished, cpu = time.time(), cpu_seconds(child.pid)
    finally:
        child.terminate()
        child.wait(60)
    at, before, cpu_before, load = first
    timed = sum(ends.values()) - before
    result = {"events": sum(ends.values()), "repartitioned_updates": records_in(settings, updates), "start_to_first_commit_s": round(at - started, 2),
              "events_per_s": round(timed / (finished - at)), "cpu_ms_per_event": round((cpu - cpu_before) / timed * 1000, 3),
              "load_average_1m": load}
    print(f"item-stats: {result['events_per_s']:,} events/s after its first commit ({timed} events, "
          f"{result['repartitioned_updates']:,} updates repartitioned by item, "
          f"{result['cpu_ms_per_event']} ms CPU per event); {result['start_to_first_commit_s']} s from start to "
          f"first commit; load {load:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                                      "users": args.users, "items": args.items, **result},
                                     option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
