"""user-activity: `clicks` -> per-user activity state -> `user-activity`.

The smallest real topology: keyed per user, stateful, exactly-once, and its state is
recovered from the changelog topic when an instance restarts elsewhere.
"""

from __future__ import annotations

from quixstreams import Application, State

from ..operators.activity import updated_activity
from .app import make_application
from .settings import Settings

NAME = "user-activity"


def track(click: dict, state: State) -> dict:
    """Fold one click into the user's activity and return the new activity."""
    activity = updated_activity(state.get("activity"), click)
    state.set("activity", activity)
    return {"user_id": click["user_id"], **activity}


def build(settings: Settings) -> Application:
    """The user-activity Application, ready to run."""
    app = make_application(settings, NAME)
    clicks = app.topic(settings.topic("clicks"), value_deserializer="json", key_deserializer="str")
    output = app.topic(settings.topic("user-activity"), value_serializer="json", key_serializer="str")
    sdf = app.dataframe(clicks)
    sdf = sdf.apply(track, stateful=True)
    sdf.to_topic(output)
    return app
