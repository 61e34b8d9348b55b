"""`cartstream demo`: synthetic diners click menu items; the running topology shows what it learned.

For now the demo is the smoke pipeline: clicks -> user-activity. It needs the broker up
(`cartstream infra up`).
"""

from __future__ import annotations

import random
import time

import orjson
from confluent_kafka import Producer

from . import user_activity
from .topics import create_topics
from .settings import Settings

DEMO_SEED = 7


def synthetic_clicks(users: int, clicks: int, seed: int = DEMO_SEED, start_ms: int = 1_767_225_600_000) -> list[dict]:
    """Clicks of `users` diners over a small menu, each diner favouring a few items."""
    rng = random.Random(seed)
    items = [f"item-{n:03d}" for n in range(60)]
    favourites = {f"user-{u:03d}": rng.sample(items, 5) for u in range(users)}
    events = []
    for n in range(clicks):
        user = f"user-{rng.randrange(users):03d}"
        item = rng.choice(favourites[user]) if rng.random() < 0.7 else rng.choice(items)
        events.append({
            "event_id": f"demo-{seed}-{n}", "event_time": start_ms + n * 1000,
            "user_id": user, "item_id": item, "restaurant_id": f"rest-{int(item[-3:]) % 6}",
        })
    return events


def publish(settings: Settings, topic: str, events: list[dict], key_field: str) -> None:
    """Produce `events` as JSON, keyed by `key_field`, and wait until the broker has them all."""
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True})
    for event in events:
        producer.produce(settings.topic(topic), key=event[key_field], value=orjson.dumps(event))
        producer.poll(0)
    if producer.flush(30) != 0:
        raise RuntimeError("the broker did not acknowledge every demo event within 30s")


def run_demo(settings: Settings, users: int, clicks: int) -> int:
    """Publish synthetic clicks, run the topology over them, print each diner's activity."""
    create_topics(settings)
    events = synthetic_clicks(users, clicks)
    started = time.perf_counter()
    publish(settings, "clicks", events, "user_id")
    app = user_activity.build(settings)
    outputs = app.run(count=len(events), timeout=60)
    elapsed = time.perf_counter() - started
    latest = {row["user_id"]: row for row in outputs}
    print(f"{'user':<10} {'clicks':>6}  recent items")
    for user_id in sorted(latest):
        row = latest[user_id]
        print(f"{user_id:<10} {row['clicks']:>6}  {', '.join(row['recent_items'][:5])}")
    print(f"processed {len(outputs)} of {len(events)} clicks in {elapsed:.1f}s "
          f"({len(outputs) / elapsed:.0f} events/s, exactly-once)")
    return 0 if len(outputs) == len(events) else 1
