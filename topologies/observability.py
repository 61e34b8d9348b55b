"""Prometheus metrics and health endpoints of one topology process.

`GET /metrics` (Prometheus text), `GET /health/live` (the process serves) and
`GET /health/ready` (its checks pass: tables caught up, stream running). `ConsumerLag`
keeps the consumer-lag gauge of a topology's consumer group current.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .clients import KAFKA_LOG

log = logging.getLogger(__name__)

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The counters of a topology, in a registry of its own."""

    def __init__(self, topology: str):
        self.registry = CollectorRegistry()
        labels = {"topology": topology}
        r = self.registry
        self.events = Counter("cartstream_events", "input events processed", ["topic"], registry=r)
        self.dead_letters = Counter("cartstream_dead_letters", "records sent to dead-letters", ["reason"], registry=r)
        self.embedded = Counter("cartstream_texts_embedded", "menu texts sent to the model", registry=r)
        self.duplicates = Counter("cartstream_duplicates", "repeated event ids skipped", registry=r)
        self.recommendations = Counter("cartstream_recommendations", "lists published", ["mode", "model"], registry=r)
        self.latency = Histogram("cartstream_event_to_recommendation_seconds",
                                 "producer timestamp of the event to its list handed to the producer "
                                 "(the exactly-once commit then makes it visible)",
                                 buckets=LATENCY_BUCKETS_S, registry=r)
        self.redis_errors = Counter("cartstream_redis_errors", "failed Redis writes", registry=r)
        self.redis_skipped = Counter("cartstream_redis_skipped", "Redis writes skipped by the breaker", registry=r)
        self.model_version = Gauge("cartstream_model_version", "model version in use", ["model"], registry=r)
        self.hit_rate = Gauge("cartstream_online_hr_at_10", "online HR@10 of shown lists", ["model"], registry=r)
        self.ndcg = Gauge("cartstream_online_ndcg_at_10", "online NDCG@10 of shown lists", ["model"], registry=r)
        self.consumer_lag = Gauge("cartstream_consumer_lag",
                                  "input records not yet committed by the consumer group (log end - committed offset)",
                                  ["topic", "partition"], registry=r)
        self.info = Gauge("cartstream_topology_info", "which topology this process runs", list(labels), registry=r)
        self.info.labels(**labels).set(1)


class ConsumerLag:
    """The lag of a consumer group on its input topics, per partition, into `Metrics.consumer_lag`.

    Lag is the partition's log-end offset minus the group's committed offset (all retained
    records when nothing is committed yet), as ``kafka-consumer-groups.sh`` reports it; with
    exactly-once producers upstream it keeps a record or two for the transaction markers.
    It is read on a daemon thread by a consumer of its own that joins no group, so the
    stream never waits for it.

    Parameters
    ----------
    metrics
        Where the gauge lives.
    bootstrap_servers, group
        The broker and the consumer group to watch.
    topics
        The group's input topics (full names).
    interval_s, timeout_s
        How often the lag is read, and how long one broker request may take.
    """

    def __init__(self, metrics: Metrics, bootstrap_servers: str, group: str, topics: list[str],
                 interval_s: float = 5.0, timeout_s: float = 5.0):
        self.metrics = metrics
        self.topics = topics
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": group,
                                  "enable.auto.commit": False, "logger": KAFKA_LOG})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="consumer-lag", daemon=True)

    def update(self) -> dict[tuple[str, int], int]:
        """Read the lag of every partition now, set the gauge and return it."""
        metadata = self.consumer.list_topics(timeout=self.timeout_s)
        partitions = [TopicPartition(topic, p) for topic in self.topics for p in sorted(metadata.topics[topic].partitions)]
        lags = {}
        for tp in self.consumer.committed(partitions, timeout=self.timeout_s):
            low, high = self.consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=self.timeout_s)
            lag = max(0, high - (tp.offset if tp.offset >= 0 else low))
            self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
            lags[(tp.topic, tp.partition)] = lag
        return lags

    def start(self) -> ConsumerLag:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the thread if it runs, and close the consumer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.timeout_s * 3)  # the thread closes the consumer on its way out
        elif self._thread.ident is None:
            self.consumer.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.update()
                except (KafkaException, KeyError) as exc:  # the broker or a topic is away: keep the last values
                    log.warning("consumer lag not read: %r", exc)
                self._stop.wait(self.interval_s)
        finally:
            self.consumer.close()


def serve_observability(metrics: Metrics, settings, topology: str, inputs: list[str],
                        ready: Callable[[], bool]) -> None:
    """Serve /metrics and /health/* on ``settings.metrics_port`` and keep the consumer lag of
    ``topology``'s group on its ``inputs`` (design topic names) current; nothing without a port."""
    if settings.metrics_port is None:
        return
    HealthServer(metrics, settings.metrics_port, ready=ready).start()
    ConsumerLag(metrics, settings.bootstrap_servers, settings.consumer_group(topology),
                [settings.topic(name) for name in inputs]).start()


class HealthServer:
    """A small HTTP server for /metrics and /health/*, on its own daemon thread."""

    def __init__(self, metrics: Metrics, port: int, ready: Callable[[], bool], host: str = "127.0.0.1"):
        registry = metrics.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif self.path == "/health/live":
                    self._send(200, b"live\n")
                elif self.path == "/health/ready":
                    ok = ready()
                    self._send(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
                else:
                    self._send(404, b"not found\n")

            def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # scrapes every few seconds would flood the log
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    def start(self) -> "HealthServer":
        self.thread.start()
        log.info("metrics and health on http://%s:%d", *self.server.server_address)
        return self
