"""CartEvent: a diner adds to, removes from, clears or checks out a cart (topic ``carts``)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from cartstream.schemas.base import EventTime, Id, Message

CartAction = Literal["add", "remove", "clear", "checkout"]

# The cross-field rule, stated again for producers that validate with the JSON Schema.
_ITEM_REQUIRED_FOR_ITEM_ACTIONS: dict[str, Any] = {
    "if": {"properties": {"action": {"enum": ["add", "remove"]}}, "required": ["action"]},
    "then": {
        "required": ["item_id", "restaurant_id"],
        "properties": {"item_id": {"type": "string"}, "restaurant_id": {"type": "string"}},
    },
}


class CartEvent(Message):
    """One change to a diner's cart; add and remove name the item and its restaurant.

    For ``clear`` and ``checkout`` the item_id and restaurant_id may be absent and are ignored.

    Examples
    --------
    >>> CartEvent(event_id="e2", event_time=1700000000000, user_id="u1", action="clear").quantity
    1
    >>> try:
    ...     CartEvent(event_id="e3", event_time=1700000000000, user_id="u1", action="add")
    ... except ValueError as exc:
    ...     print(exc.errors()[0]["msg"])
    Value error, action 'add' needs item_id and restaurant_id
    """

    ITEM_ACTIONS: ClassVar[frozenset[str]] = frozenset({"add", "remove"})

    model_config = ConfigDict(json_schema_extra=_ITEM_REQUIRED_FOR_ITEM_ACTIONS)

    event_id: Id
    event_time: EventTime
    user_id: Id
    action: CartAction
    item_id: Id | None = Field(default=None, description="required for add and remove")
    restaurant_id: Id | None = Field(default=None, description="required for add and remove")
    quantity: Annotated[int, Field(ge=1, le=50)] = 1
    session_id: Id | None = None

    @model_validator(mode="after")
    def _item_actions_name_the_item(self) -> Self:
        if self.action in self.ITEM_ACTIONS and (self.item_id is None or self.restaurant_id is None):
            raise ValueError(f"action {self.action!r} needs item_id and restaurant_id")
        return self
