"""The exported JSON Schemas: committed copies match the code, and examples validate against them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

import cartstream.schemas
from cartstream.schemas import MESSAGES
from cartstream.schemas.examples import EXAMPLES
from cartstream.schemas.export import export_json_schemas, main

COMMITTED = Path(cartstream.schemas.__file__).parent / "json"
FIX = (
    "regenerate them with: cartstream schemas export schemas/json"
    " (or: python -m cartstream.schemas.export schemas/json)"
)


def validator_for(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((COMMITTED / f"{name}.json").read_bytes())
    return jsonschema.Draft202012Validator(schema)


def test_committed_json_schemas_match_the_code(tmp_path):
    fresh = {p.name: p.read_bytes() for p in export_json_schemas(tmp_path)}
    committed = {p.name: p.read_bytes() for p in COMMITTED.glob("*.json")}
    missing = sorted(fresh.keys() - committed.keys())
    stale = sorted(committed.keys() - fresh.keys())
    changed = sorted(name for name in fresh.keys() & committed.keys() if fresh[name] != committed[name])
    assert not (missing or changed), f"schemas/json/ drifted from the models ({missing=}, {changed=}); {FIX}"
    assert not stale, f"schemas/json/ holds schemas of no message: {stale}; delete them"


def test_export_writes_one_file_per_message_with_identical_bytes_every_time(tmp_path):
    first = export_json_schemas(tmp_path / "a")
    second = export_json_schemas(tmp_path / "b")
    assert [p.name for p in first] == [f"{m.__name__}.json" for m in MESSAGES]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_exported_schemas_are_draft_2020_12_with_id_title_and_trailing_newline(tmp_path):
    for path in export_json_schemas(tmp_path):
        raw = path.read_bytes()
        schema = json.loads(raw)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:cartstream:schema:{path.stem}"
        assert schema["title"] == path.stem
        assert raw.endswith(b"}\n") and not raw.endswith(b"\n\n")
        assert list(schema) == sorted(schema)


def test_export_command_line_writes_into_the_given_directory(tmp_path, capsys):
    assert main([str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{m.__name__}.json" for m in MESSAGES)
    assert "Click.json" in capsys.readouterr().out


@pytest.mark.parametrize("name", [m.__name__ for m in MESSAGES])
def test_every_example_validates_against_its_exported_schema(name):
    validator_for(name).validate(EXAMPLES[name])


@pytest.mark.parametrize("name", [m.__name__ for m in MESSAGES])
def test_exported_schemas_allow_unknown_fields(name):
    validator_for(name).validate({**EXAMPLES[name], "added_in_a_later_version": True})


def test_exported_schema_rejects_a_cart_add_without_item():
    raw = copy.deepcopy(EXAMPLES["CartEvent"])
    del raw["item_id"]
    with pytest.raises(jsonschema.ValidationError, match="'item_id' is a required property"):
        validator_for("CartEvent").validate(raw)


def test_exported_schema_accepts_a_cart_checkout_without_item():
    raw = {k: v for k, v in EXAMPLES["CartEvent"].items() if k not in {"item_id", "restaurant_id"}}
    validator_for("CartEvent").validate({**raw, "action": "checkout"})


@pytest.mark.parametrize(
    "name, field, value",
    [
        ("MenuItem", "price", 0),
        ("MenuItem", "category", "breakfast"),
        ("Click", "event_time", 1_732_540_012),
        ("Click", "user_id", ""),
        ("CartEvent", "quantity", 51),
        ("TrainingExample", "label", 2),
    ],
)
def test_exported_schemas_reject_what_the_models_reject(name, field, value):
    with pytest.raises(jsonschema.ValidationError):
        validator_for(name).validate({**EXAMPLES[name], field: value})
