"""The product topologies as child processes, started as an operator would (``cartstream run NAME``).

The demo and `cartstream evaluate` both run the whole product this way: each topology in a
process and a session of its own, logging to a file, stopped with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .exceptions import BrokerUnavailableError, CartstreamError
from .registry import TOPOLOGIES
from .settings import Settings
from .topics import admin_client, existing_topics

__all__ = ["PRODUCT_TOPOLOGIES", "ChildTopologies", "delete_run_topics", "end_run_topics", "product_topologies",
           "run_settings"]

# A list holds about ten shown items, each one training example when the diner acts next:
# a snapshot every 500 examples puts a trained ranker (500 examples) live within seconds.
RUN_SNAPSHOT_EVERY = 500

# The product's topologies; the embedder joins when it is registered (without item
# vectors the recommender ranks without similarity, as the design's degradation says).
PRODUCT_TOPOLOGIES = ("embedder", "item-stats", "recommender", "trainer")


def run_settings(settings: Settings, label: str, run_id: str, state_dir: Path) -> Settings:
    """Settings of one demo or evaluation run: fresh topic and group names, private state,
    fast snapshots, so a run never mixes with another or with the live pipeline."""
    return settings.model_copy(update={
        "topic_prefix": f"{settings.topic_prefix}{label}-{run_id}.",
        "group_prefix": f"{settings.group_prefix}-{label}-{run_id}",
        "state_dir": state_dir,
        "snapshot_every": RUN_SNAPSHOT_EVERY,
    })


def delete_run_topics(settings: Settings) -> list[str]:
    """Delete the topics of a finished run (`run_settings`): its own, under its topic prefix,
    and the changelogs Quix Streams made for its consumer groups, whose names hold the
    run's group prefix; the names deleted."""
    admin = admin_client(settings)
    names = sorted(name for name in existing_topics(admin)
                   if name.startswith(settings.topic_prefix) or settings.group_prefix in name)
    for name, future in admin.delete_topics(names, operation_timeout=30).items() if names else ():
        try:
            future.result(timeout=60)
        except Exception as exc:  # KafkaException or a timeout: name the topic left behind
            raise BrokerUnavailableError(f"could not delete topic {name}: {exc}") from None
    return names


def end_run_topics(settings: Settings, keep: bool) -> None:
    """After a complete run: delete its topics, or say where they are kept."""
    if keep:
        print(f"topics kept under {settings.topic('*')}")
    else:
        print(f"deleted the run's {len(delete_run_topics(settings))} topics (--keep-topics keeps them)")


def product_topologies() -> list[str]:
    """The product topologies this installation registers, in start order."""
    return [name for name in PRODUCT_TOPOLOGIES if name in TOPOLOGIES]


class ChildTopologies:
    """Topologies running as child processes, each logging to a file of its own."""

    def __init__(self, names: list[str], settings: Settings, log_dir: Path):
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = {name: log_dir / f"{name}.log" for name in names}
        for n, name in enumerate(names):
            # With a metrics port, each child serves on its own: the port, the next one, ...
            port = None if settings.metrics_port is None else settings.metrics_port + n
            env = {**os.environ, **settings.model_copy(update={"metrics_port": port}).to_env()}
            with open(self.logs[name], "ab") as log:
                # A session of their own: Ctrl+C reaches the parent only, which then stops them in order.
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "cartstream.topologies.cli", "run", name],
                    env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def check(self) -> None:
        """Raise if a topology has exited: the parent would wait for output that never comes."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = self.logs[name].read_text(errors="replace").strip().splitlines()[-1:] or ["(empty log)"]
                raise CartstreamError(f"topology {name} exited with code {proc.returncode}: {tail[0]} "
                                      f"(log: {self.logs[name]})")

    def stop(self, timeout: float = 30.0) -> dict[str, int]:
        """SIGTERM every topology, wait for each to finish; kill any that does not. Name -> exit code."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes
