"""Click: a diner opens or taps a menu item (topic ``clicks``, keyed by user_id)."""

from __future__ import annotations

from cartstream.schemas.base import EventTime, Id, Message


class Click(Message):
    """A diner looked at one item of one restaurant.

    Examples
    --------
    >>> click = Click(event_id="e1", event_time=1700000000000, user_id="u1",
    ...               item_id="i1", restaurant_id="r1")
    >>> click.to_json()
    b'{"schema_version":1,"event_id":"e1","event_time":1700000000000,"user_id":"u1","item_id":"i1","restaurant_id":"r1","session_id":null}'
    """

    event_id: Id
    event_time: EventTime
    user_id: Id
    item_id: Id
    restaurant_id: Id
    session_id: Id | None = None
