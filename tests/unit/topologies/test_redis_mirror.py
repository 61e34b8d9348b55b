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


class SlowRedis:
    """A stand-in client whose every pipeline takes `delay_s` to answer, recording what it stored."""

    def __init__(self, delay_s):
        self.delay_s = delay_s
        self.stored = {}
        self.round_trips = 0

    def pipeline(self, transaction):
        client = self

        class Pipeline:
            def __init__(self):
                self.commands = []

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def set(self, key, value, ex):
                self.commands.append((key, value))

            def execute(self):
                time.sleep(client.delay_s)
                client.round_trips += 1
                client.stored.update(self.commands)

        return Pipeline()


def test_with_the_writer_running_publishing_never_waits_for_redis_and_the_latest_lists_land():
    failures = []
    mirror = RedisMirror("redis://127.0.0.1:9/0", on_failure=lambda: failures.append(1))
    mirror.client = SlowRedis(delay_s=0.2)
    mirror.start_catching_up()
    slowest = 0.0
    for n in range(200):
        started = time.perf_counter()
        assert mirror.publish(f"u{n % 20}", f"list {n}".encode()) is True
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.1, "a publish waited for a Redis round trip"
    deadline = time.monotonic() + 5
    while (mirror.pending or len(mirror.client.stored) < 20) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert mirror.client.stored == {f"recs:u{u}": f"list {180 + u}".encode() for u in range(20)}
    assert mirror.client.round_trips < 20 and not failures  # lists waiting together share a round trip


def test_a_failed_write_of_the_writer_is_reported_and_opens_the_breaker():
    failures = []
    mirror = RedisMirror("redis://127.0.0.1:9/0", cooldown_s=60, on_failure=lambda: failures.append(1))
    mirror.start_catching_up()
    assert mirror.publish("u1", b"first") is True
    deadline = time.monotonic() + 5
    while not failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert failures == [1] and mirror.is_open
    assert mirror.publish("u1", b"second") is False
    assert mirror.pending == {"u1": b"second"} and mirror.skipped == 1
