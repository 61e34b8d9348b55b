"""The consumer-lag gauge against the real broker: log end minus the group's committed offset."""

from confluent_kafka import Consumer, Producer, TopicPartition

from cartstream.topologies.clients import commit_offsets
from cartstream.topologies.observability import ConsumerLag, Metrics


def test_consumer_lag_is_the_log_end_minus_the_committed_offset_per_partition(settings):
    clicks, carts = settings.topic("clicks"), settings.topic("carts")
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for n in range(5):
        producer.produce(clicks, value=b"{}", key=f"u{n}", partition=0)
    producer.produce(clicks, value=b"{}", key="u9", partition=1)
    producer.flush(10)
    group = settings.consumer_group("recommender")
    committer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    commit_offsets(committer, [TopicPartition(clicks, 0, 2)])
    committer.close()

    metrics = Metrics("recommender")
    lag = ConsumerLag(metrics, settings.bootstrap_servers, group, [clicks, carts])
    try:
        lags = lag.update()
    finally:
        lag.stop()

    assert lags[(clicks, 0)] == 3  # five records, two committed
    assert lags[(clicks, 1)] == 1  # nothing committed: every retained record
    assert lags[(carts, 0)] == 0
    sample = metrics.registry.get_sample_value("cartstream_consumer_lag", {"topic": clicks, "partition": "0"})
    assert sample == 3
