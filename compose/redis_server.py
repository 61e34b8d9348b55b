"""Redis from the operating system's `redis-server`, on loopback, without persistence."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from . import process
from .exceptions import InfraError
from .system_tools import REDIS, require


@dataclass(frozen=True)
class RedisConfig:
    """Where Redis keeps its pid and log, and its port."""

    data_dir: Path
    port: int

    @property
    def home(self) -> Path:
        return self.data_dir / "redis"

    @property
    def pid_file(self) -> Path:
        return self.home / "redis.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "redis.log"


def ping(port: int) -> bool:
    """Whether a Redis server answers PING on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def is_running(cfg: RedisConfig) -> bool:
    """Whether our Redis process is alive and answers PING."""
    return process.is_alive(process.read_pid(cfg.pid_file)) and ping(cfg.port)


def start(cfg: RedisConfig, timeout: float = 20.0, log=print) -> bool:
    """Start Redis unless it runs already; True when this call started it."""
    if is_running(cfg):
        return False
    if process.port_open(cfg.port):
        raise InfraError(f"port {cfg.port} is taken by another program; choose another with --redis-port")
    server = require(REDIS, log)
    cfg.home.mkdir(parents=True, exist_ok=True)
    args = [
        server, "--port", str(cfg.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(cfg.home), "--daemonize", "no",
    ]
    pid = process.start_detached(args, cfg.log_file, cfg.pid_file, cfg.home)

    def ready() -> bool:
        if not process.is_alive(pid):
            raise InfraError("redis-server exited while starting:\n" + process.tail(cfg.log_file))
        return ping(cfg.port)

    if not process.wait_until(ready, timeout, interval=0.05):
        process.stop(cfg.pid_file, "redis")
        raise InfraError(f"redis-server did not answer PING within {timeout:.0f}s; see {cfg.log_file}")
    return True


def stop(cfg: RedisConfig) -> bool:
    """Stop Redis; True when it was running."""
    return process.stop(cfg.pid_file, "redis", timeout=15)
