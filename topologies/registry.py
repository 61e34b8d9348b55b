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
    "item-stats": "cartstream.topologies.item_stats",
    "recommender": "cartstream.topologies.recommender",
    "trainer": "cartstream.topologies.trainer",
    "embedder": "cartstream.topologies.embedder",
}


def _module(name: str):
    try:
        return importlib.import_module(TOPOLOGIES[name])
    except KeyError:
        raise CartstreamError(f"unknown topology {name!r}; choose one of {', '.join(sorted(TOPOLOGIES))}") from None


def build_topology(name: str, settings: Settings) -> "Application":
    """The Quix Streams Application of topology `name`."""
    return _module(name).build(settings)


def run_topology(name: str, settings: Settings) -> None:
    """Run topology `name` until it is stopped; the trainer has a loop of its own, not an Application."""
    module = _module(name)
    if hasattr(module, "run"):
        module.run(settings)
    else:
        module.build(settings).run()
