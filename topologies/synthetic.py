"""A synthetic food world for the demo and the tests: restaurants, their menus, and diners with hidden tastes.

Everything follows from one seed. Restaurants publish ``menu-items`` messages; diners
order in sessions at their usual meal times: they click a few mains, add the one they
like best, round the cart off with complements (a drink, a side, a starter, a dessert),
sometimes change their mind, and check out. Which items they pick depends on a taste the
streams never state: favourite cuisines, vegetarian or not, how much price matters, how
often they take a drink or a dessert, and a personal liking for each dish on top of how
popular the dish is with everyone. A learner that reads these tastes back from behaviour
ranks better than popularity alone, which is what the demo and the tests measure.

Examples
--------
>>> world = FoodWorld.generate(seed=3, restaurants=6, diners=2)
>>> sorted({m["cuisine"] for m in world.menu})
['american', 'indian', 'italian', 'japanese', 'mexican', 'thai']
>>> item = next(m for m in world.menu if m["item_id"] == "r0-butter-chicken")
>>> item["name"], item["category"], item["veg"], item["restaurant_id"]
('Butter Chicken', 'main', False, 'r0')
>>> names = {m["item_id"]: m["name"] for m in world.menu}
>>> events = world.events(sessions=1)
>>> for topic, e in events:
...     if e["user_id"] == "u000":
...         print(topic, e.get("action", "click"), names.get(e.get("item_id"), "-"))
clicks click Spaghetti Carbonara
clicks click Margherita Pizza
carts add Spaghetti Carbonara
carts add Garlic Bread
clicks click Tiramisu
carts add Tiramisu
carts checkout -
>>> events == world.events(sessions=1)  # the same seed, the same stream
True
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import statistics
from collections.abc import Sequence

from ..operators.catalog import Catalog, ItemInfo

__all__ = ["CUISINES", "START_MS", "Diner", "FoodWorld"]

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

LUNCH_HOURS = (11, 12, 13)
DINNER_HOURS = (18, 19, 20, 21)

# Cuisine -> category -> (dish, vegetarian, typical price). Restaurants of a cuisine
# serve a subset of its dishes at their own price level.
DISHES: dict[str, dict[str, tuple[tuple[str, bool, float], ...]]] = {
    "indian": {
        "main": (("Butter Chicken", False, 13.5), ("Chicken Tikka Masala", False, 13.0),
                 ("Lamb Rogan Josh", False, 15.0), ("Chicken Biryani", False, 13.5),
                 ("Prawn Malabar Curry", False, 15.5), ("Palak Paneer", True, 11.5),
                 ("Chana Masala", True, 10.0), ("Dal Makhani", True, 10.5),
                 ("Paneer Tikka Masala", True, 12.0), ("Vegetable Korma", True, 10.5)),
        "side": (("Garlic Naan", True, 3.5), ("Plain Naan", True, 2.5), ("Jeera Rice", True, 3.5),
                 ("Cucumber Raita", True, 3.0)),
        "starter": (("Vegetable Samosa", True, 5.0), ("Onion Bhaji", True, 4.5), ("Chicken Tikka", False, 7.0),
                    ("Lamb Seekh Kebab", False, 7.5)),
        "drink": (("Mango Lassi", True, 4.0), ("Masala Chai", True, 3.0), ("Kingfisher Beer", True, 5.0),
                  ("Sweet Lassi", True, 3.5)),
        "dessert": (("Gulab Jamun", True, 4.5), ("Kulfi", True, 4.5), ("Rasmalai", True, 5.0)),
    },
    "italian": {
        "main": (("Pepperoni Pizza", False, 12.0), ("Spaghetti Carbonara", False, 12.5),
                 ("Lasagne al Forno", False, 13.5), ("Chicken Parmigiana", False, 14.5),
                 ("Linguine alle Vongole", False, 15.0), ("Margherita Pizza", True, 10.0),
                 ("Penne Arrabbiata", True, 10.5), ("Mushroom Risotto", True, 12.5),
                 ("Four Cheese Pizza", True, 12.0), ("Gnocchi al Pesto", True, 11.5)),
        "side": (("Garlic Bread", True, 4.0), ("Rocket and Parmesan Salad", True, 5.0),
                 ("Rosemary Fries", True, 4.0), ("Focaccia", True, 4.5)),
        "starter": (("Bruschetta", True, 6.0), ("Arancini", True, 6.5), ("Calamari Fritti", False, 8.0),
                    ("Burrata", True, 9.0)),
        "drink": (("San Pellegrino", True, 3.0), ("Limonata", True, 3.5), ("Peroni", True, 5.0),
                  ("Espresso", True, 2.5)),
        "dessert": (("Tiramisu", True, 6.0), ("Panna Cotta", True, 5.5), ("Cannoli", True, 5.0)),
    },
    "japanese": {
        "main": (("Chicken Katsu Curry", False, 12.5), ("Salmon Teriyaki", False, 15.0),
                 ("Tonkotsu Ramen", False, 13.5), ("Salmon Nigiri Set", False, 16.0),
                 ("Beef Gyudon", False, 13.0), ("California Roll", False, 9.5),
                 ("Vegetable Ramen", True, 12.0), ("Avocado Maki", True, 7.5),
                 ("Tofu Donburi", True, 11.0), ("Vegetable Yakisoba", True, 11.0)),
        "side": (("Edamame", True, 4.0), ("Miso Soup", True, 3.0), ("Steamed Rice", True, 2.5),
                 ("Seaweed Salad", True, 4.5)),
        "starter": (("Chicken Gyoza", False, 6.0), ("Vegetable Gyoza", True, 5.5), ("Prawn Tempura", False, 8.0),
                    ("Agedashi Tofu", True, 6.0)),
        "drink": (("Green Tea", True, 2.5), ("Ramune", True, 3.5), ("Asahi", True, 5.0), ("Calpis", True, 3.5)),
        "dessert": (("Mochi Ice Cream", True, 5.0), ("Matcha Cheesecake", True, 6.0), ("Dorayaki", True, 4.5)),
    },
    "mexican": {
        "main": (("Chicken Burrito", False, 11.0), ("Beef Burrito", False, 11.5), ("Carnitas Tacos", False, 10.5),
                 ("Fish Tacos", False, 11.0), ("Beef Enchiladas", False, 12.0),
                 ("Bean and Cheese Burrito", True, 9.5), ("Halloumi Tacos", True, 10.0),
                 ("Vegetable Fajitas", True, 11.0), ("Cheese Quesadilla", True, 9.0),
                 ("Sweet Potato Enchiladas", True, 11.0)),
        "side": (("Guacamole and Chips", True, 5.0), ("Mexican Rice", True, 3.0), ("Refried Beans", True, 3.0),
                 ("Elote", True, 4.0)),
        "starter": (("Nachos", True, 7.0), ("Jalapeno Poppers", True, 6.0), ("Chicken Taquitos", False, 6.5),
                    ("Queso Dip", True, 5.5)),
        "drink": (("Horchata", True, 3.5), ("Jarritos", True, 3.0), ("Corona", True, 5.0),
                  ("Agua Fresca", True, 3.5)),
        "dessert": (("Churros", True, 5.0), ("Tres Leches Cake", True, 5.5), ("Flan", True, 4.5)),
    },
    "thai": {
        "main": (("Pad Thai with Chicken", False, 11.5), ("Green Curry with Chicken", False, 12.0),
                 ("Red Curry with Duck", False, 14.0), ("Massaman Beef Curry", False, 13.5),
                 ("Pad Kra Pao", False, 11.5), ("Pad Thai with Tofu", True, 11.0),
                 ("Vegetable Green Curry", True, 11.0), ("Pineapple Fried Rice", True, 10.5),
                 ("Tofu Drunken Noodles", True, 11.0), ("Pumpkin Red Curry", True, 11.5)),
        "side": (("Jasmine Rice", True, 2.5), ("Sticky Rice", True, 3.0), ("Som Tam Papaya Salad", True, 6.0),
                 ("Prawn Crackers", False, 3.0)),
        "starter": (("Chicken Satay", False, 7.0), ("Vegetable Spring Rolls", True, 5.5),
                    ("Thai Fish Cakes", False, 6.5), ("Fresh Summer Rolls", True, 6.0)),
        "drink": (("Thai Iced Tea", True, 3.5), ("Coconut Water", True, 3.0), ("Singha", True, 5.0),
                  ("Lemongrass Soda", True, 3.5)),
        "dessert": (("Mango Sticky Rice", True, 6.0), ("Coconut Ice Cream", True, 4.5),
                    ("Banana Roti", True, 5.0)),
    },
    "american": {
        "main": (("Classic Cheeseburger", False, 12.0), ("Bacon Burger", False, 13.5),
                 ("Buttermilk Fried Chicken", False, 12.5), ("BBQ Pulled Pork Sandwich", False, 12.0),
                 ("Philly Cheesesteak", False, 13.0), ("Buffalo Chicken Wings", False, 11.0),
                 ("Beyond Burger", True, 13.0), ("Mac and Cheese", True, 10.0),
                 ("Grilled Veggie Wrap", True, 10.0), ("Black Bean Burger", True, 11.5)),
        "side": (("French Fries", True, 3.5), ("Sweet Potato Fries", True, 4.5), ("Onion Rings", True, 4.0),
                 ("Coleslaw", True, 3.0)),
        "starter": (("Mozzarella Sticks", True, 6.0), ("Loaded Potato Skins", False, 6.5),
                    ("Chicken Tenders", False, 7.0), ("Fried Pickles", True, 5.0)),
        "drink": (("Cola", True, 2.5), ("Vanilla Milkshake", True, 5.0), ("Lemonade", True, 3.0),
                  ("Root Beer", True, 3.0)),
        "dessert": (("New York Cheesecake", True, 6.5), ("Brownie Sundae", True, 6.0), ("Apple Pie", True, 5.5)),
    },
}
CUISINES: tuple[str, ...] = tuple(DISHES)

# How many dishes of each category one restaurant serves: ~17 items, more than a list of
# 10, so the order within a cart's restaurant matters.
MENU_SHAPE = {"main": 6, "side": 3, "starter": 3, "drink": 3, "dessert": 2}
PRICE_LEVELS = (0.85, 1.0, 1.25)  # budget, standard, premium


@dataclasses.dataclass(frozen=True)
class Diner:
    """One diner's hidden taste: what the streams reveal only through behaviour.

    Attributes
    ----------
    cuisines
        Favourite cuisines, the most loved first.
    veg
        Orders vegetarian items only.
    price_sensitivity
        0 ignores prices; 2 clearly prefers the cheaper dish and the cheaper restaurant.
    meal_hours
        UTC hours at which their orders start (lunch 11-13, dinner 18-21).
    drink_rate, side_rate, starter_rate, dessert_rate
        Chance that an order gets one of these next to its main.
    """

    user_id: str
    cuisines: tuple[str, ...]
    veg: bool
    price_sensitivity: float
    meal_hours: tuple[int, ...]
    drink_rate: float
    side_rate: float
    starter_rate: float
    dessert_rate: float


@dataclasses.dataclass(frozen=True)
class FoodWorld:
    """Restaurants' menus (as `menu-items` messages) and diners, from one seed.

    Build one with `FoodWorld.generate`; `events` then streams the diners' sessions.
    """

    seed: int
    start_ms: int
    menu: tuple[dict, ...]
    diners: tuple[Diner, ...]
    # How much everyone likes a dish, by dish name: what popularity can see.
    appeal: dict[str, float]
    # Restaurant id -> its price level, one of PRICE_LEVELS.
    price_level: dict[str, float]

    @classmethod
    def generate(cls, seed: int = 7, restaurants: int = 12, diners: int = 50,
                 start_ms: int = START_MS) -> FoodWorld:
        """A world of `restaurants` restaurants (cuisines in turn) and `diners` diners."""
        rng = random.Random(seed)
        appeal = {name: rng.gauss(0.0, 0.7) for cuisine in DISHES.values()
                  for dishes in cuisine.values() for name, _, _ in dishes}
        price_level = {f"r{r}": rng.choice(PRICE_LEVELS) for r in range(restaurants)}
        menu = tuple(item for r in range(restaurants)
                     for item in _restaurant_menu(rng, f"r{r}", CUISINES[r % len(CUISINES)],
                                                  price_level[f"r{r}"], start_ms))
        people = tuple(_diner(rng, f"u{d:03d}") for d in range(diners))
        return cls(seed, start_ms, menu, people, appeal, price_level)

    def catalog(self) -> Catalog:
        """The menu as the recommender's tables hold it."""
        catalog = Catalog()
        for m in self.menu:
            catalog.upsert(ItemInfo(m["item_id"], m["restaurant_id"], m["name"], m["category"], m["cuisine"],
                                    m["price"], m["veg"], m["available"]))
        return catalog

    def events(self, sessions: int = 6) -> list[tuple[str, dict]]:
        """Every diner's `sessions` orders as ``(topic, event)`` pairs in event-time order.

        Topics are ``clicks`` and ``carts``; events are JSON-ready dicts valid for the
        Click and CartEvent schemas. A diner orders about every other day, at one of
        their meal hours, so the stream covers ``2 * sessions`` days.
        """
        rng = random.Random(f"{self.seed}:events")
        menus = _by_restaurant(self.menu)
        stream: list[tuple[int, str, int, str, dict]] = []
        for diner in self.diners:
            # The diner's own liking of each dish and each restaurant, unknown to everyone else.
            liking = {name: rng.gauss(0.0, 0.8) for name in [*self.appeal, *self.price_level]}
            day = rng.uniform(0, 2)
            seq = 0
            for s in range(sessions):
                hour = rng.choice(diner.meal_hours)
                t = self.start_ms + int(day) * DAY_MS + hour * HOUR_MS + rng.randrange(50) * MINUTE_MS
                session = _Session(self, diner, liking, menus, rng, f"{diner.user_id}-s{s}", hour)
                for topic, event in session.order(t):
                    event["event_id"] = f"{diner.user_id}-{seq:05d}"
                    seq += 1
                    stream.append((event["event_time"], diner.user_id, seq, topic, event))
                day += rng.uniform(1.0, 3.0)
        stream.sort(key=lambda row: row[:3])
        return [(topic, event) for *_, topic, event in stream]


