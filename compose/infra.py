"""`cartstream infra up|down|status|logs`: the local broker and Redis as one unit."""

from __future__ import annotations

from dataclasses import dataclass

from . import kafka, process, redis_server
from .exceptions import InfraError
from .kafka import KafkaConfig
from .redis_server import RedisConfig


@dataclass(frozen=True)
class ServiceStatus:
    """What is true about one service right now."""

    name: str
    running: bool
    pid: int | None
    address: str
    detail: str

    def line(self) -> str:
        state = "running" if self.running else "stopped"
        return f"{self.name:<6} {state:<8} {self.address:<22} {self.detail}"


class LocalInfra:
    """The broker and Redis of one data directory."""

    def __init__(self, kafka_cfg: KafkaConfig, redis_cfg: RedisConfig, log=print):
        self.kafka = kafka_cfg
        self.redis = redis_cfg
        self.log = log

    @classmethod
    def from_settings(cls, settings, log=print) -> "LocalInfra":
        data_dir = settings.data_dir.resolve()
        return cls(
            KafkaConfig(
                data_dir=data_dir, cache_dir=settings.cache_dir.expanduser().resolve(),
                port=settings.kafka_port, controller_port=settings.controller_port,
                heap=settings.kafka_heap, partitions=settings.partitions,
            ),
            RedisConfig(data_dir=data_dir, port=settings.redis_port),
            log,
        )

    def up(self) -> list[str]:
        """Start whatever is not running; the names of the services this call started."""
        started = []
        try:
            if redis_server.start(self.redis, log=self.log):
                started.append("redis")
            if kafka.start(self.kafka, log=self.log):
                started.append("kafka")
        except Exception:
            # A half-started pair is worse than none: undo what this call started.
            if "redis" in started:
                redis_server.stop(self.redis)
            raise
        return started

    def down(self) -> list[str]:
        """Stop both services; the names of those that were running."""
        stopped = []
        if kafka.stop(self.kafka):
            stopped.append("kafka")
        if redis_server.stop(self.redis):
            stopped.append("redis")
        return stopped

    def status(self) -> list[ServiceStatus]:
        """The truth about both services: a pid file alone does not make a service running."""
        return [
            self._status("kafka", self.kafka.pid_file, kafka.is_running(self.kafka),
                         f"127.0.0.1:{self.kafka.port}", self.kafka.log_file),
            self._status("redis", self.redis.pid_file, redis_server.is_running(self.redis),
                         f"127.0.0.1:{self.redis.port}", self.redis.log_file),
        ]

    def is_up(self) -> bool:
        """Whether both services run."""
        return all(s.running for s in self.status())

    @staticmethod
    def _status(name, pid_file, running, address, log_file) -> ServiceStatus:
        pid = process.read_pid(pid_file)
        if running:
            detail = f"pid {pid}"
        elif pid and process.is_alive(pid):
            detail = f"pid {pid} alive but not answering on {address}"
        elif pid:
            detail = f"pid {pid} is gone (crashed or killed); see {log_file}"
        else:
            detail = "not started"
        return ServiceStatus(name, running, pid if running else None, address, detail)

    def logs(self, service: str, lines: int) -> str:
        """The last `lines` lines of a service's log."""
        log_file = self.kafka.log_file if service == "kafka" else self.redis.log_file
        if not log_file.exists():
            raise InfraError(f"no {service} log at {log_file}: it never ran with this data dir")
        return process.tail(log_file, lines)
