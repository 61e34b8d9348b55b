"""Stopping a Quix Streams Application from another thread, at any moment.

`Application.stop()` ends the run loop by marking it stopped, but `Application.run()` marks
itself running as its loop begins: a stop asked for before that moment (a replay whose
`--until` is already reached, a generation superseded while it starts) is forgotten and the
application runs on. `AppStopper` asks again every `REPEAT_S` until `run` has returned.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `cartstream infra ...` imports the registry and must not pay for Quix Streams
    from quixstreams import Application

__all__ = ["AppStopper"]

REPEAT_S = 0.2


class AppStopper:
    """Runs ``app`` and stops it on request, however early the request comes."""

    def __init__(self, app: "Application"):
        self.app = app
        self.requested = threading.Event()
        self.finished = threading.Event()

    def run(self) -> None:
        """``app.run()``, unless a stop came first."""
        try:
            if not self.requested.is_set():
                self.app.run()
        finally:
            self.finished.set()

    def stop(self) -> None:
        """Stop the application now, or as soon as its run loop has begun."""
        if self.requested.is_set():
            return
        self.requested.set()
        self.app.stop()
        threading.Thread(target=self._repeat, name="app-stopper", daemon=True).start()

    def _repeat(self) -> None:
        while not self.finished.wait(REPEAT_S):
            self.app.stop()
