"""recommender: `clicks` + `carts` keyed by user -> per-user state -> ranked lists.

Per event: label the previous list from what the diner just did (`training-examples`),
update the diner's state, and publish a fresh list to `recommendations` and Redis. The
catalog, vectors, item stats and models are global tables read from their compacted
topics by every instance. Exactly-once: a list is published once per trigger event.
"""

from __future__ import annotations

import hashlib
import logging
import time

import orjson
from quixstreams import Application, State, message_context

from ..models.ranker import Ranker
from ..operators.online_metrics import NDCG, HitRate
from ..operators.recommend import Event, Outcome, recommend
from ..operators.user_state import UserState
from ..operators.validation import Accepted, dead_letter_for
from .app import make_application
from .exceptions import CartstreamError
from .global_tables import RecommenderTables
from .emit_gate import EmitGate
from .intake import LIVE, dead_letters_topic, user_events
from .observability import Metrics, serve_observability
from .redis_mirror import RedisMirror
from .settings import Settings
from .table_reader import TableReader

NAME = "recommender"
TABLE_HOLD_S = 2.0
TABLE_CATCH_UP_S = 2.0
log = logging.getLogger(__name__)


def model_for(user_id: str, model_names: list[str]) -> str:
    """The A/B arm of a user: a stable hash split over the model names.

    >>> model_for("u1", ["ranker"])
    'ranker'
    >>> sorted({model_for(f"u{n}", ["a", "b"]) for n in range(20)})
    ['a', 'b']
    """
    if len(model_names) == 1:
        return model_names[0]
    digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
    return model_names[int.from_bytes(digest, "big") % len(model_names)]


class RecommenderStep:
    """The stateful function the stream applies, with the tables, models and metrics it uses."""

    def __init__(self, settings: Settings, tables: RecommenderTables, metrics: Metrics, mirror: RedisMirror,
                 gate: EmitGate, reader: TableReader):
        self.settings = settings
        self.gate = gate
        self.reader = reader
        self.tables = tables
        self.metrics = metrics
        self.mirror = mirror
        self.untrained = Ranker()
        self.hit_rate = {name: HitRate(10) for name in settings.model_names}
        self.ndcg = {name: NDCG(10) for name in settings.model_names}

    def __call__(self, accepted: Accepted, key, timestamp: int, headers, state: State) -> dict:
        started = time.perf_counter()
        # Producer timestamp -> this step: the broker, the fetch and the queue before it.
        queued_ms = max(0.0, time.time() * 1000 - timestamp)
        event = Event.from_message(accepted.message)
        model_name = model_for(event.user_id, self.settings.model_names)
        user = UserState.from_dict(state.get("user")) if state.exists("user") else UserState()
        # The tables as of this event's record time: what a replay of the log sees too.
        self.reader.release(timestamp)
        emit = self.gate.allows()
        rank = emit or self.gate.ranks(event.user_id)
        outcome, ranker = self._recommend(user, event, model_name, rank)
        if outcome.rejected is not None and self.reader.catch_up(TABLE_CATCH_UP_S):
            # The item's menu record may have been published just before the event and not
            # read yet: read the tables to their end once before calling the event bad.
            self.reader.release(timestamp)
            self._take_later_record(event)
            outcome, ranker = self._recommend(user, event, model_name, rank)
        if not emit:  # a silent rebuild: the state changes, nothing is published
            if outcome.rejected is None:
                state.set("user", user.to_dict())
            return {}
        if outcome.rejected is not None:
            log.warning("dead letter: %s", outcome.rejected, extra={"event_id": event.event_id, "user_id": event.user_id})
            return {"dead_letter": self._dead_letter(accepted, outcome.rejected)}
        state.set("user", user.to_dict())
        self._observe(outcome, model_name, ranker)
        # Wall-clock timings travel in a header: the payload is a function of the log alone.
        timings = {"queued": round(queued_ms, 3), "process": round((time.perf_counter() - started) * 1000, 3)}
        payload = orjson.dumps(outcome.recommendation)
        if not self.mirror.publish(event.user_id, payload):  # failed writes count themselves
            self.metrics.redis_skipped.inc()
        # Producer timestamp -> published: what a consumer of `recommendations` waits.
        self.metrics.latency.observe(max(0.0, time.time() - timestamp / 1000))
        examples = [{**ex, "model_name": model_name, "user_id": event.user_id} for ex in outcome.examples]
        headers = [("timings_ms", orjson.dumps(timings)), ("generation", str(self.settings.generation).encode())]
        return {"recommendation": payload, "examples": examples, "headers": headers}

    def _take_later_record(self, event: Event) -> None:
        """For an item the menu knows only from a record later than the event, take that one.

        Compaction leaves only each item's latest menu record, so a replay from long ago
        meets events on items whose earlier records are gone; a producer's clock running
        ahead does the same live. An item whose deletion was read is not waiting for one.
        """
        def waiting() -> bool:  # asked under the tables' lock
            return event.item_id not in self.tables.catalog and event.item_id not in self.tables.deleted

        if event.item_id is not None and self.reader.release_key(self.settings.topic("menu-items"),
                                                                 event.item_id.encode(), waiting):
            log.info("item %s taken from a later menu record", event.item_id,
                     extra={"event_id": event.event_id, "user_id": event.user_id})

    def _recommend(self, user: UserState, event: Event, model_name: str, rank: bool) -> tuple[Outcome, Ranker]:
        with self.tables.lock:
            ranker = self.tables.models.get(model_name, self.untrained)
            outcome = recommend(user, event, self.tables, ranker, k=self.settings.recommendations_k,
                                model_version=ranker.version, model_name=model_name,
                                max_cart_candidates=self.settings.max_cart_candidates, rank=rank)
        return outcome, ranker

    def _observe(self, outcome: Outcome, model_name: str, ranker: Ranker) -> None:
        rec = outcome.recommendation
        self.metrics.recommendations.labels(rec["mode"], model_name).inc()
        self.metrics.model_version.labels(model_name).set(ranker.version)
        if outcome.shown_ids is not None:
            self.hit_rate[model_name].update(outcome.shown_ids, outcome.acted_item_id)
            self.ndcg[model_name].update(outcome.shown_ids, outcome.acted_item_id)
            self.metrics.hit_rate.labels(model_name).set(self.hit_rate[model_name].get())
            self.metrics.ndcg.labels(model_name).set(self.ndcg[model_name].get())

    def _dead_letter(self, accepted: Accepted, reason: str) -> bytes:
        ctx = message_context()
        self.metrics.dead_letters.labels("unknown-reference").inc()
        return dead_letter_for(ctx.topic, ctx.partition, ctx.offset, accepted.key.encode(),
                               accepted.message.to_json(), reason, int(time.time() * 1000)).to_json()


