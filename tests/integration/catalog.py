"""A small synthetic menu for integration tests: restaurants, categories, one unavailable item."""

from __future__ import annotations

BASE_TIME = 1_767_225_600_000
CATEGORIES = ("main", "main", "side", "drink", "dessert", "starter")


def menu_item(restaurant: str, n: int, available: bool = True) -> dict:
    category = CATEGORIES[n % len(CATEGORIES)]
    return {
        "event_id": f"menu-{restaurant}-{n}-{available}", "event_time": BASE_TIME,
        "item_id": f"{restaurant}-{n}", "restaurant_id": restaurant,
        "name": f"{restaurant} {category} {n}", "description": f"a {category} from {restaurant}",
        "category": category, "cuisine": "indian" if restaurant.endswith("1") else "italian",
        "price": 5.0 + n, "veg": n % 2 == 0, "available": available, "tags": [],
    }


def catalog(restaurants: int = 3, items: int = 6, unavailable: tuple[str, ...] = ("r1-3",)) -> list[dict]:
    """Menu items of `restaurants` restaurants; the ids in `unavailable` are switched off."""
    menu = []
    for r in range(1, restaurants + 1):
        for n in range(items):
            item_id = f"r{r}-{n}"
            menu.append(menu_item(f"r{r}", n, available=item_id not in unavailable))
    return menu
