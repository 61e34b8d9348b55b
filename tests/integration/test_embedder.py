"""The embedder through the real broker: vectors for the live catalog, nothing embedded twice."""

from __future__ import annotations

import threading

import numpy as np
import orjson
import pytest

from cartstream.compose import process
from cartstream.models.embedder import TextEmbedder
from cartstream.schemas import ItemVector
from cartstream.topologies.embedder import Embedder, build

from tests.integration.catalog import catalog, menu_item
from tests.integration.support import consume_until, produce


@pytest.fixture(scope="module")
def model_dir(infra_settings):
    path = infra_settings.embed_model_dir()
    if not (path / "manifest.json").exists():
        pytest.fail(f"no exported model at {path}: .ci/test builds it with `python -m cartstream.models.onnx_export`")
    return path


def latest(messages) -> dict[str, ItemVector | None]:
    out = {}
    for m in messages:
        out[m.key().decode()] = None if m.value() is None else ItemVector.from_json(m.value())
    return out


def test_catalog_changes_converge_to_the_live_catalog_and_unchanged_text_is_not_re_embedded(settings, model_dir):
    menu = catalog(restaurants=4, items=10, unavailable=())
    produce(settings, "menu-items", [(m["item_id"], m) for m in menu] + [("bad", b"{broken")])
    first = build(settings)
    first.run(idle_timeout=2)
    vectors = latest(consume_until(settings, "item-vectors", lambda ms: len(ms) >= len(menu)))
    assert set(vectors) == {m["item_id"] for m in menu}
    assert first.metrics.embedded._value.get() == len(menu)
    v = vectors["r1-0"].vector_array()
    assert v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1) < 1e-4
    before = {item_id: iv.vector_array() for item_id, iv in vectors.items()}

    # Price and availability changes, a rename, a delete: a restarted embedder embeds only the rename.
    changes = [
        ("r1-1", {**menu_item("r1", 1), "price": 99.0}),
        ("r1-2", menu_item("r1", 2, available=False)),
        ("r2-3", {**menu_item("r2", 3), "name": "Paneer Tikka Masala"}),
        ("r3-4", None),
    ]
    produce(settings, "menu-items", changes)
    second = build(settings)
    second.run(idle_timeout=2)
    assert second.metrics.embedded._value.get() == 1
    vectors = latest(consume_until(settings, "item-vectors", lambda ms: len(ms) >= len(menu) + len(changes)))
    assert vectors["r3-4"] is None
    assert vectors["r1-1"].price == 99.0
    assert np.array_equal(vectors["r1-1"].vector_array(), before["r1-1"]), "a price change must reuse the vector"
    assert vectors["r1-2"].available is False
    assert vectors["r2-3"].name == "Paneer Tikka Masala"
    assert not np.array_equal(vectors["r2-3"].vector_array(), before["r2-3"])

    dead = consume_until(settings, "dead-letters", lambda ms: len(ms) >= 1)
    assert orjson.loads(dead[0].value())["source_topic"] == settings.topic("menu-items")


class HeldModel:
    """The real model, whose first batch waits until the test lets it go; records batch sizes."""

    def __init__(self, model):
        self.model, self.model_id, self.dim = model, model.model_id, model.dim
        self.release = threading.Event()
        self.batches: list[int] = []

    def embed_many(self, texts):
        self.batches.append(len(texts))
        assert self.release.wait(60), "the test never let the first batch go"
        return self.model.embed_many(texts)


class CountingConsumer:
    """The embedder's consumer, counting its polls."""

    def __init__(self, consumer):
        self.consumer, self.polls = consumer, 0

    def consume(self, *args, **kwargs):
        self.polls += 1
        return self.consumer.consume(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.consumer, name)


def test_a_slow_batch_never_stops_polling_and_a_partial_batch_closes_on_its_deadline(settings, model_dir):
    tuned = settings.model_copy(update={"embed_batch_size": 8, "embed_deadline_ms": 200})
    produce(tuned, "menu-items", [(m["item_id"], m) for m in catalog(restaurants=1, items=3, unavailable=())])
    model = HeldModel(TextEmbedder(model_dir))
    embedder = Embedder(tuned, model)
    embedder.consumer = consumer = CountingConsumer(embedder.consumer)
    loop = threading.Thread(target=embedder.run, kwargs={"idle_timeout": 2}, daemon=True)
    loop.start()
    try:
        assert process.wait_until(lambda: model.batches, 60, interval=0.01), "no batch within 60 s"
        assert model.batches == [3], "three items, fewer than a batch: closed by the deadline"
        # While the batch is held, the loop keeps polling (liveness) and fills the next batch
        # only up to its size: the rest waits in Kafka (the consumer is paused).
        produce(tuned, "menu-items", [(m["item_id"], m) for m in catalog(restaurants=3, items=10, unavailable=())
                                      if m["restaurant_id"] != "r1"])
        polls = consumer.polls
        assert process.wait_until(lambda: consumer.polls >= polls + 20 and len(embedder.pending) == 8, 30,
                                  interval=0.01), (consumer.polls - polls, len(embedder.pending))
        assert model.batches == [3]
    finally:
        model.release.set()
        loop.join(120)
    assert not loop.is_alive()
    assert sum(model.batches) == 23 and max(model.batches) <= 8
    vectors = latest(consume_until(tuned, "item-vectors", lambda ms: len(ms) >= 23))
    assert len(vectors) == 23
