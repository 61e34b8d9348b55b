"""validate_record: every way a raw Kafka record can break its topic's contract, and tombstones."""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartstream.operators.validation import (
    MAX_REASON_LENGTH,
    Accepted,
    Rejected,
    validate_record,
)
from cartstream.schemas import TOPICS, CartEvent, Click, MenuItem, UnknownTopicError, contract_for
from cartstream.schemas.examples import EXAMPLES, example_with


def encoded(message: str, /, **changes) -> bytes:
    """A shared example as JSON bytes, with some fields changed (None removes a field)."""
    return orjson.dumps(example_with(message, **changes))


def key_of(topic: str) -> bytes | None:
    """The key the topic's example message must carry."""
    contract = contract_for(topic)
    example = EXAMPLES[contract.model.__name__]
    return example[contract.key_field].encode() if contract.key_field else b"anything"


@pytest.mark.parametrize("topic", list(TOPICS))
def test_each_topic_accepts_its_example_under_the_right_key(topic):
    model = contract_for(topic).model
    result = validate_record(topic, key_of(topic), orjson.dumps(EXAMPLES[model.__name__]))
    assert isinstance(result, Accepted) and isinstance(result.message, model)
    assert not result.is_tombstone


def test_accepted_click_carries_the_key_as_text():
    result = validate_record("clicks", b"u-4821", encoded("Click"))
    assert result == Accepted("clicks", "u-4821", Click.model_validate(EXAMPLES["Click"]))


def test_cart_add_without_item_is_rejected():
    result = validate_record("carts", b"u-4821", encoded("CartEvent", item_id=None))
    assert isinstance(result, Rejected) and result.kind == "schema"
    assert result.reason == "schema violation: action 'add' needs item_id and restaurant_id"


def test_cart_checkout_without_item_is_accepted():
    raw = encoded("CartEvent", action="checkout", item_id=None, restaurant_id=None)
    assert isinstance(validate_record("carts", b"u-4821", raw).message, CartEvent)


def test_value_that_is_not_json_is_rejected_with_the_parse_error():
    result = validate_record("clicks", b"u-4821", b'{"event_id": "e1",')
    assert (result.kind, result.reason) == ("not-json", "not JSON: EOF while parsing a value at line 1 column 18")


def test_value_that_is_not_utf8_is_rejected_with_the_byte_position():
    result = validate_record("clicks", b"u-4821", b'{"event_id": "caf\xe9"}')
    assert (result.kind, result.reason) == ("not-utf8", "not UTF-8: invalid byte at position 17")


def test_json_that_is_not_an_object_is_a_schema_violation():
    result = validate_record("clicks", b"u-4821", b"[1, 2]")
    assert (result.kind, result.reason) == ("schema", "schema violation: Input should be an object")


def test_schema_violation_names_each_field_path_and_problem():
    raw = encoded("MenuItem", price=-1, category="breakfast", name=None)
    result = validate_record("menu-items", b"r17-butter-chicken", raw)
    assert result.reason == (
        "schema violation: name: Field required; category: Input should be 'main', 'side', "
        "'starter', 'drink' or 'dessert'; price: Input should be greater than 0"
    )


def test_schema_violation_of_a_nested_field_gives_its_path():
    raw = encoded("Recommendation", items=[{"item_id": "i", "restaurant_id": "r", "score": "high", "reason": ""}])
    assert validate_record("recommendations", b"u-4821", raw).reason == (
        "schema violation: items[0].score: Input should be a valid number"
    )


def test_many_schema_violations_are_summarised_within_a_bounded_length():
    raw = orjson.dumps({f"field-{'x' * 300}-{i}": i for i in range(50)} | {"features": {"k" * 500: "v"}})
    result = validate_record("training-examples", b"ranker-a", raw)
    assert result.kind == "schema"
    assert result.reason.endswith("more") and len(result.reason) <= MAX_REASON_LENGTH


def test_missing_key_is_rejected_naming_the_key_field():
    result = validate_record("clicks", None, encoded("Click"))
    assert (result.kind, result.reason) == ("key", "key missing: clicks is keyed by user_id")


def test_key_not_equal_to_the_key_field_is_rejected():
    result = validate_record("carts", b"u-9999", encoded("CartEvent"))
    assert (result.kind, result.reason) == ("key", "key mismatch: key 'u-9999' does not equal user_id 'u-4821'")


