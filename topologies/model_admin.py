"""`cartstream model list|rollback`: the versions on `model-snapshots`, and going back to one.

A rollback publishes the chosen version's model again as a new, higher version, so every
recommender switches to it and a running trainer adopts it and learns on from there. It
keeps the newest snapshot's input offsets: the examples since then are not learnt again.
"""

from __future__ import annotations

from confluent_kafka import Producer

from ..schemas import ModelSnapshot
from .clients import client_config
from .exceptions import CartstreamError
from .table_reader import read_to_end
from .settings import Settings


def all_snapshots(settings: Settings) -> list[ModelSnapshot]:
    """Every snapshot still on the topic, by model name and version."""
    found: list[ModelSnapshot] = []
    read_to_end(settings, settings.topic("model-snapshots"),
                lambda key, value: value is not None and found.append(ModelSnapshot.from_json(value)))
    return sorted(found, key=lambda s: (s.model_name, s.version))


def snapshots_of(settings: Settings, model_name: str) -> list[ModelSnapshot]:
    """The snapshots of `model_name` still on the topic, by version; CartstreamError if none."""
    versions = [s for s in all_snapshots(settings) if s.model_name == model_name]
    if not versions:
        raise CartstreamError(f"no snapshots of model {model_name!r} on {settings.topic('model-snapshots')}")
    return versions


def rollback(settings: Settings, model_name: str, version: int) -> ModelSnapshot:
    """Publish `version` of `model_name` again as its newest version; returns the new snapshot."""
    versions = snapshots_of(settings, model_name)
    chosen = next((s for s in versions if s.version == version), None)
    if chosen is None:
        known = ", ".join(str(s.version) for s in versions[-10:])
        raise CartstreamError(f"model {model_name!r} has no version {version} on the topic (latest: {known})")
    newest = versions[-1]
    restored = ModelSnapshot.from_model_bytes(
        chosen.model_bytes(), model_name=model_name, version=newest.version + 1,
        created_event_time=newest.created_event_time, examples_seen=chosen.examples_seen,
        metrics={**chosen.metrics, "rollback_of_version": float(version)},
        input_offsets=[o.model_dump() for o in newest.input_offsets],
    )
    return publish_snapshots(settings, [restored])[0]


def publish_snapshots(settings: Settings, snapshots: list[ModelSnapshot]) -> list[ModelSnapshot]:
    """Publish snapshots made outside the trainer (a rollback, a replay); wait for the broker.

    Raises CartstreamError if the broker refused one, or if a running trainer published a
    different snapshot under the same version meanwhile (its own, or the one published here,
    might then be ignored: the trainer adopts only a higher version).
    """
    refused: list[str] = []
    producer = Producer(client_config(settings, {"enable.idempotence": True,
                         "message.max.bytes": 4 * 1024 * 1024}))
    for snapshot in snapshots:
        producer.produce(settings.topic("model-snapshots"), key=snapshot.model_name, value=snapshot.to_json(),
                         on_delivery=lambda error, _msg: error is not None and refused.append(error.str()))
    if producer.flush(30) != 0:
        raise CartstreamError("the broker did not acknowledge the model snapshots within 30s")
    if refused:
        raise CartstreamError(f"the broker refused a model snapshot: {refused[0]}")
    ours = {(s.model_name, s.version): s.sha256 for s in snapshots}
    for other in all_snapshots(settings):
        if ours.get((other.model_name, other.version), other.sha256) != other.sha256:
            raise CartstreamError(f"a running trainer published {other.model_name} version {other.version} too, "
                                  "meanwhile; run the command again")
    return snapshots