def build(settings: Settings, gate: EmitGate = LIVE) -> Application:
    """The recommender Application, with its global tables loaded and its metrics served."""
    app = make_application(settings, NAME, consumer_poll_timeout=settings.recommender_poll_timeout)
    tables = RecommenderTables(settings)
    # Live, a table record waits at most TABLE_HOLD_S for an event of its time; a replay
    # holds it until then, so it sees what the log says the live run saw.
    reader = tables.reader(settings, hold=True, hold_max_s=None if gate.replaying else TABLE_HOLD_S).start()
    if not reader.wait_caught_up(settings.tables_timeout_s):
        raise CartstreamError(f"global tables not loaded within {settings.tables_timeout_s:.0f}s")
    if not gate.replaying:
        # Live, a catalog growing past `vector_projection_after` is re-indexed on a thread
        # while the stream goes on; a replay re-indexes at the record that crosses it, so
        # every replay of a log searches the same index for the same event.
        with tables.lock:
            tables.embeddings.project_in_background()
    metrics = Metrics(NAME)
    mirror = RedisMirror(settings.redis_url, prefix=settings.topic_prefix, ttl_s=settings.redis_ttl_s,
                         on_failure=metrics.redis_errors.inc, linger_s=settings.redis_linger_s).start_catching_up()
    serve_observability(metrics, settings, NAME, ["clicks", "carts"],
                        ready=lambda: reader.caught_up.is_set() and reader.error is None)
    step = RecommenderStep(settings, tables, metrics, mirror, gate, reader)

    dead_letters = dead_letters_topic(app, settings)
    recommendations = app.topic(settings.topic("recommendations"), key_serializer="bytes", value_serializer="bytes")
    training = app.topic(settings.topic("training-examples"), key_serializer="str", value_serializer="json")

    events = user_events(app, settings, dead_letters, metrics, gate)
    outcomes = events.apply(step, stateful=True, metadata=True)

    outcomes.filter(lambda o: "dead_letter" in o).apply(lambda o: o["dead_letter"]).to_topic(dead_letters)
    published = outcomes.filter(lambda o: "recommendation" in o)
    (published.set_headers(lambda o, key, timestamp, headers: o["headers"])
        .apply(lambda o: o["recommendation"]).to_topic(recommendations))
    (published.apply(lambda o: o["examples"], expand=True)
        .to_topic(training, key=lambda example: example["model_name"]))
    return app
