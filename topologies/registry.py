"""Topology name -> the module that builds it, imported only when that topology runs."""

from __future__ import annotations

import importlib

from .exceptions import CartstreamError
from .settings import Settings

# Lazy on purpose: `cartstream infra ...` must not pay for importing Quix Streams.
TOPOLOGIES: dict[str, str] = {
    "user-activity": "cartstream.topologies.user_activity",
    "item-stats": "cartstream.topologies.item_stats",
    "recommender": "cartstream.topologies.recommender",
    "trainer": "cartstream.topologies.trainer",
    "embedder": "cartstream.topologies.embedder",
}


def run_topology(name: str, settings: Settings) -> None:
    """Run topology `name` until it is stopped; the embedder and trainer have loops of their own."""
    try:
        module = importlib.import_module(TOPOLOGIES[name])
    except KeyError:
        raise CartstreamError(f"unknown topology {name!r}; choose one of {', '.join(sorted(TOPOLOGIES))}") from None
    if hasattr(module, "run"):
        module.run(settings)
    else:
        module.build(settings).run()
