"""`cartstream demo`: synthetic diners order food through the real topologies, and we watch what they are shown.

The demo needs the local broker and Redis (`cartstream infra up`). Each run works under
a topic and consumer-group prefix of its own, ``demo-<run id>.`` after any configured
prefix, so it starts from empty
topics and state and leaves earlier runs alone:

1. publish the synthetic restaurants' menus (`topologies.synthetic`) to `menu-items`;
2. start the product topologies as child processes, as an operator would
   (``cartstream run NAME``), the trainer snapshotting often enough that the ranker is
   trained within the demo;
3. produce the diners' clicks and cart events at a steady rate and show each
   recommendation list as a read_committed consumer receives it;
4. stop the topologies (SIGTERM, then wait) and print the throughput, the latency from
   an event's Kafka timestamp to its list reaching the consumer, and HR@10 of the lists
   against each diner's next click or add, beside a popularity baseline on the same stream.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..operators.evaluation import next_action_hit_rates, percentiles
from ..operators.online_metrics import HitRate
from ..operators.recommend import Event
from ..schemas import CartEvent, Click
from .children import ChildTopologies, end_run_topics, product_topologies, run_settings
from .clients import client_config, consume_available
from .exceptions import CartstreamError
from .settings import Settings
from .synthetic import FoodWorld
from .topics import create_topics

DEMO_SEED = 7
DEMO_RESTAURANTS = 12
STARTUP_TIMEOUT_S = 180.0
DRAIN_TIMEOUT_S = 60.0


@dataclasses.dataclass
class Received:
    """One recommendation list as the consumer got it."""

    rec: dict
    received_ms: float


class LiveView:
    """The latest lists on the terminal (a live table), or one plain line a second elsewhere."""

    def __init__(self, names: dict[str, str], total: int, console: Console | None = None):
        self.names = names
        self.total = total
        self.console = console or Console()
        self.rows: list[tuple[dict, str, float]] = []
        self.live = Live(console=self.console, auto_refresh=False) if self.console.is_terminal else None
        self.last_shown = 0.0

    def __enter__(self) -> LiveView:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def show(self, received: Received, trigger: str, latency_ms: float, sent: int, lists: int) -> None:
        self.rows = (self.rows + [(received.rec, trigger, latency_ms)])[-6:]
        now = time.monotonic()
        if now - self.last_shown < (0.25 if self.live is not None else 1.0):
            return
        self.last_shown = now
        if self.live is None:
            rec = received.rec
            print(f"[{sent}/{self.total} sent, {lists} lists] {rec['user_id']} after {trigger} -> "
                  f"{'; '.join(self._top3(rec))} ({self._mode(rec)}, {latency_ms:.0f} ms)", flush=True)
            return
        table = Table(title=f"recommendations as published: {lists} lists for {sent}/{self.total} events",
                      expand=True)
        for column in ("diner", "after", "top 3, and why", "ranked by", "latency"):
            table.add_column(column)
        for rec, trig, ms in self.rows:
            table.add_row(rec["user_id"], trig, "\n".join(self._top3(rec)), self._mode(rec), f"{ms:.0f} ms")
        self.live.update(table, refresh=True)

    def _top3(self, rec: dict) -> list[str]:
        return [f"{self.names.get(i['item_id'], i['item_id'])}: {i['reason']}" for i in rec["items"][:3]]

    @staticmethod
    def _mode(rec: dict) -> str:
        return f"model v{rec['model_version']}" if rec["mode"] == "model" else rec["mode"]


def event_of(topic: str, body: dict) -> Event:
    """The loop's view of a produced click or cart event, read through its contract."""
    return Event.from_message((Click if topic == "clicks" else CartEvent).model_validate(body))


