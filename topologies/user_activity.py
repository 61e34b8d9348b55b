"""user-activity: `clicks` + `carts` -> validate, dedupe -> per-user activity -> `user-activity`.

The smallest real topology: keyed per user, stateful, exactly-once, bad input to
`dead-letters`, and state recovered from the changelog topic when an instance restarts.
"""

from __future__ import annotations

from quixstreams import Application, State

from ..operators.activity import updated_activity
from ..operators.validation import Accepted
from .app import make_application
from .emit_gate import EmitGate
from .intake import LIVE, dead_letters_topic, user_events
from .observability import Metrics, serve_observability
from .settings import Settings

NAME = "user-activity"


def track(accepted: Accepted, state: State) -> dict:
    """Fold one click or cart event into the user's activity and return the new activity."""
    event = accepted.message
    action = getattr(event, "action", "click")
    activity = updated_activity(state.get("activity"), action, event.item_id, event.event_time)
    state.set("activity", activity)
    return {"user_id": event.user_id, **activity}


def build(settings: Settings, gate: EmitGate = LIVE) -> Application:
    """The user-activity Application, ready to run."""
    app = make_application(settings, NAME)
    metrics = Metrics(NAME)
    # Nothing to load before the first event: ready once it serves.
    serve_observability(metrics, settings, NAME, ["clicks", "carts"], ready=lambda: True)
    dead_letters = dead_letters_topic(app, settings)
    output = app.topic(settings.topic("user-activity"), key_serializer="bytes", value_serializer="json")
    events = user_events(app, settings, dead_letters, metrics, gate)
    events.apply(track, stateful=True).filter(lambda _: gate.allows()).to_topic(output)
    return app
