"""One settings object for every cartstream process: read once, passed down.

Values come from CLI flags, then ``CARTSTREAM_*`` environment variables, then defaults.

Examples
--------
>>> s = Settings(topic_prefix="demo.", kafka_port=19092)
>>> s.topic("clicks")
'demo.clicks'
>>> s.bootstrap_servers
'127.0.0.1:19092'
>>> s.consumer_group("recommender")
'cartstream-recommender'
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the broker and Redis are, how topics and groups are named, where state lives."""

    model_config = SettingsConfigDict(env_prefix="CARTSTREAM_", extra="forbid")

    bootstrap_servers: str = Field(
        default="", description="Kafka bootstrap servers; defaults to the local broker's port"
    )
    redis_url: str = Field(default="", pattern=r"^$|^(redis|rediss|unix)://",
                           description="Redis URL (redis://, rediss:// or unix://); defaults to the local Redis port")
    topic_prefix: str = Field(default="", description="prefix put before every topic name")
    partitions: int = Field(default=3, ge=1, le=1024, description="partitions per new topic")
    group_prefix: str = Field(default="cartstream", min_length=1, description="consumer-group prefix")
    state_dir: Path = Field(default=Path(".cartstream/state"), description="local state stores")
    data_dir: Path = Field(default=Path(".cartstream/infra"), description="local broker and Redis data")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "cartstream", description="downloaded jars and models"
    )
    kafka_port: int = Field(default=9092, ge=1, le=65535, description="port of the local broker (`cartstream infra`)")
    controller_port: int = Field(default=9093, ge=1, le=65535)
    redis_port: int = Field(default=6379, ge=1, le=65535, description="port of the local Redis (`cartstream infra`)")
    session_timeout_ms: int = Field(default=10_000, ge=6_000, le=300_000,
                                    description="how long a silent instance keeps its partitions")
    processing_guarantee: Literal["exactly-once", "at-least-once"] = Field(
        default="exactly-once", description="Quix Streams topologies' processing guarantee")
    commit_interval: float = Field(default=0.1, gt=0, le=60,
                                   description="seconds between commits; exactly-once lists are visible at commit")
    idle_commit_s: float = Field(
        default=0.025, ge=0, le=60,
        description="exactly-once: also commit when the input runs dry, once the checkpoint is this old (0: off)",
    )
    consumer_poll_timeout: float = Field(
        default=0.02, gt=0, le=5,
        description="seconds a Quix consumer waits for input (not the recommender's: recommender_poll_timeout); "
                    "a merged input's event can wait this long for its sibling",
    )
    input_order_wait_s: float = Field(
        default=2.0, gt=0, le=600,
        description="how long an input partition that delivers nothing holds back the events of the others, "
                    "which are read in record-time order (a replay waits at least 30 s)",
    )
    recommender_poll_timeout: float = Field(
        default=0.005, gt=0, le=5,
        description="consumer_poll_timeout of the recommender, whose wait is every list's latency (~0.1 core idle)",
    )
    dedupe_window_ms: int = Field(
        default=24 * 3600 * 1000, gt=0, description="event-time window in which a repeated event_id is dropped"
    )
    recommendations_k: int = Field(default=10, ge=1, le=100, description="items per published list")
    max_cart_candidates: int = Field(
        default=200, ge=1, le=100_000,
        description="with a cart, the most menu items scored per event; a bigger menu is pre-selected",
    )
    model_names: list[str] = Field(
        default=["ranker"], min_length=1, max_length=8,
        description="ranker model names; two or more split users by hash for an A/B test",
    )
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="HTTP port of /metrics and /health")
    redis_ttl_s: int = Field(default=24 * 3600, ge=1, description="lifetime of a list in Redis")
    redis_linger_s: float = Field(
        default=0.01, ge=0, le=1,
        description="the Redis writer waits this long after a list so that the next few share its pipeline",
    )
    tables_timeout_s: float = Field(default=120.0, gt=0, description="wait for global tables at start")
    vector_projection_after: int = Field(
        default=100_000, ge=100,
        description="an embedding model's vector index is searched in 64 dimensions from this many vectors on",
    )
    session_gap_ms: int = Field(
        default=30 * 60_000, ge=1_000, le=24 * 3600 * 1000,
        description="event time without a diner's event that ends their session (co-visitation)",
    )
    window_ms: int = Field(
        default=15 * 60_000, ge=1_000, le=24 * 3600 * 1000,
        description="width of the epoch-aligned tumbling windows of item-stats counts",
    )
    trending_half_life_ms: int = Field(
        default=3 * 3600 * 1000, ge=1_000, le=30 * 24 * 3600 * 1000,
        description="event time after which a window's clicks and adds count half in trending",
    )
    covisitation_half_life_ms: int = Field(
        default=7 * 24 * 3600 * 1000, ge=60_000, le=365 * 24 * 3600 * 1000,
        description="event time after which a co-visit counts half",
    )
    neighbours_k: int = Field(default=20, ge=1, le=100, description="co-visitation neighbours per item-stats message")
    snapshot_every: int = Field(default=1000, ge=1, description="examples between model snapshots")
    snapshot_interval_s: float = Field(default=30.0, gt=0, description="seconds between snapshots of a learning model")
    embed_model: str = Field(default="all-MiniLM-L6-v2@onnx-fp32", min_length=1,
                             description="exported model id, a folder under <cache_dir>/models")
    embed_batch_size: int = Field(default=64, ge=1, le=4096, description="menu changes per embedding batch")
    embed_deadline_ms: int = Field(default=200, ge=1, description="a batch closes this long after its first change")
    embed_threads: int = Field(default=2, ge=1, le=64, description="onnxruntime threads of the embedder")
    generation: int = Field(default=0, ge=0, description="consumer-group generation; a replay runs a new one")
    kafka_heap: str = Field(default="1g", pattern=r"^\d+[mg]$", description="broker JVM max heap")

    @model_validator(mode="after")
    def _fill_local_addresses(self) -> "Settings":
        ports = {"kafka_port": self.kafka_port, "controller_port": self.controller_port, "redis_port": self.redis_port}
        if len(set(ports.values())) < len(ports):
            raise ValueError(f"local ports must differ, got {ports}")
        if not self.bootstrap_servers:
            self.bootstrap_servers = f"127.0.0.1:{self.kafka_port}"
        if not self.redis_url:
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        return self

    def topic(self, name: str) -> str:
        """The full name of one of the design's topics."""
        return f"{self.topic_prefix}{name}"

    def embed_model_dir(self) -> Path:
        """Where the exported embedding model lives."""
        return self.cache_dir.expanduser() / "models" / self.embed_model

    def consumer_group(self, topology: str) -> str:
        """The consumer group of one topology in this generation (a replay's new group has fresh state).

        >>> Settings(generation=2).consumer_group("recommender")
        'cartstream-recommender.g2'
        """
        suffix = f".g{self.generation}" if self.generation else ""
        return f"{self.group_prefix}-{topology}{suffix}"

    def state_path(self, topology: str) -> Path:
        """The local state folder of one topology in this generation.

        >>> Settings(state_dir="s", generation=2).state_path("recommender").as_posix()
        's/recommender.g2'
        """
        return self.state_dir / self.consumer_group(topology).removeprefix(f"{self.group_prefix}-")

    def to_env(self) -> dict[str, str]:
        """The ``CARTSTREAM_*`` environment variables that give a child process these settings.

        >>> env = Settings(topic_prefix="demo.", model_names=["a", "b"]).to_env()
        >>> env["CARTSTREAM_TOPIC_PREFIX"], env["CARTSTREAM_MODEL_NAMES"]
        ('demo.', '["a", "b"]')
        """
        env = {}
        for name, value in self.model_dump(mode="json").items():
            if value is not None:
                # pydantic-settings reads list settings from the environment as JSON.
                env[f"CARTSTREAM_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
        return env


#: ``CARTSTREAM_*`` variables read by scripts, not settings (`.ci/build-model`'s model cache).
SCRIPT_VARIABLES = frozenset({"CARTSTREAM_CACHE_DIR"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``CARTSTREAM_*`` variable in ``environ`` that no setting reads, with the
    nearest setting's name: a misspelt variable is otherwise silently ignored.

    >>> unknown_variables({"CARTSTREAM_TOPIC_PREFIXX": "a.", "cartstream_partitions": "3", "HOME": "/"})
    ['CARTSTREAM_TOPIC_PREFIXX is not a setting and is ignored; did you mean CARTSTREAM_TOPIC_PREFIX?']
    """
    known = {f"CARTSTREAM_{name.upper()}" for name in Settings.model_fields} | SCRIPT_VARIABLES
    lines = []
    # pydantic-settings reads variable names whatever their case.
    for name in sorted(n for n in environ if n.upper().startswith("CARTSTREAM_") and n.upper() not in known):
        near = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.85)
        lines.append(f"{name} is not a setting and is ignored" + (f"; did you mean {near[0]}?" if near else ""))
    return lines
