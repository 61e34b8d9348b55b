"""The design's topics, their cleanup policies, and idempotent provisioning on the broker."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from .clients import client_config
from .exceptions import BrokerUnavailableError
from .settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the design: its name (before the prefix), key and cleanup policy."""

    name: str
    key: str
    cleanup: str  # "compact" keeps the latest value per key; "delete" keeps a time window

    def config(self) -> dict[str, str]:
        config = {"cleanup.policy": self.cleanup}
        if self.cleanup == "compact":
            # Keep tombstones long enough for a slow reader of the compacted table to see deletes.
            config["delete.retention.ms"] = str(24 * 3600 * 1000)
        return config


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("menu-items", "item_id", "compact"),
    TopicSpec("clicks", "user_id", "delete"),
    TopicSpec("carts", "user_id", "delete"),
    TopicSpec("item-vectors", "item_id", "compact"),
    TopicSpec("item-stats", "item_id", "compact"),
    TopicSpec("training-examples", "model name", "delete"),
    TopicSpec("model-snapshots", "model name", "compact"),
    TopicSpec("recommendations", "user_id", "delete"),
    TopicSpec("dead-letters", "original key", "delete"),
    TopicSpec("user-activity", "user_id", "compact"),
    TopicSpec("embedding-models", "active", "compact"),
    # Which consumer-group generation of each topology is live, and the replay under way.
    TopicSpec("topology-generations", "topology", "compact"),
)


def admin_client(settings: Settings) -> AdminClient:
    """An admin client for the configured broker."""
    return AdminClient(client_config(settings, {"socket.timeout.ms": 10000}))


def existing_topics(admin: AdminClient, timeout: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count of every topic on the broker."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnavailableError(f"cannot reach Kafka: {exc.args[0].str()}") from None
    return {name: len(t.partitions) for name, t in metadata.topics.items()}


def create_topics(settings: Settings, specs: tuple[TopicSpec, ...] = TOPICS) -> dict[str, str]:
    """Create every topic that does not exist yet; topic -> "created" or "exists"."""
    admin = admin_client(settings)
    present = existing_topics(admin)
    wanted = [
        NewTopic(settings.topic(s.name), num_partitions=settings.partitions, replication_factor=1,
                 config=s.config())
        for s in specs if settings.topic(s.name) not in present
    ]
    outcome = {settings.topic(s.name): "exists" for s in specs if settings.topic(s.name) in present}
    for name, future in (admin.create_topics(wanted, request_timeout=30) if wanted else {}).items():
        try:
            future.result()
            outcome[name] = "created"
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise BrokerUnavailableError(f"creating topic {name} failed: {error.str()}") from None
            outcome[name] = "exists"
    # Creation returns before every broker's metadata lists the topics; callers that
    # assign partitions right away need them listed, so wait until they are.
    deadline = time.monotonic() + 30
    while not set(outcome) <= set(existing_topics(admin)):
        if time.monotonic() > deadline:
            raise BrokerUnavailableError("created topics did not appear in the broker's metadata within 30s")
        time.sleep(0.1)
    return outcome


def create_command(settings: Settings) -> str:
    """The command that creates the design's topics under these settings' prefix."""
    return "cartstream topics create" + (f" --topic-prefix {settings.topic_prefix}" if settings.topic_prefix else "")


def missing_topic(settings: Settings, topic: str) -> BrokerUnavailableError:
    """The error for a client that found ``topic`` (full name) missing, with the command that creates it."""
    return BrokerUnavailableError(f"topic {topic} does not exist; run `{create_command(settings)}`")


def require_topics(settings: Settings, specs: tuple[TopicSpec, ...] = TOPICS) -> None:
    """Fail with the command to run when any of the design's topics is missing."""
    present = existing_topics(admin_client(settings))
    missing = [settings.topic(s.name) for s in specs if settings.topic(s.name) not in present]
    if missing:
        raise BrokerUnavailableError(f"missing topics {', '.join(missing)}; create them with: {create_command(settings)}")
