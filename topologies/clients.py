"""Configuration shared by the Kafka clients that CLI commands create."""

from __future__ import annotations

import logging

from .settings import Settings

# librdkafka writes every failed connection attempt to stderr; commands report a failure
# once, in one line of their own, so the clients' logs go to a logger outside logging's
# tree (nothing propagates) that discards them.
_CLIENT_LOG = logging.Logger("librdkafka")
_CLIENT_LOG.addHandler(logging.NullHandler())


def client_config(settings: Settings, config: dict[str, object] | None = None) -> dict[str, object]:
    """A quiet client configuration for the configured broker, plus `config`."""
    return {"bootstrap.servers": settings.bootstrap_servers, "logger": _CLIENT_LOG, **(config or {})}
