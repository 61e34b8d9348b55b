import pytest
from confluent_kafka import TopicPartition
from quixstreams import Application
from quixstreams.internal_consumer.buffering import InternalConsumerBuffer

from cartstream.topologies.exceptions import CartstreamError
from cartstream.topologies.time_order import TimeOrderedBuffer, order_inputs_by_time

from tests.unit.topologies.kafka_records import Record


PARTITIONS = [TopicPartition(topic, p) for topic in ("carts", "clicks") for p in range(3)]
# Partition 0 holds the latest events: Quix's own buffer pops them first.
RECORDS = [Record("clicks", 0, 0, 50), Record("clicks", 0, 1, 60), Record("carts", 0, 0, 55),
           Record("clicks", 2, 0, 10), Record("carts", 2, 0, 20), Record("clicks", 1, 0, 20),
           Record("carts", 1, 0, 40)]
ALL_FETCHED = {(r.topic_, r.partition_): r.offset_ + 1 for r in RECORDS} | {("carts", 0): 1, ("clicks", 0): 2}


def popped(buffer: InternalConsumerBuffer, high_watermarks: dict) -> list[tuple[str, int, int]]:
    """Everything the buffer gives, fed the watermarks again whenever it waits (as the
    consumer's next fetch would: a partition's end is forgotten when its last record is popped)."""
    out = []
    while True:
        got = [(m.topic(), m.partition(), m.timestamp()[1]) for m in iter(buffer.pop, None)]
        if not got:
            return out
        out += got
        buffer.feed([], high_watermarks=high_watermarks)


def test_records_of_all_partitions_come_out_in_record_time_order_ties_by_partition_then_topic():
    buffer = TimeOrderedBuffer(max_wait_s=2.0)
    buffer.assign_partitions(PARTITIONS)
    buffer.feed(RECORDS, high_watermarks=ALL_FETCHED)
    assert popped(buffer, ALL_FETCHED) == [("clicks", 2, 10), ("clicks", 1, 20), ("carts", 2, 20), ("carts", 1, 40),
                              ("clicks", 0, 50), ("carts", 0, 55), ("clicks", 0, 60)]


def test_quix_own_buffer_orders_only_within_a_partition_number():
    # What the ordered buffer changes: Quix drains partition 0 first, though its records are the latest.
    buffer = InternalConsumerBuffer()
    buffer.assign_partitions(PARTITIONS)
    buffer.feed(RECORDS, high_watermarks=ALL_FETCHED)
    assert popped(buffer, ALL_FETCHED)[:2] == [("clicks", 0, 50), ("carts", 0, 55)]


def test_an_empty_partition_not_known_to_be_idle_holds_every_other_back():
    buffer = TimeOrderedBuffer(max_wait_s=2.0)
    buffer.assign_partitions(PARTITIONS)
    buffer.feed([Record("clicks", 0, 0, 50)], high_watermarks={("clicks", 0): 1, ("clicks", 1): 3})
    # clicks 1 has records on the broker not fetched yet (and the other partitions' ends are unknown).
    assert buffer.pop() is None
    fetched = {("clicks", 0): 1, ("clicks", 1): 1, ("clicks", 2): 0, ("carts", 0): 0, ("carts", 1): 0, ("carts", 2): 0}
    buffer.feed([Record("clicks", 1, 0, 30)], high_watermarks=fetched)
    assert popped(buffer, fetched) == [("clicks", 1, 30), ("clicks", 0, 50)]


def test_a_partition_whose_last_record_was_taken_is_asked_its_end_instead_of_waiting_for_a_fetch():
    # The consumer has heard where partitions 1 and 2 of clicks end, and carts 2: nothing more is coming.
    heard = {("clicks", 1): (1, 1), ("clicks", 2): (1, 1), ("carts", 2): (1, 1)}
    buffer = TimeOrderedBuffer(max_wait_s=2.0, ends=lambda topic, partition: heard.get((topic, partition), (-1001, -1001)))
    buffer.assign_partitions(PARTITIONS)
    buffer.feed(RECORDS, high_watermarks=ALL_FETCHED)
    assert [(m.topic(), m.partition(), m.timestamp()[1]) for m in iter(buffer.pop, None)] == [
        ("clicks", 2, 10), ("clicks", 1, 20), ("carts", 2, 20), ("carts", 1, 40)]  # then carts 1's end is unknown


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_that_delivers_nothing_is_passed_over_after_the_wait_until_it_delivers(caplog):
    # carts 1's records expired while its position is unknown: its end (100) says more is coming.
    clock = Clock()
    buffer = TimeOrderedBuffer(max_wait_s=2.0, clock=clock)
    buffer.assign_partitions(PARTITIONS)
    ends = {tp: 0 for tp in ALL_FETCHED} | {("clicks", 0): 2, ("carts", 1): 100}
    buffer.feed([Record("clicks", 0, 0, 50), Record("clicks", 0, 1, 60)], high_watermarks=ends)
    assert buffer.pop() is None
    clock.now += 1.9
    assert buffer.pop() is None
    clock.now += 0.2
    assert buffer.pop().timestamp()[1] == 50
    assert "carts[1] has said nothing for 2.0 s" in caplog.text
    assert buffer.pop().timestamp()[1] == 60  # passed over at once, not waited for again
    buffer.feed([Record("carts", 1, 100, 70), Record("clicks", 0, 2, 80)], high_watermarks=ends | {("clicks", 0): 3})
    assert popped(buffer, ends | {("clicks", 0): 3, ("carts", 1): 101}) == [("carts", 1, 70), ("clicks", 0, 80)]
    # It delivered: the next time it falls silent it is waited for again.
    buffer.feed([Record("clicks", 0, 3, 90)], high_watermarks=ends | {("clicks", 0): 4, ("carts", 1): 150})
    assert buffer.pop() is None


def test_a_partition_assigned_again_is_waited_for_afresh():
    clock = Clock()
    buffer = TimeOrderedBuffer(max_wait_s=2.0, clock=clock)
    buffer.assign_partitions(PARTITIONS)
    ends = {tp: 0 for tp in ALL_FETCHED} | {("clicks", 0): 1, ("carts", 1): 100}
    buffer.feed([Record("clicks", 0, 0, 50)], high_watermarks=ends)
    assert buffer.pop() is None
    clock.now += 5
    buffer.revoke_partitions([TopicPartition("carts", 1)])
    buffer.assign_partitions([TopicPartition("carts", 1)])
    buffer.feed([], high_watermarks=ends)
    assert buffer.pop() is None


def test_a_quix_release_without_the_buffer_it_replaces_is_refused_in_one_line(tmp_path):
    app = Application(broker_address="127.0.0.1:1", consumer_group="g", state_dir=str(tmp_path), loglevel=None)
    del app._consumer._buffer
    with pytest.raises(CartstreamError, match="buffers its input differently"):
        order_inputs_by_time(app, max_wait_s=2.0)


def test_the_application_consumer_gets_the_ordered_buffer(tmp_path):
    # Building an Application connects to nothing; the broker address is never dialled.
    app = Application(broker_address="127.0.0.1:1", consumer_group="g", state_dir=str(tmp_path), loglevel=None)
    order_inputs_by_time(app, max_wait_s=2.0)
    assert isinstance(app._consumer._buffer, TimeOrderedBuffer)