class _Session:
    """One order: which restaurant, which dishes, in which order of events."""

    def __init__(self, world: FoodWorld, diner: Diner, liking: dict[str, float],
                 menus: dict[str, list[dict]], rng: random.Random, session_id: str, hour: int):
        self.world, self.diner, self.liking, self.rng = world, diner, liking, rng
        self.session_id = session_id
        self.dinner = hour >= 17
        restaurant = self._restaurant(menus)
        self.items = [m for m in menus[restaurant] if m["veg"] or not diner.veg]
        self.median = {cat: statistics.median(m["price"] for m in menus[restaurant] if m["category"] == cat)
                       for cat in MENU_SHAPE}

    def _restaurant(self, menus: dict[str, list[dict]]) -> str:
        d, rng = self.diner, self.rng
        cuisine = rng.choices(d.cuisines + (rng.choice(CUISINES),), weights=(6, 3, 1)[: len(d.cuisines)] + (1,))[0]
        serving = [r for r, items in menus.items() if items[0]["cuisine"] == cuisine]
        # Cheaper places draw price-sensitive diners; personal liking of the place does the rest.
        weights = [math.exp(-d.price_sensitivity * 3 * (self.world.price_level[r] - 1.0) + self.liking[r])
                   for r in serving]
        return rng.choices(serving, weights=weights)[0]

    def utility(self, item: dict) -> float:
        """How much the diner wants `item`: shared appeal, personal liking, price, meat."""
        d = self.diner
        u = self.world.appeal[item["name"]] + self.liking[item["name"]]
        u -= 2.0 * d.price_sensitivity * math.log(item["price"] / self.median[item["category"]])
        if not d.veg and not item["veg"] and item["category"] in ("main", "starter"):
            u += 0.6  # meat eaters lean to meat, though not always
        return u

    def pick(self, category: str, exclude: Sequence[str] = (), n: int = 1) -> list[dict]:
        """Up to `n` different items of `category`, drawn with softmax weights of their utility."""
        pool = [m for m in self.items if m["category"] == category and m["item_id"] not in exclude]
        chosen = []
        for _ in range(min(n, len(pool))):
            weights = [math.exp(self.utility(m)) for m in pool]
            item = self.rng.choices(pool, weights=weights)[0]
            pool.remove(item)
            chosen.append(item)
        return chosen

    def order(self, t: int) -> list[tuple[str, dict]]:
        d, rng = self.diner, self.rng
        steps: list[tuple[str, dict | None]] = []
        browsed = self.pick("main", n=rng.choice((1, 2, 2, 3)))
        steps += [("click", m) for m in browsed]
        # Of what they looked at, they take what they like best.
        main = max(browsed, key=self.utility)
        steps.append(("add", main))
        rates = {"starter": d.starter_rate * (1.3 if self.dinner else 0.6),
                 "side": d.side_rate,
                 "drink": d.drink_rate * (0.8 if self.dinner else 1.2),
                 "dessert": d.dessert_rate * (1.4 if self.dinner else 0.6)}
        added = [main]
        for category, rate in rates.items():
            if rng.random() < rate and (extra := self.pick(category)):
                if rng.random() < 0.4:
                    steps.append(("click", extra[0]))
                steps.append(("add", extra[0]))
                added.append(extra[0])
        if len(added) > 1 and rng.random() < 0.12:
            # A change of mind: one extra comes out, and sometimes another of its kind goes in.
            dropped = rng.choice(added[1:])
            steps.append(("remove", dropped))
            if rng.random() < 0.5 and (other := self.pick(dropped["category"], exclude=[dropped["item_id"]])):
                steps.append(("add", other[0]))
        if rng.random() < 0.93:  # the rest abandon their cart
            steps.append(("checkout", None))

        events = []
        for action, item in steps:
            t += rng.randrange(15_000, 90_000)
            events.append(self._event(action, item, t))
        return events

    def _event(self, action: str, item: dict | None, t: int) -> tuple[str, dict]:
        event = {"schema_version": 1, "event_time": t, "user_id": self.diner.user_id}
        if item is not None:
            event |= {"item_id": item["item_id"], "restaurant_id": item["restaurant_id"]}
        if action == "click":
            return "clicks", event | {"session_id": self.session_id}
        event |= {"action": action, "session_id": self.session_id}
        if action == "add":
            event["quantity"] = 2 if item["category"] == "main" and self.rng.random() < 0.15 else 1
        return "carts", event


