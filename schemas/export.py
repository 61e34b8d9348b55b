"""Export every message's JSON Schema (draft 2020-12) as one deterministic file per message.

The files in ``schemas/json/`` are generated from the models here; regenerate them with
``cartstream schemas export schemas/json`` (or ``python -m cartstream.schemas.export
schemas/json``) whenever a model changes. A unit test fails when they drift.

Examples
--------
>>> from cartstream.schemas.click import Click
>>> schema = json_schema_for(Click)
>>> schema["$schema"], schema["$id"], schema["title"]
('https://json-schema.org/draft/2020-12/schema', 'urn:cartstream:schema:Click', 'Click')
>>> schema_bytes(Click).endswith(b"}\\n")
True
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from cartstream.schemas.base import Message
from cartstream.schemas.topics import MESSAGES

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:cartstream:schema:"


def json_schema_for(model: type[Message]) -> dict[str, Any]:
    """The JSON Schema a producer validates one message against, with ``$schema`` and ``$id``."""
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = DRAFT
    schema["$id"] = f"{ID_PREFIX}{model.__name__}"
    schema["title"] = model.__name__
    return schema


def schema_bytes(model: type[Message]) -> bytes:
    """A message's JSON Schema as file bytes: sorted keys, two-space indent, trailing newline."""
    # Sorted keys make the bytes depend only on the schema, so the drift test can compare them.
    return orjson.dumps(json_schema_for(model), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def export_json_schemas(directory: Path) -> list[Path]:
    """Write ``<MessageName>.json`` for every message into directory; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for model in MESSAGES:
        path = directory / f"{model.__name__}.json"
        path.write_bytes(schema_bytes(model))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: export the JSON Schemas into the given directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write <MessageName>.json files")
    args = parser.parse_args(argv)
    for path in export_json_schemas(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
