"""The serving copy in Redis: the latest list per user, written without ever blocking the stream.

A circuit breaker guards Redis: after a failure, writes are skipped (and counted) for a
cool-down, with the latest list per user kept aside; once Redis answers again, the lists
kept aside are written first, so Redis catches up with what Kafka already has.
"""

from __future__ import annotations

import itertools
import logging
import time

import redis

log = logging.getLogger(__name__)

CATCH_UP_CHUNK = 500


class RedisMirror:
    """Writes `{prefix}recs:{user_id}` = recommendation JSON, with a TTL."""

    def __init__(self, url: str, prefix: str = "", ttl_s: int = 24 * 3600, timeout_s: float = 0.05,
                 cooldown_s: float = 2.0, max_pending: int = 100_000, clock=time.monotonic):
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

    def key(self, user_id: str) -> str:
        return f"{self.prefix}recs:{user_id}"

    @property
    def is_open(self) -> bool:
        """Whether writes are being skipped right now."""
        return self.open_until is not None and self.clock() < self.open_until

    def publish(self, user_id: str, payload: bytes) -> bool:
        """Write one user's latest list; True when Redis has it now, False when it waits aside."""
        if self.is_open:
            self._keep_aside(user_id, payload)
            self.skipped += 1
            return False
        self.pending.pop(user_id, None)
        # Catch up a bounded chunk per write, so one write never carries the whole backlog.
        catch_up = list(itertools.islice(self.pending.items(), CATCH_UP_CHUNK))
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for pending_user, pending_payload in catch_up:
                    pipe.set(self.key(pending_user), pending_payload, ex=self.ttl_s)
                pipe.set(self.key(user_id), payload, ex=self.ttl_s)
                pipe.execute()
        except redis.RedisError as exc:
            self.failures += 1
            if self.open_until is None:
                log.error("redis unavailable, skipping writes for %.1fs at a time: %s", self.cooldown_s, exc)
            self.open_until = self.clock() + self.cooldown_s
            self._keep_aside(user_id, payload)
            return False
        if self.open_until is not None:
            log.warning("redis is back: catching up %d lists kept aside", len(self.pending))
        for pending_user, _ in catch_up:
            del self.pending[pending_user]
        self.written += 1 + len(catch_up)
        self.open_until = None
        return True

    def _keep_aside(self, user_id: str, payload: bytes) -> None:
        self.pending.pop(user_id, None)  # re-insert: dict order is then oldest-first
        self.pending[user_id] = payload
        if len(self.pending) > self.max_pending:
            del self.pending[next(iter(self.pending))]
            self.dropped += 1
