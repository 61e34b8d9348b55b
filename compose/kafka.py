"""A real Apache Kafka broker (KRaft, combined mode, one node) run from Maven Central jars."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import process
from .exceptions import InfraError
from .system_tools import MAVEN, require, require_java

READY_LINE = "Kafka Server started"
POM = "pom.xml"
LOG4J = "log4j2.properties"


@dataclass(frozen=True)
class KafkaConfig:
    """Where the broker keeps its files and which ports it listens on."""

    data_dir: Path
    cache_dir: Path
    port: int
    controller_port: int
    heap: str = "1g"
    partitions: int = 3

    @property
    def home(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    @property
    def log_dirs(self) -> Path:
        return self.home / "data"

    @property
    def server_properties(self) -> Path:
        return self.home / "server.properties"


def _resource(name: str) -> Path:
    return Path(str(resources.files("cartstream.compose").joinpath(name)))


def jars_dir(cfg: KafkaConfig) -> Path:
    """The folder of broker jars for the current pom; the pom's hash names it, so a change re-resolves."""
    digest = hashlib.sha256(_resource(POM).read_bytes()).hexdigest()[:12]
    return cfg.cache_dir / f"kafka-jars-{digest}"


def ensure_jars(cfg: KafkaConfig, log=print) -> Path:
    """Resolve the broker jars with Maven once; later calls find them cached and resolve nothing."""
    target = jars_dir(cfg)
    if (target / ".complete").exists():
        return target
    mvn = require(MAVEN, log)
    log(f"resolving Kafka jars from Maven Central into {target} (first start only)")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    done = subprocess.run(
        [mvn, "-q", "-B", "-f", str(_resource(POM)), "dependency:copy-dependencies",
         f"-DoutputDirectory={partial}", "-DincludeScope=runtime"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        detail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise InfraError("Maven could not resolve the Kafka jars: " + " | ".join(detail))
    (partial / ".complete").write_text("ok\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def cluster_id() -> str:
    """A random cluster id in Kafka's own format (url-safe base64 of a UUID, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka's Uuid.randomUuid avoids these too: they read as flags
            return text


def server_properties(cfg: KafkaConfig) -> str:
    """The broker configuration: one node as broker and controller, on loopback."""
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"listeners=PLAINTEXT://127.0.0.1:{cfg.port},CONTROLLER://127.0.0.1:{cfg.controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{cfg.port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{cfg.controller_port}",
        f"log.dirs={cfg.log_dirs}",
        f"num.partitions={cfg.partitions}",
        # A single broker cannot hold three replicas: without these, groups and transactions hang.
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "log.retention.hours=168",
        "",
    ])


def _java_command(cfg: KafkaConfig, java: str, jars: Path, main: str, *args: str) -> list[str]:
    return [
        java, f"-Xmx{cfg.heap}", "-Xms256m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={_resource(LOG4J)}",
        "-cp", f"{jars}/*", main, *args,
    ]


def _format_storage(cfg: KafkaConfig, java: str, jars: Path) -> None:
    if (cfg.log_dirs / "meta.properties").exists():
        return
    done = subprocess.run(
        _java_command(cfg, java, jars, "kafka.tools.StorageTool", "format", "--standalone",
                      "-t", cluster_id(), "-c", str(cfg.server_properties)),
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise InfraError("formatting Kafka storage failed: " + (done.stdout + done.stderr).strip()[-300:])


def is_running(cfg: KafkaConfig) -> bool:
    """Whether our broker process is alive and accepting connections."""
    return process.is_alive(process.read_pid(cfg.pid_file)) and process.port_open(cfg.port)


def start(cfg: KafkaConfig, timeout: float = 90.0, log=print) -> bool:
    """Start the broker unless it runs already; True when this call started it."""
    if is_running(cfg):
        return False
    if process.is_alive(process.read_pid(cfg.pid_file)):
        raise InfraError(f"a broker process is alive but not listening on {cfg.port}; run `cartstream infra down` first")
    if process.port_open(cfg.port):
        raise InfraError(f"port {cfg.port} is taken by another program; choose another with --kafka-port")
    java = require_java(log)
    jars = ensure_jars(cfg, log)
    cfg.home.mkdir(parents=True, exist_ok=True)
    cfg.server_properties.write_text(server_properties(cfg))
    _format_storage(cfg, java, jars)
    offset = cfg.log_file.stat().st_size if cfg.log_file.exists() else 0
    pid = process.start_detached(
        _java_command(cfg, java, jars, "kafka.Kafka", str(cfg.server_properties)),
        cfg.log_file, cfg.pid_file, cfg.home,
    )

    def ready() -> bool:
        if not process.is_alive(pid):
            raise InfraError("the Kafka broker exited while starting:\n" + process.tail(cfg.log_file))
        with open(cfg.log_file, "rb") as f:
            f.seek(offset)
            return READY_LINE.encode() in f.read()

    if not process.wait_until(ready, timeout):
        process.stop(cfg.pid_file, "kafka")
        raise InfraError(f"the Kafka broker did not log '{READY_LINE}' within {timeout:.0f}s; see {cfg.log_file}")
    return True


def stop(cfg: KafkaConfig) -> bool:
    """Stop the broker; True when one was running."""
    return process.stop(cfg.pid_file, "kafka", timeout=60)
