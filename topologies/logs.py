"""Structured logs: one JSON object per line on stderr, with the ids a record carries.

Examples
--------
>>> import logging
>>> formatter = JsonFormatter("recommender")
>>> record = logging.LogRecord("cartstream", logging.WARNING, __file__, 1, "dead letter: %s", ("not JSON",), None)
>>> record.event_id, record.user_id = "e1", "u1"
>>> line = formatter.format(record)
>>> import orjson; fields = orjson.loads(line)
>>> fields["level"], fields["topology"], fields["message"], fields["event_id"], fields["user_id"]
('WARNING', 'recommender', 'dead letter: not JSON', 'e1', 'u1')
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

import orjson

#: Attributes a log call may pass with `extra=` that travel as fields of their own.
CONTEXT_FIELDS = ("event_id", "user_id", "item_id", "topic", "partition", "offset", "model")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, topology, message, context ids."""

    def __init__(self, topology: str):
        super().__init__()
        self.topology = topology

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "topology": self.topology,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                fields[name] = getattr(record, name)
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        return orjson.dumps(fields, default=str).decode()


def configure(topology: str, level: int = logging.INFO) -> None:
    """Send every log record of this process to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(topology))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Quix Streams and the Kafka clients narrate every rebalance and checkpoint at INFO.
    logging.getLogger("quixstreams").setLevel(max(level, logging.WARNING))
