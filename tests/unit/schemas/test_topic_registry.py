"""The topic registry: which message, key field and tombstone rule each design topic has."""

from __future__ import annotations

import pytest

from cartstream.schemas import INPUT_TOPICS, MESSAGES, TOPICS, UnknownTopicError, contract_for


@pytest.mark.parametrize(
    "topic, message, key_field",
    [
        ("menu-items", "MenuItem", "item_id"),
        ("clicks", "Click", "user_id"),
        ("carts", "CartEvent", "user_id"),
        ("item-vectors", "ItemVector", "item_id"),
        ("item-stats", "ItemStats", "item_id"),
        ("training-examples", "TrainingExample", "model_name"),
        ("model-snapshots", "ModelSnapshot", "model_name"),
        ("recommendations", "Recommendation", "user_id"),
        ("dead-letters", "DeadLetter", None),
    ],
)
def test_each_design_topic_names_its_message_and_key_field(topic, message, key_field):
    contract = contract_for(topic)
    assert (contract.name, contract.model.__name__, contract.key_field) == (topic, message, key_field)


def test_key_fields_are_required_string_fields_of_their_message():
    for contract in TOPICS.values():
        if contract.key_field is not None:
            field = contract.model.model_fields[contract.key_field]
            assert field.is_required() and field.annotation is str


def test_only_the_entity_topics_accept_tombstones():
    assert {name for name, c in TOPICS.items() if c.tombstones} == {"menu-items", "item-vectors"}


def test_input_topics_are_the_ones_outside_producers_write():
    assert INPUT_TOPICS == {"menu-items", "clicks", "carts"} and INPUT_TOPICS <= TOPICS.keys()


def test_every_message_is_registered_once():
    assert len(set(MESSAGES)) == len(MESSAGES) == len(TOPICS)


def test_unknown_topic_error_lists_the_known_topics_and_hints_at_the_prefix():
    with pytest.raises(UnknownTopicError) as info:
        contract_for("demo.clicks")
    message = str(info.value)
    assert message.startswith("'demo.clicks' is not a cartstream topic; expected one of menu-items, clicks")
    assert message.endswith("(without the topic prefix)")
