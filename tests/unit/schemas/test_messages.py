"""Field rules of every message: what each contract accepts, rejects and records."""

from __future__ import annotations

import base64

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from cartstream.schemas import (
    MESSAGES,
    CartEvent,
    Click,
    DeadLetter,
    ItemStats,
    ItemVector,
    MenuItem,
    ModelSnapshot,
    Recommendation,
    TrainingExample,
)
from cartstream.schemas.base import MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS
from cartstream.schemas.examples import EXAMPLES, example_with


def example(message: str, /, **changes) -> dict:
    """A deep copy of a shared example with some fields changed; a None change removes it."""
    return example_with(message, **changes)


def rejects(model, raw: dict) -> list[tuple]:
    """The error locations pydantic reports when a JSON message is validated; fails if valid."""
    with pytest.raises(ValidationError) as info:
        model.from_json(orjson.dumps(raw))
    return [e["loc"] for e in info.value.errors()]


@pytest.mark.parametrize("model", MESSAGES, ids=lambda m: m.__name__)
def test_every_example_is_valid_and_round_trips_through_json(model):
    message = model.from_json(orjson.dumps(EXAMPLES[model.__name__]))
    assert model.from_json(message.to_json()) == message
    assert orjson.loads(message.to_json()) == EXAMPLES[model.__name__]


@pytest.mark.parametrize("model", MESSAGES, ids=lambda m: m.__name__)
def test_unknown_fields_are_kept_and_listed_sorted(model):
    raw = example(model.__name__, zeta=1, alpha={"nested": [1, 2]})
    message = model.from_json(orjson.dumps(raw))
    assert message.unknown_fields == ["alpha", "zeta"]
    assert orjson.loads(message.to_json())["alpha"] == {"nested": [1, 2]}


@pytest.mark.parametrize("model", MESSAGES, ids=lambda m: m.__name__)
def test_schema_version_defaults_to_one_and_other_versions_are_rejected(model):
    assert model.from_json(orjson.dumps(example(model.__name__, schema_version=None))).schema_version == 1
    assert rejects(model, example(model.__name__, schema_version=2)) == [("schema_version",)]


def test_cart_add_without_item_is_rejected():
    with pytest.raises(ValidationError, match="action 'add' needs item_id and restaurant_id"):
        CartEvent.from_json(orjson.dumps(example("CartEvent", item_id=None)))


def test_cart_remove_without_restaurant_is_rejected():
    with pytest.raises(ValidationError, match="action 'remove' needs item_id and restaurant_id"):
        CartEvent.from_json(orjson.dumps(example("CartEvent", action="remove", restaurant_id=None)))


@pytest.mark.parametrize("action", ["clear", "checkout"])
def test_cart_clear_and_checkout_need_no_item(action):
    event = CartEvent.from_json(orjson.dumps(example("CartEvent", action=action, item_id=None, restaurant_id=None)))
    assert event.item_id is None and event.restaurant_id is None


def test_cart_action_outside_the_enum_is_rejected():
    assert rejects(CartEvent, example("CartEvent", action="wishlist")) == [("action",)]


@pytest.mark.parametrize("quantity", [0, 51, -1, 2.0, "2"])
def test_cart_quantity_outside_one_to_fifty_or_not_an_integer_is_rejected(quantity):
    assert rejects(CartEvent, example("CartEvent", quantity=quantity)) == [("quantity",)]


def test_cart_quantity_defaults_to_one():
    assert CartEvent.from_json(orjson.dumps(example("CartEvent", quantity=None))).quantity == 1


@pytest.mark.parametrize("price", [0, -3.5, 1000.01, "12.5", True])
def test_menu_item_price_must_be_a_number_above_zero_up_to_a_thousand(price):
    assert rejects(MenuItem, example("MenuItem", price=price)) == [("price",)]


def test_menu_item_price_of_exactly_a_thousand_is_accepted():
    assert MenuItem.from_json(orjson.dumps(example("MenuItem", price=1000))).price == 1000.0


def test_menu_item_nan_or_infinite_price_is_rejected():
    raw = orjson.dumps(EXAMPLES["MenuItem"]).replace(b'"price":13.5', b'"price":NaN')
    with pytest.raises(ValidationError):
        MenuItem.from_json(raw)
    raw = orjson.dumps(EXAMPLES["MenuItem"]).replace(b'"price":13.5', b'"price":1e999')
    with pytest.raises(ValidationError):
        MenuItem.from_json(raw)


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", ""),
        ("name", "x" * 201),
        ("description", "x" * 2001),
        ("cuisine", ""),
        ("cuisine", "x" * 51),
        ("category", "breakfast"),
        ("tags", ["x"] * 21),
        ("tags", ["x" * 41]),
        ("veg", "yes"),
        ("available", 1),
    ],
)
def test_menu_item_text_lengths_enums_and_booleans_are_enforced(field, value):
    assert rejects(MenuItem, example("MenuItem", **{field: value}))[0][0] == field


