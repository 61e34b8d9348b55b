"""The rebuild's memory of `item-vectors`: what the new model already has, per item and text."""

from __future__ import annotations

import numpy as np

from cartstream.schemas import ItemVector, MenuItem
from cartstream.schemas.examples import example_with
from cartstream.operators.item_text import item_text, text_hash
from cartstream.topologies.embed_rebuild import VectorLog

ITEM = MenuItem(**example_with("MenuItem"))


def vector(model: str, text: str, event_time: int = ITEM.event_time) -> bytes:
    return ItemVector.from_array(np.ones(4, dtype=np.float32), item_id=ITEM.item_id, restaurant_id="r17",
                                 model_id=model, text_hash=text_hash(text), available=True, name="Butter Chicken",
                                 category="main", cuisine="indian", price=13.5, veg=False,
                                 event_time=event_time).to_json()


def test_an_item_is_current_only_when_its_latest_record_is_the_new_models_vector_of_this_menu_record():
    text = item_text(ITEM.model_dump())
    log = VectorLog()
    log.apply("new", ITEM.item_id, vector("new", text))
    assert log.is_current("new", ITEM) and ITEM.item_id in log.known
    log.apply("new", ITEM.item_id, vector("old", text))           # the live embedder wrote after it
    assert not log.is_current("new", ITEM) and ITEM.item_id in log.known, "the vector is still reusable"
    log.apply("new", ITEM.item_id, vector("new", text, event_time=ITEM.event_time - 1))
    assert not log.is_current("new", ITEM), "an older menu record (price, availability) is written again"
    assert log.served_models("new") == set()
    log.apply("new", ITEM.item_id, None)
    assert not log.known and not log.latest


def test_served_models_are_the_other_models_of_latest_records():
    log = VectorLog()
    log.apply("new", "a", vector("old", "x"))
    log.apply("new", "b", vector("new", "y"))
    assert log.served_models("new") == {"old"} and log.dims == {"old": 4, "new": 4}
