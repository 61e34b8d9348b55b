"""Trainer replay speed: `cartstream replay trainer` against the live trainer over the same examples.

Publishes a backlog of training examples (all of the recommender's features, random values,
one label in ten positive, every tenth example carrying the shadow comparison's
`listed_by`) to a fresh topic prefix, then:

- live: the trainer's own loop (`Trainer.run`) learns the backlog, snapshotting every
  `snapshot_every` examples as `cartstream run trainer` does;
- replay: `replay_trainer` learns it again from earliest and publishes once.

Both run in this process, one after the other, with the broker up. Prints examples/s of
each and writes ``bench/results/trainer_replay.json``.

Usage::

    .venv/bin/python bench/trainer_replay.py [--examples 100000]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
from confluent_kafka import Producer

from cartstream.operators.features import FEATURE_NAMES
from cartstream.topologies.log_points import parse_point
from cartstream.topologies.settings import Settings
from cartstream.topologies.children import delete_run_topics
from cartstream.topologies.topics import create_topics
from cartstream.topologies.trainer import Trainer
from cartstream.topologies.trainer_replay import replay_trainer

RESULTS = Path(__file__).parent / "results" / "trainer_replay.json"


def publish_examples(settings: Settings, count: int, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    values = rng.random((count, len(FEATURE_NAMES)))
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True,
                         "linger.ms": 20})
    for n in range(count):
        example = {"model_name": "ranker", "user_id": f"u{n % 1000}", "item_id": f"i{n % 5000}",
                   "trigger_event_id": f"e{n}", "event_time": 1_767_225_600_000 + n * 100,
                   "features": dict(zip(FEATURE_NAMES, values[n].round(4).tolist())), "label": n % 10 == 0}
        if n % 10 == 0:
            example["listed_by"] = {"model": bool(n % 20), "fallback": True}
        producer.produce(settings.topic("training-examples"), key=f"u{n % 1000}", value=orjson.dumps(example))
        producer.poll(0)
    if producer.flush(60) != 0:
        raise SystemExit("the broker did not acknowledge the examples")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000, help="backlog size (default 100000)")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    settings = Settings().model_copy(update={"topic_prefix": f"bench-trainer-{run_id}.",
                                             "group_prefix": f"bench-trainer-{run_id}"})
    create_topics(settings)
    try:
        publish_examples(settings, args.examples)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        trainer = Trainer(settings)
        trainer.run(idle_timeout=2.0)
        # The idle wait that ends the run is not learning time.
        live_s = time.perf_counter() - started - 2.0
        started = time.perf_counter()
        replayed = replay_trainer(settings, parse_point("earliest"), out=io.StringIO())
        replay_s = time.perf_counter() - started
    finally:
        delete_run_topics(settings)
    live_rate, replay_rate = args.examples / live_s, args.examples / replay_s
    result = {"examples": args.examples, "live_examples_per_s": round(live_rate),
              "replay_examples_per_s": round(replay_rate), "speedup": round(replay_rate / live_rate, 2),
              "live_snapshots": len(trainer.published), "replayed_versions": [s.version for s in replayed],
              "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
    print(f"live trainer: {live_rate:,.0f} examples/s ({len(trainer.published)} snapshots); "
          f"replay: {replay_rate:,.0f} examples/s ({result['speedup']}x)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
