"""The serving copy in Redis: the latest list per user, written without ever blocking the stream.

Lists are handed to a writer thread (`start_catching_up`), which writes whatever is
waiting in pipelined batches, so the stream never waits for a Redis round trip; with a
``linger_s`` it waits that long after a list first, so that a busy stream's next lists
share the pipeline (the recommender's writer took 16% as much CPU as the stream thread
with none, 8% with 10 ms: bench/recommender.py, sustained). A
circuit breaker guards Redis: after a failure, writes are skipped (and counted) for a
cool-down, with the latest list per user kept aside. Once Redis answers again, the lists
kept aside are written by the writer, which retries every cool-down even when no events
arrive, so Redis catches up with what Kafka has. Without the writer thread, `publish`
writes itself.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

CATCH_UP_CHUNK = 500


class RedisMirror:
    """Writes `{prefix}recs:{user_id}` = recommendation JSON, with a TTL."""

    def __init__(self, url: str, prefix: str = "", ttl_s: int = 24 * 3600, timeout_s: float = 0.05,
                 cooldown_s: float = 2.0, max_pending: int = 100_000, clock=time.monotonic,
                 on_failure: Callable[[], None] | None = None, linger_s: float = 0.0):
        self.client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.cooldown_s = cooldown_s
        self.max_pending = max_pending
        self.clock = clock
        self.pending: dict[str, bytes] = {}
        self.open_until: float | None = None
        self.written = 0
        self.failures = 0
        self.skipped = 0
        self.dropped = 0
        self.on_failure = on_failure
        self.linger_s = linger_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    def key(self, user_id: str) -> str:
        return f"{self.prefix}recs:{user_id}"

    @property
    def is_open(self) -> bool:
        """Whether writes are being skipped right now."""
        return self.open_until is not None and self.clock() < self.open_until

    def publish(self, user_id: str, payload: bytes) -> bool:
        """Mirror one user's latest list; False when it waits aside (the breaker is open, or
        a write here failed). With the writer thread running, True means handed to it;
        without, that Redis has it now."""
        with self._lock:
            self._keep_aside(user_id, payload)
            if self.is_open:
                self.skipped += 1
                return False
            background = self._writer is not None
        if background:
            self._wake.set()
            return True
        return self._write_pending(first=user_id)

    def catch_up(self) -> bool:
        """Try to write what was kept aside, unless the breaker is open; True when nothing waits."""
        with self._lock:
            if not self.pending:
                return True
            if self.is_open:
                return False
        return self._write_pending(first=None) and not self.pending

    def start_catching_up(self) -> "RedisMirror":
        """Write on a daemon thread from now on: lists as they are published, and what was
        kept aside every cool-down, events or not."""
        def loop() -> None:
            while True:
                if self._wake.wait(self.cooldown_s) and self.linger_s > 0:
                    # Like a producer's linger: the lists published meanwhile share one
                    # pipeline, so a busy stream pays Redis's per-call cost (which holds
                    # the GIL the stream needs) once per few lists, not once per list.
                    time.sleep(self.linger_s)
                self._wake.clear()
                while not self.catch_up() and not self.is_open:
                    pass  # more than one batch waits: keep writing while Redis answers

        self._writer = threading.Thread(target=loop, name="redis-writer", daemon=True)
        self._writer.start()
        return self

    def _write_pending(self, first: str | None) -> bool:
        # The newest list first, then a bounded chunk of the backlog, oldest first, so one
        # write never carries the whole backlog. The lock is not held while Redis answers.
        with self._lock:
            batch = list(itertools.islice(((u, p) for u, p in self.pending.items() if u != first), CATCH_UP_CHUNK))
            if first is not None:
                batch.insert(0, (first, self.pending[first]))
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for user_id, payload in batch:
                    pipe.set(self.key(user_id), payload, ex=self.ttl_s)
                pipe.execute()
        except redis.RedisError as exc:
            with self._lock:
                self.failures += 1
                if self.open_until is None:
                    log.error("redis unavailable, skipping writes for %.1fs at a time: %s", self.cooldown_s, exc)
                self.open_until = self.clock() + self.cooldown_s
            if self.on_failure is not None:
                self.on_failure()
            return False
        with self._lock:
            if self.open_until is not None:
                log.warning("redis is back: catching up %d lists kept aside", len(self.pending))
                self.open_until = None
            for user_id, payload in batch:
                if self.pending.get(user_id) is payload:  # unless a newer list came meanwhile
                    del self.pending[user_id]
            self.written += len(batch)
        return True

    def _keep_aside(self, user_id: str, payload: bytes) -> None:
        self.pending.pop(user_id, None)  # re-insert: dict order is then oldest-first
        self.pending[user_id] = payload
        if len(self.pending) > self.max_pending:
            del self.pending[next(iter(self.pending))]
            self.dropped += 1
