"""The embedder through the real broker: vectors for the live catalog, nothing embedded twice."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from cartstream.schemas import ItemVector
from cartstream.topologies.embedder import build

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
