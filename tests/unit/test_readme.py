"""The README's producer snippet sends what the published JSON Schemas accept, and its commands work."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jsonschema

import cartstream.schemas
from cartstream.schemas.examples import EXAMPLES
from cartstream.topologies.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
SCHEMAS = Path(cartstream.schemas.__file__).parent / "json"


def python_snippet(containing: str) -> str:
    """The README's one fenced Python block that contains the given text."""
    blocks = [b for b in re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.M | re.S) if containing in b]
    assert len(blocks) == 1, f"expected one ```python block with {containing!r} in README.md, found {len(blocks)}"
    return blocks[0]


def payloads(code: str) -> dict[str, dict]:
    """Name -> value of every top-level `name = {...}` literal in a snippet."""
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(code).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
    }


def test_producer_snippet_sends_the_documented_examples_and_they_meet_the_json_schemas():
    sent = payloads(python_snippet("Producer("))
    assert sent == {"click": EXAMPLES["Click"], "cart_add": EXAMPLES["CartEvent"]}
    for name, message in (("click", "Click"), ("cart_add", "CartEvent")):
        schema = json.loads((SCHEMAS / f"{message}.json").read_bytes())
        # Through JSON and back, as the snippet sends it.
        jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(sent[name])))


def test_consumer_snippet_reads_recommendations_committed_only():
    code = python_snippet("Consumer(")
    assert '"isolation.level": "read_committed"' in code
    assert 'prefix + "recommendations"' in code


def test_the_schema_export_the_readme_names_writes_every_schema_and_prints_the_files(tmp_path, capsys):
    assert "cartstream schemas export DIR" in README.read_text()
    assert main(["schemas", "export", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert sorted(Path(p).name for p in printed) == sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert all(Path(p).read_bytes() == (SCHEMAS / Path(p).name).read_bytes() for p in printed)


def test_schema_export_into_a_file_fails_in_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert main(["schemas", "export", str(tmp_path / "taken")]) == 1
    assert capsys.readouterr().err == (
        f"cartstream: error: cannot write JSON Schemas into {tmp_path / 'taken'}: it is not a directory\n")