def test_key_that_is_not_utf8_is_rejected():
    result = validate_record("menu-items", b"\xff", encoded("MenuItem"))
    assert (result.kind, result.reason) == ("key", "key is not UTF-8: invalid byte at position 0")


def test_model_topics_are_keyed_by_model_name():
    assert isinstance(validate_record("training-examples", b"ranker-b", encoded("TrainingExample")), Rejected)
    assert isinstance(validate_record("model-snapshots", b"ranker-a", encoded("ModelSnapshot")), Accepted)


def test_null_value_on_menu_items_is_an_accepted_delete_of_its_key():
    result = validate_record("menu-items", b"r17-butter-chicken", None)
    assert result == Accepted("menu-items", "r17-butter-chicken", None) and result.is_tombstone


def test_tombstone_without_a_key_is_rejected():
    assert validate_record("menu-items", None, None).reason == "key missing: menu-items is keyed by item_id"
    for key in (b"", b"i" * 129):
        assert validate_record("menu-items", key, None).reason == (
            "key is not an item_id: a tombstone must name what it deletes"
        )


@pytest.mark.parametrize("topic", ["clicks", "carts", "recommendations", "item-stats", "dead-letters"])
def test_null_value_is_rejected_where_tombstones_are_not_allowed(topic):
    result = validate_record(topic, b"k", None)
    assert (result.kind, result.reason) == ("null-value", f"null value: {topic} does not allow tombstones")


def test_rejection_keeps_the_original_key_and_value_bytes():
    result = validate_record("clicks", b"\x00k", b"\x00v")
    assert (result.topic, result.key, result.value) == ("clicks", b"\x00k", b"\x00v")


def test_dead_letters_accept_any_original_key():
    assert validate_record("dead-letters", b"\xff\xfe", encoded("DeadLetter")).key is None
    assert validate_record("dead-letters", None, encoded("DeadLetter")).key is None


def test_unknown_topic_is_a_programming_error_not_a_rejection():
    with pytest.raises(UnknownTopicError):
        validate_record("prod.clicks", b"u", b"{}")


def test_integers_beyond_64_bits_are_a_schema_violation_not_a_crash():
    raw = encoded("Click").replace(b'"event_time":1732540012345', b'"event_time":' + b"9" * 400)
    assert validate_record("clicks", b"u-4821", raw).reason.startswith("schema violation: event_time: ")


@pytest.mark.parametrize("extra", [b"NaN", b"-Infinity", b"1e999", b"[" + b"9" * 30 + b"]"])
def test_unknown_field_that_could_not_be_passed_on_unchanged_is_rejected(extra):
    raw = encoded("Click")[:-1] + b',"extra":' + extra + b"}"
    result = validate_record("clicks", b"u-4821", raw)
    assert result.kind == "schema" and "unknown fields must hold standard JSON" in result.reason


def test_unknown_fields_pass_and_are_listed():
    result = validate_record("menu-items", b"r17-butter-chicken", encoded("MenuItem", allergens=["nuts"]))
    assert isinstance(result.message, MenuItem) and result.message.unknown_fields == ["allergens"]


# Values that are JSON objects close to a valid message find the deeper branches that
# purely random bytes would almost never reach.
json_values = st.recursive(
    # orjson writes 64-bit integers only; bigger ones have their own test below.
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def near_valid_values(draw) -> bytes:
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    raw = copy.deepcopy(EXAMPLES[name])
    fields = st.sampled_from(sorted(raw)) | st.text(max_size=8)
    for field in draw(st.lists(fields, max_size=3, unique=True)):
        if draw(st.booleans()):
            raw[field] = draw(json_values)
        else:
            raw.pop(field, None)
    return orjson.dumps(raw)


@settings(max_examples=300)
@given(
    topic=st.sampled_from(sorted(TOPICS)),
    key=st.none() | st.binary(max_size=40) | st.sampled_from([b"u-4821", b"r17-butter-chicken", b"ranker-a"]),
    value=st.none() | st.binary(max_size=200) | near_valid_values(),
)
def test_validate_record_never_raises_and_always_decides(topic, key, value):
    result = validate_record(topic, key, value)
    assert isinstance(result, Accepted | Rejected)
    if isinstance(result, Rejected):
        assert result.reason and len(result.reason) <= MAX_REASON_LENGTH
        assert (result.key, result.value) == (key, value)
    elif result.message is None:
        assert value is None and contract_for(topic).tombstones
    else:
        # Whatever is accepted can be passed on: it serializes and reads back unchanged.
        assert type(result.message).from_json(result.message.to_json()) == result.message
