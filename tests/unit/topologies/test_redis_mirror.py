"""RedisMirror's breaker against a port where no Redis listens: never blocks, keeps the latest aside."""

import time

from cartstream.topologies.redis_mirror import RedisMirror


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_dead_redis_opens_the_breaker_and_keeps_only_the_latest_list_per_user():
    clock = Clock()
    mirror = RedisMirror("redis://127.0.0.1:9/0", cooldown_s=5, clock=clock)  # nothing on port 9
    started = time.perf_counter()
    assert mirror.publish("u1", b"first") is False
    assert mirror.failures == 1 and mirror.is_open
    for n in range(100):
        assert mirror.publish("u1", f"list {n}".encode()) is False
    assert mirror.publish("u2", b"other") is False
    assert time.perf_counter() - started < 1.0, "an open breaker must not touch the network"
    assert mirror.skipped == 101 and mirror.failures == 1
    assert mirror.pending == {"u1": b"list 99", "u2": b"other"}

    clock.now = 6  # cool-down over: the next attempt goes to the network again, and fails
    assert mirror.catch_up() is False
    assert mirror.failures == 2 and mirror.is_open


def test_the_backlog_is_bounded_dropping_the_oldest_users_first():
    mirror = RedisMirror("redis://127.0.0.1:9/0", max_pending=2, clock=Clock())
    for user in ("u1", "u2", "u3"):
        mirror.publish(user, user.encode())
    assert list(mirror.pending) == ["u2", "u3"] and mirror.dropped == 1
