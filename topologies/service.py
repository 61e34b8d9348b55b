"""Running a topology that has a loop of its own (embedder, trainer) as a service."""

from __future__ import annotations

import signal
from typing import Protocol

from .observability import HealthServer, Metrics
from .settings import Settings


class Loop(Protocol):
    metrics: Metrics

    def run(self) -> None: ...

    def stop(self, *_args) -> None: ...

    def is_stopping(self) -> bool: ...


def serve(loop: Loop, settings: Settings) -> None:
    """Run `loop` until SIGTERM or SIGINT, with /metrics and /health when a port is set."""
    if settings.metrics_port is not None:
        HealthServer(loop.metrics, settings.metrics_port, ready=lambda: not loop.is_stopping()).start()
    signal.signal(signal.SIGTERM, loop.stop)
    signal.signal(signal.SIGINT, loop.stop)
    loop.run()
