"""item-stats: `clicks` + `carts` -> sessions per user -> `group_by(item_id)` -> per-item stats -> `item-stats`.

The pipeline, as in DESIGN.md topology 2:

1. The intake stage: validate (rejects to `dead-letters`), drop duplicate event ids.
2. Keyed by user: a ``SessionTracker`` turns each click or add of item X into updates
   "X joined a session that held S": one for X and one for each Y in S (co-visitation is
   symmetric). A session ends after ``session_gap_ms`` of event time or at clear/checkout.
3. ``group_by(item_id)``: Quix repartitions the updates so each item's state has one owner.
4. Keyed by item: an ``ItemStatsState`` counts, decays and co-visits, and every update
   emits the item's new ``ItemStats`` to the compacted `item-stats` topic, keyed by item_id.

What one ``ItemStats`` message says, with ``W = window_ms`` and windows aligned on the epoch:

- ``event_time``: the newest event time of any update the item has had (the triggering
  event's own time, unless that event arrived late). Call its window the current window,
  starting at ``start = event_time - event_time % W``.
- ``clicks`` / ``adds``: the item's clicks and cart adds with event time in the current
  window, counted so far.
- ``trending``: the item's decayed score **as of ``start``, the start of the current
  window**: the sum over its clicks (weight 1) and adds (weight 2) of
  ``2 ** -((start - s_e) / trending_half_life_ms)``, where ``s_e`` is the start of the
  event's own window. Events of the current window count in full; time passes one whole
  window at a time, as in ``models/trending.py``. A reader at its own event time ``T`` decays
  the score further by ``2 ** -((T' - start) / trending_half_life_ms)`` with
  ``T' = T - T % W`` (whole windows, to match) before comparing items whose messages are
  of different windows.
- ``neighbours``: the top ``neighbours_k`` co-visited items, strongest first, ties by item
  id; ``score = w / (row total + 1)`` with ``w`` the neighbour's co-visit count decayed by
  ``covisitation_half_life_ms`` to ``event_time``, like ``CoVisitation.neighbours``. A share
  of the row, it needs no further decay by the reader.

Event time drives every window, session and decay, never the wall clock. Clicks and carts
of one user are read in Kafka-timestamp order across the two topics (Quix aligns
concatenated topics by timestamp), so producers should stamp records with their event time;
a replay of the same log then rebuilds the same sessions and the same item stats.
"""

from __future__ import annotations

from quixstreams import Application, State

from ..operators.item_stats import ItemStatsState, updates_for
from ..operators.sessions import SessionTracker
from ..operators.validation import Accepted
from .app import make_application
from .emit_gate import EmitGate
from .intake import LIVE, dead_letters_topic, user_events
from .observability import Metrics, serve_observability
from .settings import Settings

NAME = "item-stats"


def build(settings: Settings, gate: EmitGate = LIVE) -> Application:
    """The item-stats Application, ready to run."""
    app = make_application(settings, NAME)
    metrics = Metrics(NAME)
    # Nothing to load before the first event: ready once it serves.
    serve_observability(metrics, settings, NAME, ["clicks", "carts"], ready=lambda: True)
    dead_letters = dead_letters_topic(app, settings)
    output = app.topic(settings.topic("item-stats"), key_serializer="str", value_serializer="bytes")

    def session_updates(accepted: Accepted, state: State) -> list[dict]:
        event = accepted.message
        stored = state.get("session")
        tracker = SessionTracker.from_dict(stored) if stored else SessionTracker(settings.session_gap_ms)
        action = getattr(event, "action", "click")
        held = tracker.learn_one(action, event.item_id, event.event_time)
        state.set("session", tracker.to_dict())
        if held is None:
            return []
        # Whether to publish is known only here, before the repartition by item changes the offsets.
        emit = gate.allows()
        return [{**update, "emit": emit} for update in updates_for(event.item_id, action, event.event_time, held)]

    def item_stats(update: dict, state: State) -> bytes:
        stored = state.get("stats")
        stats = ItemStatsState.from_dict(stored) if stored else ItemStatsState(
            update["item_id"], settings.window_ms, settings.trending_half_life_ms,
            settings.covisitation_half_life_ms)
        stats.learn_one(update["event_time"], update["action"], update["with"])
        state.set("stats", stats.to_dict())
        return stats.to_message(settings.neighbours_k).to_json() if update["emit"] else None

    events = user_events(app, settings, dead_letters, metrics, gate)
    updates = events.apply(session_updates, stateful=True, expand=True).group_by("item_id")
    updates.apply(item_stats, stateful=True).filter(lambda message: message is not None).to_topic(output)
    return app
