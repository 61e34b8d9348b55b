"""The CLI fails with one clear line, never a traceback."""

from cartstream.topologies.cli import main


def test_invalid_setting_prints_one_line(capsys):
    assert main(["infra", "status", "--partitions", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cartstream: error: invalid setting partitions")
    assert err.count("\n") == 1


def test_unreachable_broker_prints_one_line(capsys):
    # Port 9 (discard) has no Kafka broker on loopback.
    assert main(["topics", "list", "--bootstrap-servers", "127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cartstream: error: cannot reach Kafka")
    assert err.count("\n") == 1


def test_a_command_failing_inside_a_kafka_client_prints_one_line_naming_the_broker(capsys):
    assert main(["model", "list", "--bootstrap-servers", "127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cartstream: error: cannot reach Kafka at 127.0.0.1:9 (") and "KafkaError{" not in err
    assert err.count("\n") == 1


def test_a_setting_error_names_its_flag_and_variable_and_a_misspelt_variable_is_named(capsys, monkeypatch):
    monkeypatch.setenv("CARTSTREAM_TOPICPREFIX", "x.")
    monkeypatch.setenv("CARTSTREAM_REDIS_LINGER_S", "-1")
    assert main(["infra", "status"]) == 1
    *warnings, error = capsys.readouterr().err.splitlines()  # the environment may hold others
    assert ("cartstream: warning: CARTSTREAM_TOPICPREFIX is not a setting and is ignored; "
            "did you mean CARTSTREAM_TOPIC_PREFIX?") in warnings
    assert error.startswith("cartstream: error: invalid setting redis_linger_s (CARTSTREAM_REDIS_LINGER_S): ")
