"""MenuItem: a restaurant publishes or changes one item of its menu (topic ``menu-items``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from cartstream.schemas.base import Category, Cuisine, EventTime, Id, ItemName, Message, Price

MAX_TAGS = 20
Tag = Annotated[str, StringConstraints(max_length=40)]


class MenuItem(Message):
    """The current state of one menu item; the topic is compacted by item_id.

    A null value (tombstone) on ``menu-items`` deletes the item; it has no MenuItem.

    Examples
    --------
    >>> item = MenuItem.from_json(b'''{"event_id": "e1", "event_time": 1700000000000,
    ...     "item_id": "i1", "restaurant_id": "r1", "name": "Butter Chicken",
    ...     "category": "main", "cuisine": "indian", "price": 12.5, "veg": false,
    ...     "tags": ["spicy"], "spice_level": 3}''')
    >>> item.available, item.tags, item.unknown_fields
    (True, ['spicy'], ['spice_level'])
    >>> MenuItem.from_json(item.to_json()) == item
    True
    """

    event_id: Id
    event_time: EventTime
    item_id: Id
    restaurant_id: Id
    name: ItemName
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    category: Category
    cuisine: Cuisine
    price: Price
    veg: bool
    available: bool = True
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)]
