"""A stop asked for while a Quix Application is starting is not forgotten."""

from __future__ import annotations

import threading

from cartstream.topologies.app_stopper import AppStopper


class StartingApp:
    """Like a Quix Application: `run` marks itself running as its loop begins, which undoes
    any `stop` made before; `on_start` runs just before that moment."""

    def __init__(self, on_start=lambda: None):
        self.on_start = on_start
        self.running = False
        self.runs = 0
        self._tick = threading.Event()

    def run(self):
        self.runs += 1
        self.on_start()
        self.running = True
        while self.running:
            self._tick.wait(0.01)

    def stop(self):
        self.running = False


def test_a_stop_made_while_the_app_starts_still_stops_it():
    app = StartingApp()
    stopper = AppStopper(app)
    app.on_start = stopper.stop  # arrives after run() began, before its loop marked it running
    runner = threading.Thread(target=stopper.run, daemon=True)
    runner.start()
    runner.join(5)
    assert not runner.is_alive() and stopper.finished.is_set()


def test_a_stop_before_run_means_it_never_runs():
    app = StartingApp()
    stopper = AppStopper(app)
    stopper.stop()
    stopper.run()
    assert app.runs == 0 and stopper.finished.is_set()