def run_demo(settings: Settings, users: int, events: int, rate: float, keep_topics: bool = False) -> int:
    """Run the demo end to end; 0 when every event got its list. A complete run deletes its
    topics unless ``keep_topics``; an incomplete one keeps them, and its logs, to look into."""
    run_id = uuid.uuid4().hex[:8]
    run_dir = Path(tempfile.mkdtemp(prefix=f"cartstream-demo-{run_id}-"))
    settings = run_settings(settings, "demo", run_id, run_dir / "state")
    world = FoodWorld.generate(seed=DEMO_SEED, restaurants=DEMO_RESTAURANTS, diners=users)
    # About five events a session: enough sessions for `events`, then the first `events` in time.
    stream = world.events(sessions=math.ceil(events / (5 * users)) + 1)[:events]
    # With the restaurant: two restaurants' Carnitas Tacos are two dishes.
    names = {m["item_id"]: f"{m['name']} ({m['restaurant_id']})" for m in world.menu}
    print(f"cartstream demo: topics {settings.topic('*')}, {len(world.menu)} menu items of "
          f"{DEMO_RESTAURANTS} restaurants, {users} diners, {len(stream)} events at {rate:g}/s")

    create_topics(settings)
    producer = Producer(client_config(settings, {"enable.idempotence": True,
                         "linger.ms": 2}))
    for m in world.menu:
        producer.produce(settings.topic("menu-items"), key=m["item_id"], value=orjson.dumps(m))
    if producer.flush(30) != 0:
        raise CartstreamError("the broker did not acknowledge the menu within 30s")

    consumer = Consumer(client_config(settings, {
        "group.id": f"{settings.group_prefix}-demo-view",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",  # only lists whose transaction committed
    }))
    topic = settings.topic("recommendations")
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])

    sent_ms: dict[str, float] = {}
    triggers: dict[str, str] = {}
    received: dict[str, Received] = {}
    view = LiveView(names, len(stream))

    def send(topic_name: str, body: dict) -> None:
        now_ms = time.time() * 1000
        # The Kafka timestamp is the production time: latency is measured from it.
        producer.produce(settings.topic(topic_name), key=body["user_id"], value=orjson.dumps(body),
                         timestamp=int(now_ms))
        producer.poll(0)
        sent_ms[body["event_id"]] = int(now_ms)
        action = body.get("action", "click")
        triggers[body["event_id"]] = f"{action} {names[body['item_id']]}" if "item_id" in body else action

    def receive(timeout: float) -> None:
        messages = consume_available(consumer, 500, timeout)
        now_ms = time.time() * 1000
        for msg in messages:
            if msg.error() is not None:
                raise CartstreamError(f"reading {topic}: {msg.error().str()}")
            rec = orjson.loads(msg.value())
            trigger_id = rec["trigger_event_id"]
            received[trigger_id] = Received(rec, now_ms)
            view.show(received[trigger_id], triggers[trigger_id], now_ms - sent_ms[trigger_id],
                      len(sent_ms), len(received))

    names_running = product_topologies()
    print(f"starting {', '.join(names_running)} (logs in {run_dir})")
    started = time.monotonic()
    children = ChildTopologies(names_running, settings, run_dir)
    try:
        with view:
            # The first event doubles as a probe: its list arriving means the pipeline is live.
            send(*stream[0])
            while stream[0][1]["event_id"] not in received:
                if time.monotonic() - started > STARTUP_TIMEOUT_S:
                    raise CartstreamError(f"no recommendation within {STARTUP_TIMEOUT_S:.0f}s of start "
                                          f"(logs in {run_dir})")
                children.check()
                receive(0.2)
            live_after = time.monotonic() - started
            steady_from, steady_from_ms = time.monotonic(), time.time() * 1000
            for n, (topic_name, body) in enumerate(stream[1:], start=1):
                due = steady_from + (n - 1) / rate
                while (wait := due - time.monotonic()) > 0:
                    receive(min(wait, 0.1))
                send(topic_name, body)
                if n % 50 == 0:
                    children.check()
            producer.flush(30)
            last_progress, seen = time.monotonic(), len(received)
            while len(received) < len(stream) and time.monotonic() - last_progress < DRAIN_TIMEOUT_S:
                receive(0.2)
                if len(received) > seen:
                    last_progress, seen = time.monotonic(), len(received)
                children.check()
    finally:
        consumer.close()
        codes = children.stop()
        print(f"stopped {', '.join(f'{name} (exit {code})' for name, code in codes.items())}")

    summary = summarize(world, stream, received, sent_ms, steady_from_ms, rate, live_after)
    print("\n".join(summary))
    if len(received) == len(stream):
        shutil.rmtree(run_dir, ignore_errors=True)
        end_run_topics(settings, keep_topics)
        return 0
    print(f"logs kept in {run_dir}, topics kept under {settings.topic('*')}")
    return 1


def hit_rate_row(label: str, recommender: HitRate, popularity: HitRate) -> str:
    return f"{'':12}{label:<40}{recommender.get():<13.3f}{popularity.get():.3f}"


def summarize(world: FoodWorld, stream: list[tuple[str, dict]], received: dict[str, Received],
              sent_ms: dict[str, float], steady_from_ms: float, rate: float, live_after: float) -> list[str]:
    """The closing report: throughput, latency, and ranking quality against the baseline."""
    probe = stream[0][1]["event_id"]
    # The probe's list waited for the topologies to start: it is no measure of the pipeline.
    steady = [r for trigger_id, r in received.items() if trigger_id != probe]
    events = [event_of(topic, body) for topic, body in stream]
    catalog = world.catalog()
    by_model = {t: [i["item_id"] for i in r.rec["items"]] for t, r in received.items() if r.rec["mode"] == "model"}
    every = {t: [i["item_id"] for i in r.rec["items"]] for t, r in received.items()}
    model_hr, model_base = next_action_hit_rates(events, by_model, catalog)
    all_hr, all_base = next_action_hit_rates(events, every, catalog)
    versions = [r.rec["model_version"] for r in received.values() if r.rec["mode"] == "model"]
    clicks = sum(topic == "clicks" for topic, _ in stream)
    lines = [
        "",
        f"events      {len(stream)} ({clicks} clicks, {len(stream) - clicks} cart events), "
        f"{len(received)} lists received; pipeline live {live_after:.1f} s after start",
    ]
    if steady:
        span_s = (max(r.received_ms for r in steady) - steady_from_ms) / 1000
        latencies = [r.received_ms - sent_ms[r.rec["trigger_event_id"]] for r in steady]
        p = percentiles(latencies, (50, 99))
        lines += [
            f"throughput  {len(steady) / span_s:.1f} events/s processed (produced at {rate:g}/s)",
            f"latency     event -> list at a read_committed consumer: p50 {p[50]:.0f} ms, p99 {p[99]:.0f} ms",
        ]
    return lines + [
        f"ranking     {len(by_model)} lists by the learnt model (up to v{max(versions, default=0)}), "
        f"{len(received) - len(by_model)} by the fallbacks while it trained",
        f"HR@10       {'against the next click or add':<40}recommender  popularity (most added, minus cart)",
        hit_rate_row(f"after warm-up (model lists, n={model_hr.n})", model_hr, model_base),
        hit_rate_row(f"all lists (n={all_hr.n})", all_hr, all_base),
    ]
