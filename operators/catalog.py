"""The menu as the recommender sees it: one row per item, looked up by id or by restaurant.

Examples
--------
>>> catalog = Catalog()
>>> catalog.upsert(ItemInfo("i1", "r1", "Butter Chicken", "main", "indian", 12.5, False))
>>> catalog.upsert(ItemInfo("i2", "r1", "Mango Lassi", "drink", "indian", 3.0, True))
>>> catalog.upsert(ItemInfo("i3", "r2", "Tiramisu", "dessert", "italian", 6.0, True, available=False))
>>> [i.name for i in catalog.available_items_of("r1")]
['Butter Chicken', 'Mango Lassi']
>>> catalog.available_ids()
['i1', 'i2']
>>> catalog.delete("i1")
>>> catalog.get("i1") is None, len(catalog)
(True, 2)
"""

from __future__ import annotations

import dataclasses

__all__ = ["CATEGORIES", "Catalog", "ItemInfo"]

CATEGORIES = ("main", "side", "starter", "drink", "dessert")


@dataclasses.dataclass(frozen=True)
class ItemInfo:
    """What the recommender needs to know about one menu item.

    Parameters
    ----------
    item_id
        Identifier of the item.
    restaurant_id
        The restaurant whose menu holds the item.
    name
        Shown to diners, and used in reasons ("often added with Butter Chicken").
    category
        One of `CATEGORIES`.
    cuisine
        Free text such as "indian"; compared by equality.
    price
        Positive price in the menu's currency.
    veg
        Whether the item is vegetarian.
    available
        Unavailable items stay known (their names still explain reasons) but are never
        recommended.

    Examples
    --------
    >>> info = ItemInfo("i1", "r1", "Butter Chicken", "main", "indian", 12.5, False)
    >>> ItemInfo.from_dict(info.to_dict()) == info
    True
    >>> ItemInfo("i9", "r1", "Mystery", "snack", "indian", 1.0, True)
    Traceback (most recent call last):
    ...
    ValueError: category must be one of ('main', 'side', 'starter', 'drink', 'dessert'), got 'snack'
    """

    item_id: str
    restaurant_id: str
    name: str
    category: str
    cuisine: str
    price: float
    veg: bool
    available: bool = True

    def __post_init__(self) -> None:
        # The complement rules and the category affinity key on these exact names.
        if self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, got {self.category!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ItemInfo:
        return cls(**data)


class Catalog:
    """An in-memory table of items, indexed by item id and by restaurant.

    Every listing is sorted by item id, so whatever is built from it is deterministic.
    """

    def __init__(self) -> None:
        self.items: dict[str, ItemInfo] = {}
        self._by_restaurant: dict[str, set[str]] = {}
        # Each event with a cart lists its restaurant's menu: sorted once per menu change.
        self._available_of: dict[str, list[ItemInfo]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.items

    def upsert(self, info: ItemInfo) -> None:
        """Insert an item or replace it, including a move to another restaurant."""
        self.delete(info.item_id)
        self.items[info.item_id] = info
        self._by_restaurant.setdefault(info.restaurant_id, set()).add(info.item_id)
        self._available_of.pop(info.restaurant_id, None)

    def delete(self, item_id: str) -> None:
        """Forget an item; deleting an unknown item does nothing (tombstones may repeat)."""
        info = self.items.pop(item_id, None)
        if info is None:
            return
        self._available_of.pop(info.restaurant_id, None)
        ids = self._by_restaurant[info.restaurant_id]
        ids.discard(item_id)
        if not ids:
            del self._by_restaurant[info.restaurant_id]

    def get(self, item_id: str) -> ItemInfo | None:
        return self.items.get(item_id)

    def available_items_of(self, restaurant_id: str) -> list[ItemInfo]:
        """The restaurant's available items, sorted by item id (a list the caller must not change)."""
        listed = self._available_of.get(restaurant_id)
        if listed is None:
            ids = sorted(self._by_restaurant.get(restaurant_id, ()))
            listed = [self.items[i] for i in ids if self.items[i].available]
            if ids:
                self._available_of[restaurant_id] = listed
        return listed

    def available_ids(self) -> list[str]:
        """Ids of every available item, sorted."""
        return sorted(i for i, info in self.items.items() if info.available)

    def to_dict(self) -> dict:
        return {"items": [self.items[i].to_dict() for i in sorted(self.items)]}

    @classmethod
    def from_dict(cls, data: dict) -> Catalog:
        catalog = cls()
        for row in data["items"]:
            catalog.upsert(ItemInfo.from_dict(row))
        return catalog
