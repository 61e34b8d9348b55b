"""The input contract through the real broker: nothing crashes the topology, nothing disappears."""

from __future__ import annotations

import itertools

import orjson
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st
from confluent_kafka import Consumer

from cartstream.operators.validation import Accepted, validate_record

from tests.integration.support import consume_until, produce, read_all

USERS = [f"u{n}" for n in range(12)]
ITEMS = [f"i{n}" for n in range(30)]
BASE_TIME = 1_767_225_600_000
serial = itertools.count()


def click(user: str, item: str) -> dict:
    n = next(serial)
    return {"event_id": f"e{n}", "event_time": BASE_TIME + n, "user_id": user, "item_id": item, "restaurant_id": "r1"}


def cart_add(user: str, item: str, quantity: int) -> dict:
    return {**click(user, item), "action": "add", "quantity": quantity}


valid_clicks = st.builds(lambda u, i: ("clicks", u, click(u, i)), st.sampled_from(USERS), st.sampled_from(ITEMS))
valid_adds = st.builds(lambda u, i, q: ("carts", u, cart_add(u, i, q)),
                       st.sampled_from(USERS), st.sampled_from(ITEMS), st.integers(1, 50))


def _broken(kind: str, topic: str, user: str, event: dict, cut: int, garbage: bytes):
    """One record that breaks the contract in the way `kind` names."""
    raw = orjson.dumps(event)
    if kind == "truncated-json":
        return topic, user.encode(), raw[: max(1, min(cut, len(raw) - 1))]
    if kind == "binary":
        return topic, user.encode(), b"\xff" + garbage
    if kind == "wrong-type":
        return topic, user.encode(), orjson.dumps({**event, "event_time": "yesterday"})
    if kind == "missing-field":
        return topic, user.encode(), orjson.dumps({k: v for k, v in event.items() if k != "item_id"})
    if kind == "huge-string":
        return topic, user.encode(), orjson.dumps({**event, "item_id": "x" * 100_000})
    if kind == "wrong-key":
        return topic, b"someone-else", raw
    if kind == "no-key":
        return topic, None, raw
    if kind == "absurd-quantity":
        return "carts", user.encode(), orjson.dumps({**event, "action": "add", "quantity": 10**9})
    return topic, user.encode(), None  # "null-value": clicks and carts allow no tombstones


invalid_records = st.builds(
    _broken,
    st.sampled_from(["truncated-json", "binary", "wrong-type", "missing-field", "huge-string",
                     "wrong-key", "no-key", "absurd-quantity", "null-value"]),
    st.sampled_from(["clicks", "carts"]),
    st.sampled_from(USERS),
    st.builds(click, st.sampled_from(USERS), st.sampled_from(ITEMS)),
    st.integers(1, 200),
    st.binary(max_size=300),
)


def as_record(choice):
    topic, user, value = choice
    if isinstance(value, dict):
        return topic, user.encode(), orjson.dumps(value), True
    return (*choice, False)


records = st.lists(st.one_of(valid_clicks, valid_adds, invalid_records.map(lambda r: (*r, False)))
                   .map(lambda r: as_record(r) if len(r) == 3 else r), min_size=500, max_size=1500)


class Ledger:
    """Cumulative inputs and outputs across hypothesis examples, against one running topology."""

    def __init__(self, settings):
        self.valid = 0
        self.invalid = 0
        self.outputs = 0
        self.dead = []
        self.consumer = Consumer({
            "bootstrap.servers": settings.bootstrap_servers, "group.id": f"ledger-{settings.group_prefix}",
            "auto.offset.reset": "earliest", "isolation.level": "read_committed",
        })
        self.consumer.subscribe([settings.topic("user-activity"), settings.topic("dead-letters")])
        self.dead_topic = settings.topic("dead-letters")

    def drain_until_balanced(self, alive, timeout: float = 120.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while self.outputs + len(self.dead) < self.valid + self.invalid:
            assert alive(), "the topology died"
            assert time.monotonic() < deadline, (
                f"after {timeout}s: {self.outputs} outputs + {len(self.dead)} dead letters "
                f"for {self.valid} valid + {self.invalid} invalid inputs")
            msg = self.consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            if msg.topic() == self.dead_topic:
                self.dead.append(orjson.loads(msg.value()))
            else:
                self.outputs += 1


def test_mixed_valid_and_malformed_input_balances_exactly(settings, topology):
    proc = topology("user-activity")
    ledger = Ledger(settings)

    @hypothesis_settings(max_examples=4, deadline=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    @given(records)
    def run_batch(batch):
        for topic, key, value, valid in batch:
            # The test's own construction must agree with the contract, or the ledger lies.
            assert isinstance(validate_record(topic, key, value), Accepted) == valid
        for topic in ("clicks", "carts"):
            produce(settings, topic, [(k, v) for t, k, v, _ in batch if t == topic])
        ledger.valid += sum(valid for *_, valid in batch)
        ledger.invalid += sum(not valid for *_, valid in batch)
        ledger.drain_until_balanced(proc.alive)

    try:
        run_batch()
        assert ledger.outputs == ledger.valid
        assert len(ledger.dead) == ledger.invalid
        assert all(d["error"] and d["source_topic"].startswith(settings.topic_prefix) for d in ledger.dead)
        # Exactly: no extra output or dead letter arrives after the balance was reached.
        assert ledger.consumer.poll(3.0) is None
        assert proc.alive()
    finally:
        ledger.consumer.close()


def test_duplicated_events_change_state_once(settings, topology):
    first = click("dup", "i1")
    second = click("dup", "i2")
    produce(settings, "clicks", [("dup", first), ("dup", second), ("dup", first), ("dup", second)])
    produce(settings, "carts", [("dup", cart_add("dup", "i3", 1))] * 3)
    topology("user-activity")
    out = consume_until(settings, "user-activity", lambda ms: len(ms) >= 3)
    latest = orjson.loads(out[-1].value())
    assert (latest["clicks"], latest["adds"]) == (2, 1)
    # No fourth output: the repeats were dropped, not delayed.
    assert len(read_all(settings, [settings.topic("user-activity")])) == 3
