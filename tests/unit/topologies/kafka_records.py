"""A consumed Kafka message, as far as the readers and buffers under test read one."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Record:
    """What cartstream's readers and Quix's consumer buffer use of a confluent_kafka Message."""

    topic_: str
    partition_: int
    offset_: int
    time: int
    value_: bytes = b""
    key_: bytes = b"k"

    def error(self):
        return None

    def topic(self):
        return self.topic_

    def partition(self):
        return self.partition_

    def offset(self):
        return self.offset_

    def timestamp(self):
        return (1, self.time)

    def key(self):
        return self.key_

    def value(self):
        return self.value_
