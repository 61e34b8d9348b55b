"""Integration fixtures: the real broker and Redis (started if needed), isolated topics per test."""

from __future__ import annotations

import uuid

import pytest

from cartstream.compose.infra import LocalInfra
from cartstream.topologies.settings import Settings
from cartstream.topologies.topics import create_topics

from tests.integration.support import TopologyProcess


@pytest.fixture(scope="session")
def infra_settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def infra(infra_settings):
    """The local broker and Redis; stopped afterwards only if this session started them."""
    local = LocalInfra.from_settings(infra_settings)
    started = local.up()
    yield local
    if started:
        local.down()


@pytest.fixture
def settings(infra, infra_settings, tmp_path) -> Settings:
    """Settings with a topic and group prefix of this test alone, and its topics created."""
    run_id = uuid.uuid4().hex[:8]
    isolated = infra_settings.model_copy(update={
        "topic_prefix": f"t{run_id}.",
        "group_prefix": f"t{run_id}",
        "state_dir": tmp_path / "state",
    })
    create_topics(isolated)
    return isolated


@pytest.fixture
def topology(settings, tmp_path):
    """Start topologies as child processes; every one still running is stopped at the end."""
    started: list[TopologyProcess] = []

    def start(name: str, with_settings: Settings | None = None) -> TopologyProcess:
        proc = TopologyProcess(name, with_settings or settings, tmp_path / f"{name}-{len(started)}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.alive():
            proc.stop()
        # Shown by pytest only when the test failed: the topology's own account of it.
        print(f"--- {proc.topology} log ---\n{proc.log()[-4000:]}")
