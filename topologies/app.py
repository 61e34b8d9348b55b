"""Build a Quix Streams Application for one topology from the settings."""

from __future__ import annotations

from quixstreams import Application

from .idle_commit import commit_when_idle
from .seek_retry import retry_seek_while_starting
from .settings import Settings
from .time_order import order_inputs_by_time
from .topics import require_topics


def make_application(settings: Settings, topology: str, **overrides) -> Application:
    """An Application (exactly-once by default) with its own consumer group and state folder.

    The design's topics must exist (`cartstream topics create` gives them their cleanup
    policies); Quix creates only its internal changelog and repartition topics.
    """
    require_topics(settings)
    options = dict(
        broker_address=settings.bootstrap_servers,
        consumer_group=settings.consumer_group(topology),
        state_dir=settings.state_path(topology),
        processing_guarantee=settings.processing_guarantee,
        auto_offset_reset="earliest",
        commit_interval=settings.commit_interval,
        # Merged inputs are released in timestamp order only once every partition of the
        # group is known to be idle or to have data; a long poll would hold each event up
        # to the poll timeout (Quix's default 1 s) while its sibling partition is empty.
        consumer_poll_timeout=settings.consumer_poll_timeout,
        # Logging is the process's own (JSON lines under `cartstream run`), not Quix's.
        loglevel=None,
        # Topics come from `cartstream topics create`; internal changelog topics are created here.
        auto_create_topics=True,
        # Quix gives every start a fresh transactional.id, so a crashed instance's open
        # transaction is not fenced: it holds back read_committed readers until it times
        # out. 10 s, as Kafka Streams uses, instead of librdkafka's 60 s.
        producer_extra_config={"transaction.timeout.ms": 10_000},
        # A crashed instance keeps its partitions until its session times out; 10 s instead
        # of librdkafka's 45 s lets a restarted or surviving instance take over sooner.
        consumer_extra_config={
            "session.timeout.ms": settings.session_timeout_ms,
            "heartbeat.interval.ms": max(1000, settings.session_timeout_ms // 5),
            # Inputs from two topics are merged in timestamp order, so a message waits while
            # the other topic's partition is fetched; librdkafka's 500 ms fetch wait would
            # become every event's latency at low rates.
            "fetch.wait.max.ms": 10,
        },
    )
    options.update(overrides)
    app = Application(**options)
    retry_seek_while_starting(app)
    # Merged inputs in one record-time order over all partitions: replays see one event order.
    order_inputs_by_time(app, settings.input_order_wait_s)
    if settings.idle_commit_s > 0 and options["processing_guarantee"] == "exactly-once":
        # Lists become visible at commit: commit when the input runs dry, not only every interval.
        commit_when_idle(app, settings.idle_commit_s)
    return app
