"""Settings: flags over environment over defaults, and rejected nonsense."""

import pytest
from pydantic import ValidationError

from cartstream.topologies.cli import build_parser, settings_from
from cartstream.topologies.settings import Settings


def test_environment_variables_configure_settings(monkeypatch):
    monkeypatch.setenv("CARTSTREAM_TOPIC_PREFIX", "prod.")
    monkeypatch.setenv("CARTSTREAM_PARTITIONS", "12")
    settings = Settings()
    assert settings.topic("clicks") == "prod.clicks"
    assert settings.partitions == 12


def test_flags_win_over_environment(monkeypatch):
    monkeypatch.setenv("CARTSTREAM_TOPIC_PREFIX", "prod.")
    args = build_parser().parse_args(["topics", "list", "--topic-prefix", "dev."])
    assert settings_from(args).topic_prefix == "dev."


def test_local_addresses_follow_the_ports():
    settings = Settings(kafka_port=19092, redis_port=16379)
    assert settings.bootstrap_servers == "127.0.0.1:19092"
    assert settings.redis_url == "redis://127.0.0.1:16379/0"


def test_same_port_for_two_services_is_rejected():
    with pytest.raises(ValidationError, match="local ports must differ"):
        Settings(kafka_port=7000, redis_port=7000)


def test_zero_partitions_is_rejected():
    with pytest.raises(ValidationError):
        Settings(partitions=0)


def test_the_cart_candidate_cap_is_a_setting(monkeypatch):
    assert Settings().max_cart_candidates == 200
    monkeypatch.setenv("CARTSTREAM_MAX_CART_CANDIDATES", "50")
    assert Settings().max_cart_candidates == 50
