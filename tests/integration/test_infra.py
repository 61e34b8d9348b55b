"""`cartstream infra` on its own ports and data folder: idempotent, truthful, leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from cartstream.compose import process
from cartstream.compose.infra import LocalInfra
from cartstream.topologies.settings import Settings

from tests.integration.support import settings_env


@pytest.fixture
def private_infra(tmp_path, infra_settings):
    settings = Settings(
        data_dir=tmp_path / "infra", cache_dir=infra_settings.cache_dir,
        kafka_port=infra_settings.kafka_port + 100, controller_port=infra_settings.controller_port + 100,
        redis_port=infra_settings.redis_port + 100, kafka_heap="512m",
    )
    yield settings
    LocalInfra.from_settings(settings).down()


def cartstream(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cartstream.topologies.cli", *args],
        env=settings_env(settings), capture_output=True, text=True, timeout=180,
    )


def test_infra_up_twice_status_after_kill_and_down_leaves_nothing(private_infra):
    first = cartstream(private_infra, "infra", "up")
    assert first.returncode == 0, first.stderr
    assert "started: redis, kafka" in first.stdout

    second = cartstream(private_infra, "infra", "up")
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout

    status = cartstream(private_infra, "infra", "status")
    assert status.returncode == 0
    assert status.stdout.count(" running ") == 2

    local = LocalInfra.from_settings(private_infra)
    broker_pid = process.read_pid(local.kafka.pid_file)
    os.kill(broker_pid, signal.SIGKILL)
    assert process.wait_until(lambda: not process.is_alive(broker_pid), 10)
    status = cartstream(private_infra, "infra", "status")
    assert status.returncode == 3
    assert "kafka  stopped" in status.stdout and "is gone" in status.stdout

    restarted = cartstream(private_infra, "infra", "up")
    assert restarted.returncode == 0, restarted.stderr
    assert "started: kafka" in restarted.stdout

    pids = [process.read_pid(local.kafka.pid_file), process.read_pid(local.redis.pid_file)]
    down = cartstream(private_infra, "infra", "down")
    assert down.returncode == 0, down.stderr
    assert not any(process.is_alive(pid) for pid in pids)
    assert not process.port_open(private_infra.kafka_port)
    assert not process.port_open(private_infra.redis_port)


def test_infra_on_a_taken_port_fails_with_one_line(private_infra, infra):
    taken = private_infra.model_copy(update={"redis_port": infra.redis.port})
    result = cartstream(taken, "infra", "up")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "is taken by another program" in result.stderr
    assert "Traceback" not in result.stderr