def _restaurant_menu(rng: random.Random, restaurant_id: str, cuisine: str, level: float,
                     published_ms: int) -> list[dict]:
    items = []
    for category, count in MENU_SHAPE.items():
        for name, veg, price in sorted(rng.sample(DISHES[cuisine][category], count)):
            items.append({
                "schema_version": 1,
                "event_id": f"menu-{restaurant_id}-{_slug(name)}",
                "event_time": published_ms,
                "item_id": f"{restaurant_id}-{_slug(name)}",
                "restaurant_id": restaurant_id,
                "name": name,
                "description": f"{name}, a {cuisine} {category}.",
                "category": category,
                "cuisine": cuisine,
                # Prices end in .00 or .50, as menus do.
                "price": max(1.0, round(price * level * rng.uniform(0.93, 1.07) * 2) / 2),
                "veg": veg,
                "available": True,
                "tags": ["vegetarian"] if veg else [],
            })
    return items


def _diner(rng: random.Random, user_id: str) -> Diner:
    cuisines = tuple(rng.sample(CUISINES, rng.choice((1, 2, 2))))
    meals = rng.choice((LUNCH_HOURS, DINNER_HOURS, DINNER_HOURS, LUNCH_HOURS + DINNER_HOURS))
    return Diner(
        user_id=user_id,
        cuisines=cuisines,
        veg=rng.random() < 0.3,
        price_sensitivity=round(rng.choice((0.0, 0.5, 1.0, 2.0)), 2),
        meal_hours=meals,
        drink_rate=round(rng.uniform(0.2, 0.9), 2),
        side_rate=round(rng.uniform(0.1, 0.7), 2),
        starter_rate=round(rng.uniform(0.0, 0.4), 2),
        dessert_rate=round(rng.uniform(0.05, 0.5), 2),
    )


def _by_restaurant(menu: Sequence[dict]) -> dict[str, list[dict]]:
    menus: dict[str, list[dict]] = {}
    for item in menu:
        menus.setdefault(item["restaurant_id"], []).append(item)
    return menus


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
