from cartstream.operators.labelling import MAX_DELAY_MS, examples_from

SHOWN = {
    "items": [["lassi", {"similarity": 0.6}], ["naan", {"similarity": 0.2}], ["kulfi", {"similarity": 0.1}]],
    "trigger_event_id": "e1",
    "event_time": 1_000,
}


def test_the_acted_item_is_positive_and_the_other_shown_items_negative():
    examples = examples_from(SHOWN, "naan", 2_000)
    assert [(e["item_id"], e["label"]) for e in examples] == [("lassi", 0), ("naan", 1), ("kulfi", 0)]
    assert examples[1] == {"item_id": "naan", "trigger_event_id": "e1", "event_time": 2_000,
                           "features": {"similarity": 0.2}, "label": 1}


def test_acting_on_an_item_not_shown_makes_every_shown_item_negative():
    assert {e["label"] for e in examples_from(SHOWN, "pizza", 2_000)} == {0}


def test_nothing_shown_gives_no_examples():
    assert examples_from(None, "naan", 2_000) == []


def test_a_stale_list_or_an_action_before_it_gives_no_examples():
    assert examples_from(SHOWN, "naan", 1_000 + MAX_DELAY_MS + 1) == []
    assert examples_from(SHOWN, "naan", 999) == []
    assert len(examples_from(SHOWN, "naan", 1_000 + MAX_DELAY_MS)) == 3
