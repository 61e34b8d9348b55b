"""Talking to the real broker from tests: produce, consume with conditions, run topologies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from cartstream.topologies.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def produce(settings: Settings, topic: str, records: list[tuple[str | bytes | None, bytes | dict | None]]) -> None:
    """Produce (key, value) records; dict values become JSON. Waits for every ack."""
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True})
    for key, value in records:
        payload = orjson.dumps(value) if isinstance(value, dict) else value
        producer.produce(settings.topic(topic), key=key, value=payload)
        producer.poll(0)
    assert producer.flush(30) == 0, "broker did not acknowledge all test records"


def consume_until(
    settings: Settings,
    topic: str,
    done: Callable[[list], bool],
    timeout: float = 60.0,
) -> list:
    """Read `topic` from the start (read_committed) until `done(messages)` holds; fail on timeout."""
    consumer = Consumer({
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": f"test-reader-{time.monotonic_ns()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    consumer.subscribe([settings.topic(topic)])
    messages: list = []
    deadline = time.monotonic() + timeout
    try:
        while not done(messages):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition on {topic} not met within {timeout}s; read {len(messages)} messages")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            messages.append(msg)
    finally:
        consumer.close()
    return messages


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


def read_all(settings, names: list[str]) -> list:
    """Every committed message of topics `names` (full names), from the start to their current end."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "test-read-all",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "enable.partition.eof": True})
    partitions = [TopicPartition(n, p, 0) for n in names
                  for p in consumer.list_topics(n, timeout=10).topics[n].partitions]
    consumer.assign(partitions)
    messages, pending = [], {(tp.topic, tp.partition) for tp in partitions}
    while pending:
        msg = consumer.poll(10)
        assert msg is not None, f"reading stalled with {pending} left"
        if msg.error():
            pending.discard((msg.topic(), msg.partition()))
        else:
            messages.append(msg)
    consumer.close()
    return messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:  # not listening yet
        return 0, ""


def samples(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: (name, sorted labels) -> value; empty while it does not answer."""
    status, text = get(port, "/metrics")
    if status != 200:
        return {}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these settings."""
    return {**os.environ, **settings.to_env()}


class TopologyProcess:
    """`cartstream run TOPOLOGY` (or another command on a topology, e.g. `replay`) in a child
    process, as an operator would start it."""

    def __init__(self, topology: str, settings: Settings, log_path: Path, command: tuple[str, ...] = ("run",),
                 options: tuple[str, ...] = ()):
        self.topology = topology
        self.settings = settings
        self.log_path = log_path
        self.command = command
        self.options = options
        self.proc: subprocess.Popen | None = None

    def start(self) -> "TopologyProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cartstream.topologies.cli", *self.command, self.topology, *self.options],
            cwd=ROOT, env=settings_env(self.settings), stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
