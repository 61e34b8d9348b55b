import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from quixstreams import Application

from cartstream.topologies.seek_retry import retry_seek_while_starting


class Seeks:
    """Stands in for the consumer's seek: refuses with ``errors`` in turn, then succeeds."""

    def __init__(self, *errors: int):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, partition):
        self.calls += 1
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))


@pytest.fixture
def app(tmp_path) -> Application:
    # Building an Application connects to nothing; the broker address is never dialled.
    return Application(broker_address="127.0.0.1:1", consumer_group="g", state_dir=str(tmp_path), loglevel=None)


def test_a_seek_refused_while_the_partition_starts_is_retried(app):
    seeks = app._consumer.seek = Seeks(KafkaError._STATE, KafkaError._STATE)
    retry_seek_while_starting(app, backoff_s=0)
    app._consumer.seek(TopicPartition("t", 0, 8))
    assert seeks.calls == 3


def test_other_errors_are_raised_at_once(app):
    seeks = app._consumer.seek = Seeks(KafkaError._UNKNOWN_PARTITION)
    retry_seek_while_starting(app, backoff_s=0)
    with pytest.raises(KafkaException):
        app._consumer.seek(TopicPartition("t", 0, 8))
    assert seeks.calls == 1


def test_a_partition_that_never_starts_is_raised_after_the_timeout(app):
    seeks = app._consumer.seek = Seeks(*[KafkaError._STATE] * 1000)
    retry_seek_while_starting(app, timeout_s=0.05, backoff_s=0.001)
    with pytest.raises(KafkaException, match="Erroneous state|_STATE"):
        app._consumer.seek(TopicPartition("t", 0, 8))
    assert 1 < seeks.calls < 1000


def test_state_recovery_seeks_through_the_wrapper(tmp_path):
    app = Application(broker_address="127.0.0.1:1", consumer_group="g", state_dir=str(tmp_path), loglevel=None,
                      processing_guarantee="exactly-once")
    seeks = app._consumer.seek = Seeks(KafkaError._STATE)
    retry_seek_while_starting(app, backoff_s=0)
    # The recovery of changelogs (the seek seen failing) uses the application's own consumer.
    app._state_manager._recovery_manager._consumer.seek(TopicPartition("changelog", 0, 8))
    assert seeks.calls == 2
