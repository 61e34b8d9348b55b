"""Memory per 100k users of recommender state: serialised bytes, RocksDB on disk, process RSS.

The recommender keeps one `UserState` per diner in its Quix Streams state store
(RocksDB, mirrored to a changelog topic), as the JSON dict of `UserState.to_dict` under
the key ``user``. This benchmark builds that state for synthetic diners, each with a few
clicks and cart adds and the last list shown (ten items with their features, the part
that labels the next action), and writes it into RocksDB with the options Quix Streams
opens its stores with. It reports, scaled to 100k users:

- serialised bytes: the values as Quix Streams stores them (also what the changelog holds);
- RocksDB on disk after a flush and a full compaction (compressed SST files);
- process RSS growth while the store was written (memtables and block cache, which RocksDB
  bounds, so this one is reported for the users written, not scaled);
- RSS growth to hold the same states as live Python objects, for comparison.

Usage::

    .venv/bin/python bench/memory.py [--users 100000]

Prints a summary and writes ``bench/results/memory.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from quixstreams.state.rocksdb.options import RocksDBOptions
from rocksdict import Rdict

from cartstream.operators.catalog import ItemInfo
from cartstream.operators.features import FEATURE_NAMES
from cartstream.operators.user_state import UserState

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"
PER = 100_000
START_MS = 1_767_225_600_000
SEED = 11
CATEGORIES = ("main", "side", "drink", "dessert", "starter")


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_user(rng: random.Random, items: int = 10_000, events: int = 8) -> UserState:
    """A diner after `events` clicks and adds at one restaurant, with a list of ten just shown."""
    state = UserState()
    restaurant = rng.randrange(items // 20)
    t = START_MS + rng.randrange(86_400_000)
    for n in range(events):
        i = restaurant * 20 + rng.randrange(20)
        item = ItemInfo(f"i{i}", f"r{restaurant}", f"dish {i}", CATEGORIES[i % 5], f"c{i % 12}",
                        round(rng.uniform(3, 30), 2), i % 3 == 0)
        if n % 2:
            state.on_cart("add", item, quantity=1, event_time=t)
        else:
            state.on_click(item, event_time=t)
        t += rng.randrange(5_000, 120_000)
    shown = [(f"i{restaurant * 20 + rng.randrange(20)}", {name: rng.random() for name in FEATURE_NAMES})
             for _ in range(10)]
    state.show(shown, trigger_event_id=f"e{rng.getrandbits(48):x}", event_time=t)
    return state


def measure(users: int) -> dict:
    """Write `users` synthetic states into a RocksDB store like the recommender's; sizes per 100k users."""
    options = RocksDBOptions()
    rng = random.Random(SEED)
    gc.collect()
    before = rss_mb()
    serialised = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = Rdict(str(Path(tmp) / "state"), options=options.to_options())
        for n in range(users):
            value = options.dumps(synthetic_user(rng).to_dict())
            serialised += len(value)
            db[f"u{n}|user".encode()] = value
        write_s = time.perf_counter() - started
        store_rss = rss_mb() - before
        db.flush()
        db.compact_range(None, None)
        on_disk = sum(f.stat().st_size for f in Path(tmp, "state").glob("*.sst"))
        db.close()
    gc.collect()
    before = rss_mb()
    rng = random.Random(SEED)
    live = [synthetic_user(rng) for _ in range(users)]
    objects_rss = rss_mb() - before
    del live
    scale = PER / users
    return {
        "users": users,
        "serialised_bytes_per_user": round(serialised / users),
        "serialised_mb_per_100k_users": round(serialised * scale / 2**20, 1),
        "rocksdb_on_disk_mb_per_100k_users": round(on_disk * scale / 2**20, 1),
        "rocksdb_rss_growth_mb": round(store_rss, 1),
        "python_objects_rss_mb_per_100k_users": round(objects_rss * scale, 1),
        "write_users_per_s": round(users / write_s),
        "load_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=PER, help="synthetic diners (figures are scaled to 100k)")
    args = parser.parse_args()
    if args.users < 1:
        parser.error(f"--users wants at least 1, got {args.users}")
    result = measure(args.users)
    for name, value in result.items():
        print(f"{name:<40} {value}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
