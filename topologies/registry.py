"""Topology name -> builder, for `cartstream run` and the tests."""

from __future__ import annotations

from typing import Callable

from quixstreams import Application

from . import user_activity
from .exceptions import CartstreamError
from .settings import Settings

TOPOLOGIES: dict[str, Callable[[Settings], Application]] = {
    user_activity.NAME: user_activity.build,
}


def build_topology(name: str, settings: Settings) -> Application:
    """The Application of topology `name`."""
    try:
        builder = TOPOLOGIES[name]
    except KeyError:
        raise CartstreamError(f"unknown topology {name!r}; choose one of {', '.join(sorted(TOPOLOGIES))}") from None
    return builder(settings)
