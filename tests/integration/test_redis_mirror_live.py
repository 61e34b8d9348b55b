"""RedisMirror against the real Redis: lists published within the linger share one pipeline."""

from __future__ import annotations

import time

import redis

from cartstream.topologies.redis_mirror import RedisMirror


def test_lists_published_within_the_linger_reach_redis_in_one_pipeline(settings):
    mirror = RedisMirror(settings.redis_url, prefix=settings.topic_prefix, ttl_s=60, linger_s=2.0)
    pipelines = []
    opened = mirror.client.pipeline

    def counted(*args, **kwargs):
        pipelines.append(1)
        return opened(*args, **kwargs)

    mirror.client.pipeline = counted
    mirror.start_catching_up()
    for n in range(5):  # microseconds apart: all within the writer's two-second linger
        assert mirror.publish(f"u{n}", f"list {n}".encode())

    deadline = time.monotonic() + 10
    while mirror.written < 5 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling a condition, with a deadline
    assert mirror.written == 5 and len(pipelines) == 1
    client = redis.Redis.from_url(settings.redis_url)
    assert [client.get(mirror.key(f"u{n}")) for n in range(5)] == [f"list {n}".encode() for n in range(5)]
    assert 0 < client.ttl(mirror.key("u0")) <= 60
