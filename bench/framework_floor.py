"""The stream framework's own cost per event: the recommender's topology with its step emptied.

The recommender's Quix Streams pipeline (clicks + carts merged in timestamp order,
validation, deduplication, a stateful step, a list to `recommendations` and labelled
examples to `training-examples`, exactly-once) runs over a backlog, with the step replaced
by one that does no recommending. Three levels, each adding to the one before:

- intake: validation and deduplication, the step returns nothing;
- state: the step also reads and writes a per-user state of `--state-bytes` (the
  recommender's is ~4.7 kB, mostly the last list shown with its features);
- outputs: the step also publishes a list of `--list-bytes` and `--examples` examples per
  event, as the recommender does.

The events/s of the last level is what the recommender could reach if its step cost
nothing; the gap to `bench/recommender.py` is the step. Run with the broker up:
``.venv/bin/python bench/framework_floor.py [--events N] [--at-least-once]``. Prints events/s
and CPU per event per level and writes ``bench/results/framework_floor.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
from confluent_kafka import Producer
from quixstreams import State

from recommender import SEED, events, send

from cartstream.topologies.app import make_application
from cartstream.topologies.intake import dead_letters_topic, user_events
from cartstream.topologies.settings import Settings
from cartstream.topologies.topics import create_topics

RESULTS = Path(__file__).parent / "results" / "framework_floor.json"
LEVELS = ("intake", "state", "outputs")


class EmptyStep:
    """A stateful step that only moves bytes: no catalog, no candidates, no model."""

    def __init__(self, level: str, state_bytes: int, list_bytes: int, examples: int, stop_after: int, app):
        self.level, self.stop_after, self.app = level, stop_after, app
        self.state = {"blob": "x" * state_bytes}
        self.listing = b"x" * list_bytes
        self.examples = [{"item_id": f"i{n}", "label": 0, "features": [0.5] * 11} for n in range(examples)]
        self.seen = 0
        self.marks: list[tuple[float, float]] = []  # (wall, process CPU) at warm-up's end and at the last event

    def __call__(self, accepted, state: State) -> dict:
        self.seen += 1
        if self.seen in (self.stop_after // 10, self.stop_after):
            self.marks.append((time.perf_counter(), time.process_time()))
            if self.seen == self.stop_after:
                self.app.stop()
        if self.level == "intake":
            return {}
        user = state.get("user") if state.exists("user") else self.state
        state.set("user", user)
        if self.level == "state":
            return {}
        return {"recommendation": self.listing, "examples": self.examples}


def run_level(level: str, args, run: str) -> dict:
    settings = Settings(topic_prefix=f"floor{run}{level}.", group_prefix=f"floor{run}{level}",
                        state_dir=Path(f".cartstream/bench/floor{run}{level}"),
                        processing_guarantee="at-least-once" if args.at_least_once else "exactly-once")
    create_topics(settings)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 5})
    send(producer, settings, events(args.events, args.users, args.items, 0, np.random.default_rng(SEED)), rate=None)

    app = make_application(settings, "recommender", consumer_poll_timeout=settings.recommender_poll_timeout)
    step = EmptyStep(level, args.state_bytes, args.list_bytes, args.examples, args.events, app)
    recommendations = app.topic(settings.topic("recommendations"), key_serializer="bytes", value_serializer="bytes")
    training = app.topic(settings.topic("training-examples"), key_serializer="str", value_serializer="json")
    outcomes = user_events(app, settings, dead_letters_topic(app, settings)).apply(step, stateful=True)
    published = outcomes.filter(lambda o: "recommendation" in o)
    published.apply(lambda o: o["recommendation"]).to_topic(recommendations)
    published.apply(lambda o: o["examples"], expand=True).to_topic(training, key=lambda example: "ranker")
    load = os.getloadavg()[0]
    app.run()
    (wall0, cpu0), (wall1, cpu1) = step.marks
    timed = args.events - args.events // 10
    result = {"level": level, "events_per_s": timed / (wall1 - wall0), "cpu_ms_per_event": (cpu1 - cpu0) / timed * 1000,
              "load_average_1m": load}
    print(f"{level:>8}: {result['events_per_s']:7,.0f} events/s  {result['cpu_ms_per_event']:.3f} ms CPU/event "
          f"(this process)  load {load:.2f}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--state-bytes", type=int, default=4_700)
    parser.add_argument("--list-bytes", type=int, default=1_500)
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--levels", default=",".join(LEVELS))
    parser.add_argument("--at-least-once", action="store_true", help="exactly-once off")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6]
    results = [run_level(level, args, run) for level in args.levels.split(",")]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": args.events, "users": args.users, "state_bytes": args.state_bytes, "list_bytes": args.list_bytes,
        "examples_per_event": args.examples, "exactly_once": not args.at_least_once, "levels": results,
    }, option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
