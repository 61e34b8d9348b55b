"""Topology name -> the module that builds it, imported only when that topology runs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .exceptions import CartstreamError
from .settings import Settings

if TYPE_CHECKING:
    from quixstreams import Application

# Lazy on purpose: `cartstream infra ...` must not pay for importing Quix Streams.
TOPOLOGIES: dict[str, str] = {
    "user-activity": "cartstream.topologies.user_activity",
}


def build_topology(name: str, settings: Settings) -> "Application":
    """The Application of topology `name`."""
    try:
        module = importlib.import_module(TOPOLOGIES[name])
    except KeyError:
        raise CartstreamError(f"unknown topology {name!r}; choose one of {', '.join(sorted(TOPOLOGIES))}") from None
    return module.build(settings)
