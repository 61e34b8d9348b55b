"""Broker configuration and ids, without starting a broker."""

import re
from pathlib import Path

from cartstream.compose.kafka import KafkaConfig, cluster_id, server_properties


def test_cluster_id_has_kafkas_format():
    for _ in range(200):
        cid = cluster_id()
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cid)


def test_single_node_settings_let_groups_and_transactions_work():
    cfg = KafkaConfig(data_dir=Path("/d"), cache_dir=Path("/c"), port=1234, controller_port=1235)
    props = dict(line.split("=", 1) for line in server_properties(cfg).splitlines() if line)
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:1235"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1234,CONTROLLER://127.0.0.1:1235"
    assert props["log.dirs"] == "/d/kafka/data"
