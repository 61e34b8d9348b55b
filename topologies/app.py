"""Build a Quix Streams Application for one topology from the settings."""

from __future__ import annotations

import logging

from quixstreams import Application

from .settings import Settings


def make_application(settings: Settings, topology: str, **overrides) -> Application:
    """An exactly-once Application with its own consumer group and state folder."""
    options = dict(
        broker_address=settings.bootstrap_servers,
        consumer_group=settings.consumer_group(topology),
        state_dir=settings.state_dir / topology,
        processing_guarantee="exactly-once",
        auto_offset_reset="earliest",
        commit_interval=settings.commit_interval,
        loglevel=logging.WARNING,
        # Topics come from `cartstream topics create`; internal changelog topics are created here.
        auto_create_topics=True,
    )
    options.update(overrides)
    return Application(**options)