def test_menu_item_description_defaults_empty_and_item_available():
    item = MenuItem.from_json(orjson.dumps(example("MenuItem", description=None, available=None)))
    assert (item.description, item.available) == ("", True)


@pytest.mark.parametrize(
    "event_time", [MIN_EVENT_TIME_MS - 1, MAX_EVENT_TIME_MS, 1_732_540_012, "1732540012345", 1.7e12]
)
def test_event_times_outside_2000_to_2100_in_milliseconds_are_rejected(event_time):
    assert rejects(Click, example("Click", event_time=event_time)) == [("event_time",)]


@pytest.mark.parametrize("field", ["event_id", "user_id", "item_id", "restaurant_id", "session_id"])
def test_ids_must_be_non_empty_and_at_most_128_characters(field):
    assert rejects(Click, example("Click", **{field: ""})) == [(field,)]
    assert rejects(Click, example("Click", **{field: "u" * 129})) == [(field,)]
    assert getattr(Click.from_json(orjson.dumps(example("Click", **{field: "u" * 128}))), field) == "u" * 128


def test_click_session_is_optional():
    assert Click.from_json(orjson.dumps(example("Click", session_id=None))).session_id is None


def test_missing_required_field_is_reported_by_name():
    assert rejects(Click, example("Click", user_id=None)) == [("user_id",)]


def test_item_vector_array_round_trips_through_base64_little_endian():
    array = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    vector = ItemVector.from_array(array, **example("ItemVector", vector=None, dim=None))
    assert vector.dim == 384
    np.testing.assert_array_equal(ItemVector.from_json(vector.to_json()).vector_array(), array)
    # Little-endian float32 on the wire, whatever the host's byte order.
    assert base64.b64decode(vector.vector) == array.astype("<f4").tobytes()


def test_item_vector_whose_dim_disagrees_with_the_vector_is_rejected():
    with pytest.raises(ValidationError, match="vector has 4 floats but dim is 5"):
        ItemVector.from_json(orjson.dumps(example("ItemVector", dim=5)))


@pytest.mark.parametrize("vector", ["not base64!", "AAAA", "AACAPw"])
def test_item_vector_that_is_not_base64_float32_is_rejected(vector):
    with pytest.raises(ValidationError):
        ItemVector.from_json(orjson.dumps(example("ItemVector", vector=vector, dim=1)))


def test_item_vector_holding_nan_is_rejected():
    with pytest.raises(ValidationError, match="NaN or infinity"):
        ItemVector.from_array(np.array([0.1, np.nan], dtype=np.float32), **example("ItemVector", vector=None, dim=None))


def test_item_vector_from_a_matrix_is_refused():
    with pytest.raises(ValueError, match="1-d"):
        ItemVector.from_array(np.zeros((2, 2)), **example("ItemVector", vector=None, dim=None))


def test_item_stats_negative_counts_and_trending_are_rejected():
    assert rejects(ItemStats, example("ItemStats", clicks=-1, trending=-0.1)) == [("clicks",), ("trending",)]


def test_item_stats_neighbour_with_unbounded_id_is_reported_with_its_path():
    raw = example("ItemStats", neighbours=[{"item_id": "x" * 129, "score": 0.1}])
    assert rejects(ItemStats, raw) == [("neighbours", 0, "item_id")]


def test_training_example_label_is_zero_or_one():
    assert rejects(TrainingExample, example("TrainingExample", label=2)) == [("label",)]


def test_training_example_features_are_numbers():
    assert rejects(TrainingExample, example("TrainingExample", features={"similarity": "high"})) == [
        ("features", "similarity")
    ]


def test_model_snapshot_with_mismatched_sha256_is_rejected():
    with pytest.raises(ValidationError, match="sha256 does not match"):
        ModelSnapshot.from_json(orjson.dumps(example("ModelSnapshot", sha256="0" * 64)))


def test_model_snapshot_version_starts_at_one():
    assert rejects(ModelSnapshot, example("ModelSnapshot", version=0)) == [("version",)]


def test_model_snapshot_from_model_bytes_derives_base64_and_sha256():
    fields = example("ModelSnapshot", model_b64=None, sha256=None)
    snapshot = ModelSnapshot.from_model_bytes(b"river ranker snapshot v3", **fields)
    assert snapshot.model_dump() == EXAMPLES["ModelSnapshot"]
    assert snapshot.model_bytes() == b"river ranker snapshot v3"


def test_recommendation_mode_and_model_version_are_checked():
    assert rejects(Recommendation, example("Recommendation", mode="random", model_version=-1)) == [
        ("model_version",),
        ("mode",),
    ]


def test_dead_letter_encodings_are_utf8_or_base64():
    assert rejects(DeadLetter, example("DeadLetter", payload_encoding="hex")) == [("payload_encoding",)]


def test_messages_are_immutable():
    click = Click.from_json(orjson.dumps(EXAMPLES["Click"]))
    with pytest.raises(ValidationError):
        click.user_id = "someone-else"
