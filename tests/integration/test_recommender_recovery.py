"""The recommender under failure: SIGKILL mid-stream, and Redis going away and coming back."""

from __future__ import annotations

import signal

import orjson
import pytest
import redis

from cartstream.compose import process, redis_server
from cartstream.compose.redis_server import RedisConfig
from cartstream.topologies.topics import create_topics

from tests.integration.catalog import BASE_TIME, catalog
from tests.integration.support import consume_until, produce, read_all

USERS = [f"u{n}" for n in range(8)]


def stream(count: int, start: int = 0) -> dict[str, list[tuple[str, dict]]]:
    """Clicks and cart adds across users and restaurants, with a checkout now and then."""
    events = {"clicks": [], "carts": []}
    for n in range(start, start + count):
        user = USERS[n % len(USERS)]
        restaurant = f"r{1 + (n // len(USERS)) % 3}"
        item = f"{restaurant}-{(n * 7) % 6}"
        body = {"event_id": f"ev{n}", "event_time": BASE_TIME + n * 1000, "user_id": user}
        if n % 5 == 4:
            events["carts"].append((user, {**body, "action": "checkout"}))
        elif n % 2:
            events["carts"].append((user, {**body, "action": "add", "item_id": item, "restaurant_id": restaurant}))
        else:
            events["clicks"].append((user, {**body, "item_id": item, "restaurant_id": restaurant}))
    return events


def publish(settings, events) -> int:
    for topic, records in events.items():
        produce(settings, topic, records)
    return sum(len(r) for r in events.values())


def by_trigger(message) -> tuple[str, bytes]:
    """(trigger event id, the list's bytes as published)."""
    return orjson.loads(message.value())["trigger_event_id"], message.value()


def test_sigkill_mid_stream_loses_nothing_duplicates_nothing_and_keeps_state(settings, topology):
    menu = [(m["item_id"], m) for m in catalog(unavailable=())]
    reference = settings.model_copy(update={"topic_prefix": settings.topic_prefix + "ref.",
                                            "group_prefix": settings.group_prefix + "-ref",
                                            "state_dir": settings.state_dir.with_name("ref-state")})
    create_topics(reference)
    events = stream(400)
    for target in (settings, reference):
        produce(target, "menu-items", menu)
        total = publish(target, events)

    victim = topology("recommender")
    consume_until(settings, "recommendations", lambda ms: len(ms) >= 60)
    assert victim.stop(signal.SIGKILL) == -signal.SIGKILL
    topology("recommender")
    consume_until(settings, "recommendations", lambda ms: len(ms) >= total, timeout=120)
    survived = read_all(settings, [settings.topic("recommendations")])  # a duplicate anywhere shows

    topology("recommender", reference)
    expected = consume_until(reference, "recommendations", lambda ms: len(ms) >= total, timeout=120)

    triggers = [by_trigger(m)[0] for m in survived]
    assert len(triggers) == len(set(triggers)) == total, "a trigger lost or published twice"
    # Same lists for every trigger as an uninterrupted run: per-user state was recovered exactly.
    assert dict(map(by_trigger, survived)) == dict(map(by_trigger, expected))


@pytest.fixture
def private_redis(tmp_path, infra_settings):
    cfg = RedisConfig(data_dir=tmp_path / "redis", port=infra_settings.redis_port + 200)
    redis_server.start(cfg)
    yield cfg
    redis_server.stop(cfg)


def test_redis_down_mid_stream_recommendations_flow_and_redis_catches_up(settings, topology, private_redis):
    local = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{private_redis.port}/0"})
    produce(local, "menu-items", [(m["item_id"], m) for m in catalog(unavailable=())])
    total = publish(local, stream(16))
    recommender = topology("recommender", local)
    consume_until(local, "recommendations", lambda ms: len(ms) >= total)
    client = redis.Redis.from_url(local.redis_url)
    assert process.wait_until(lambda: len(client.keys(f"{local.topic_prefix}recs:*")) == len(USERS), 10)

    redis_server.stop(private_redis)
    total += publish(local, stream(40, start=16))
    recs = consume_until(local, "recommendations", lambda ms: len(ms) >= total, timeout=60)
    assert recommender.alive(), "Redis going away must not stop the stream"
    latest = {orjson.loads(m.value())["user_id"]: orjson.loads(m.value())["trigger_event_id"] for m in recs}

    redis_server.start(private_redis)  # empty: no persistence, so everything must be rewritten
    client = redis.Redis.from_url(local.redis_url)

    def caught_up() -> bool:
        stored = {u: client.get(f"{local.topic_prefix}recs:{u}") for u in USERS}
        return all(v is not None and orjson.loads(v)["trigger_event_id"] == latest[u] for u, v in stored.items())

    assert process.wait_until(caught_up, 30), "Redis did not catch up with the lists Kafka has"
