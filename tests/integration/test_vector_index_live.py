"""A live catalog of 5,000 items through the embedder into every reader's vector index."""

from __future__ import annotations

import random

import numpy as np
import pytest

from cartstream.topologies.embedder import build
from cartstream.topologies.global_tables import RecommenderTables

from tests.integration.catalog import BASE_TIME
from tests.integration.support import produce

DISHES = ["curry", "naan", "biryani", "pizza", "pasta", "sushi", "ramen", "taco", "burrito", "salad",
          "lassi", "cola", "tiramisu", "mochi", "churros", "dal", "paneer", "risotto", "udon", "pho"]
ADJECTIVES = ["spicy", "creamy", "smoky", "crispy", "fresh", "garlic", "lemon", "sweet", "tangy", "herb"]


def menu(n: int, available: bool = True, name: str | None = None) -> dict:
    rng = random.Random(n)
    return {"event_id": f"m{n}-{available}-{name}", "event_time": BASE_TIME, "item_id": f"i{n}",
            "restaurant_id": f"r{n // 25}", "name": name or f"{rng.choice(ADJECTIVES)} {rng.choice(DISHES)} {n}",
            "category": rng.choice(["main", "side", "drink", "dessert", "starter"]), "cuisine": "mixed",
            "price": 4.0 + n % 20, "veg": n % 2 == 0, "available": available, "tags": []}


def load_tables(settings) -> tuple[RecommenderTables, int]:
    """Tables as a recommender instance builds them; also how many item-vectors offsets it read
    (records plus the markers of the embedder's transactions)."""
    tables = RecommenderTables(settings)
    started = dict(tables.start_offsets)
    reader = tables.reader(settings).start()
    assert reader.wait_caught_up(120)
    reader.stop()
    topic = settings.topic("item-vectors")
    read = sum(o - started.get(k, 0) for k, o in reader.positions.items() if k[0] == topic)
    return tables, read


def assert_index_is_the_live_catalog(tables, live: dict[str, bool]) -> None:
    index = tables.index
    assert len(index) == len(live) and all(i in index for i in live)
    assert all(index.is_available(i) == available for i, available in live.items())
    rng = np.random.default_rng(3)
    for _ in range(50):
        query = rng.normal(size=index.ndim).astype(np.float32)
        for item_id, _ in index.search(query, 50):
            assert live.get(item_id) is True, f"search returned {item_id}, which is not live and available"


@pytest.mark.timeout(900)
def test_index_converges_to_the_live_catalog_and_restarts_from_snapshot_plus_tail(settings):
    settings = settings.model_copy(update={"vector_projection_after": 2000})  # the big-catalog path too
    produce(settings, "menu-items", [(f"i{n}", menu(n)) for n in range(5000)])
    live = {f"i{n}": True for n in range(5000)}
    changes = []
    for n in range(0, 5000, 17):   # renamed: embedded again
        changes.append((f"i{n}", menu(n, name=f"chef's special {n}")))
    for n in range(3, 5000, 23):   # switched off
        changes.append((f"i{n}", menu(n, available=False)))
        live[f"i{n}"] = False
    for n in range(5, 5000, 29):   # deleted
        changes.append((f"i{n}", None))
        live.pop(f"i{n}")
    produce(settings, "menu-items", changes)
    build(settings).run(idle_timeout=3)

    tables, first_read = load_tables(settings)
    assert first_read >= 5000 + len(changes)
    assert tables.index.projection is not None  # past vector_projection_after: searched in 64 dimensions
    assert_index_is_the_live_catalog(tables, live)
    assert (settings.state_path("recommender-vectors") / "snapshot.json").exists()

    tail = [(f"i{n}", None) for n in range(7, 5000, 101)] + [(f"i{n}", menu(n)) for n in range(5000, 5040)]
    for key, value in tail:
        if value is None:
            live.pop(key, None)
        else:
            live[key] = True
    produce(settings, "menu-items", tail)
    build(settings).run(idle_timeout=3)

    restarted, read = load_tables(settings)
    # The snapshot is taken after the batch that brings 5,000 new offsets (or 60 s), wherever
    # the reader's batches fall: the restart resumes from it and reads only what follows.
    resumed_from = sum(restarted.start_offsets.values())
    assert resumed_from >= first_read // 2, "a restart must resume from the snapshot"
    assert read < first_read - resumed_from + 500, "a restart must read only the tail after the snapshot"
    np.testing.assert_array_equal(restarted.index.projection, tables.index.projection)
    assert_index_is_the_live_catalog(restarted, live)
