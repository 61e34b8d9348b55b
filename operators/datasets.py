"""Real order logs as cartstream streams: read orders from CSV, replay them as menu and cart events.

An order log is a catalog of products and a list of orders, each the products one diner
added, in the order they were added. `OrderLog.replay` turns it into the messages
producers would send: each product becomes a `menu-items` event the first time an order
needs it (new items arrive while the stream runs), each row a `carts` add, and each order
ends with a checkout. Orders are one diner's session each (the user id is the order id
unless the log names users), start one after another in order-id order (or by their time)
and overlap like concurrent diners, so event time always increases.

Two readers: `read_instacart` for the Instacart layout (``products.csv``, ``aisles.csv``,
``departments.csv``, ``order_products__train.csv``) and `read_orders_csv` for any CSV
with one row per added item. Groceries have no menu categories, so departments and
aisles are mapped onto the food ones (`grocery_category`) and the aisle stands in for
the cuisine; every product belongs to one store, so a cart may hold any of them.

Examples
--------
>>> import tempfile, pathlib
>>> csv_file = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
>>> _ = csv_file.write_text("order_id,item\\n2,Cola\\n1,Burger\\n1,Fries\\n2,Burger\\n")
>>> log = read_orders_csv(csv_file)
>>> [(o.order_id, o.item_ids) for o in log.orders]
[('1', ('Burger', 'Fries')), ('2', ('Cola', 'Burger'))]
>>> for topic, e in log.replay(start_ms=1_767_225_600_000, step_ms=1_000, order_gap_ms=1_000):
...     print(topic, e["event_time"] - 1_767_225_600_000, e.get("action", "menu"), e.get("item_id", "-"))
menu-items 0 menu Burger
carts 0 add Burger
menu-items 1000 menu Fries
carts 1000 add Fries
menu-items 1000 menu Cola
carts 1000 add Cola
carts 2000 checkout -
carts 2000 add Burger
carts 3000 checkout -
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from cartstream.schemas.base import MAX_ID_LENGTH

__all__ = [
    "DEFAULT_PRICE",
    "Order",
    "OrderLog",
    "Product",
    "grocery_category",
    "read_instacart",
    "read_orders_csv",
]

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, as the synthetic world
#: Time between two adds of one order, and between the starts of consecutive orders:
#: about thirty orders are open at any moment, like diners ordering side by side.
STEP_MS = 30_000
ORDER_GAP_MS = 10_000
DEFAULT_PRICE = 5.0
INSTACART_STORE = "instacart"
CSV_STORE = "store"
MAX_NAME = 200
MAX_TAG = 40

# Grocery departments -> the menu category that plays the same part in a cart.
DEPARTMENT_CATEGORY = {
    "beverages": "drink",
    "alcohol": "drink",
    "snacks": "dessert",
    "frozen": "main",
    "meat seafood": "main",
    "dry goods pasta": "main",
    "canned goods": "main",
    "international": "main",
    "deli": "starter",
}
# Aisles that say more than their department (ice cream is frozen, cookies are snacks...).
AISLE_CATEGORY = {
    "ice cream ice": "dessert",
    "frozen dessert": "dessert",
    "ice cream toppings": "dessert",
    "candy chocolate": "dessert",
    "cookies cakes": "dessert",
    "bakery desserts": "dessert",
    "refrigerated pudding desserts": "dessert",
    "frozen appetizers sides": "side",
    "frozen produce": "side",
    "frozen breads doughs": "side",
    "frozen juice": "drink",
    "prepared meals": "main",
    "prepared soups salads": "starter",
    "fresh dips tapenades": "starter",
}
NOT_VEG_WORDS = ("meat", "poultry", "seafood", "sausage", "bacon", "jerky")


def grocery_category(department: str, aisle: str) -> str:
    """The menu category of a grocery product: drinks, desserts, mains, starters; the rest are sides.

    >>> grocery_category("beverages", "soft drinks"), grocery_category("frozen", "ice cream ice")
    ('drink', 'dessert')
    >>> grocery_category("produce", "fresh fruits"), grocery_category("meat seafood", "poultry counter")
    ('side', 'main')
    """
    return AISLE_CATEGORY.get(aisle) or DEPARTMENT_CATEGORY.get(department, "side")


@dataclasses.dataclass(frozen=True)
class Product:
    """One product as a menu item of the store."""

    item_id: str
    name: str
    category: str = "main"
    cuisine: str = "general"
    price: float = DEFAULT_PRICE
    veg: bool = True
    tags: tuple[str, ...] = ()
    restaurant_id: str = CSV_STORE

    def menu_item(self, event_time: int) -> dict:
        """The `menu-items` message publishing this product."""
        return {
            "schema_version": 1,
            "event_id": _id(f"menu-{self.item_id}"),
            "event_time": event_time,
            "item_id": self.item_id,
            "restaurant_id": self.restaurant_id,
            "name": self.name,
            "category": self.category,
            "cuisine": self.cuisine,
            "price": self.price,
            "veg": self.veg,
            "available": True,
            "tags": list(self.tags),
        }


@dataclasses.dataclass(frozen=True)
class Order:
    """One order: its diner and the items added, in cart order; ``time_ms`` when the log has times."""

    order_id: str
    user_id: str
    item_ids: tuple[str, ...]
    time_ms: int | None = None


@dataclasses.dataclass
class OrderLog:
    """Products by item id and the orders, in the order they are replayed."""

    products: dict[str, Product]
    orders: list[Order]

    def head(self, n: int | None) -> OrderLog:
        """The first `n` orders (all when None) and only the products they hold."""
        orders = self.orders if n is None else self.orders[:n]
        used = {item_id for order in orders for item_id in order.item_ids}
        return OrderLog({i: p for i, p in self.products.items() if i in used}, orders)

    @property
    def adds(self) -> int:
        return sum(len(order.item_ids) for order in self.orders)

    def replay(self, start_ms: int = START_MS, step_ms: int = STEP_MS,
               order_gap_ms: int = ORDER_GAP_MS) -> list[tuple[str, dict]]:
        """Every message of the replay as ``(topic, value)``, in event-time order.

        Order ``n`` starts at ``start_ms + n * order_gap_ms`` (or at its own time, when the
        log has times), its adds ``step_ms`` apart, then its checkout. A product's menu event
        comes right before the first add of it, with that add's time. Ties keep the order's
        place, so one diner's events never swap.
        """
        timed: list[tuple[int, int, int, str, dict]] = []
        user_free: dict[str, int] = {}
        first_time = next((o.time_ms for o in self.orders if o.time_ms is not None), None)
        for n, order in enumerate(self.orders):
            if order.time_ms is not None and first_time is not None:
                t = start_ms + (order.time_ms - first_time)
            else:
                t = start_ms + n * order_gap_ms
            # A diner's next order starts after their last one ended.
            t = max(t, user_free.get(order.user_id, t))
            for pos, item_id in enumerate(order.item_ids):
                product = self.products[item_id]
                timed.append((t, n, pos, "carts", {
                    "schema_version": 1,
                    "event_id": _id(f"{order.order_id}-{pos + 1}"),
                    "event_time": t,
                    "user_id": order.user_id,
                    "action": "add",
                    "item_id": item_id,
                    "restaurant_id": product.restaurant_id,
                    "quantity": 1,
                    "session_id": _id(order.order_id),
                }))
                t += step_ms
            timed.append((t, n, len(order.item_ids), "carts", {
                "schema_version": 1,
                "event_id": _id(f"{order.order_id}-checkout"),
                "event_time": t,
                "user_id": order.user_id,
                "action": "checkout",
                "session_id": _id(order.order_id),
            }))
            user_free[order.user_id] = t + step_ms
        timed.sort(key=lambda row: row[:3])
        stream: list[tuple[str, dict]] = []
        published: set[str] = set()
        for *_, topic, event in timed:
            item_id = event.get("item_id")
            if item_id is not None and item_id not in published:
                published.add(item_id)
                stream.append(("menu-items", self.products[item_id].menu_item(event["event_time"])))
            stream.append((topic, event))
        return stream


def read_instacart(directory: str | Path, orders: int | None = None) -> OrderLog:
    """The Instacart layout: products with aisle and department, orders in ``order_id`` order.

    Each product is an item of one store, ``ic-<product_id>``, named by its product name;
    its aisle is the cuisine, its department and aisle are its tags, the category comes
    from `grocery_category`, and meat, poultry and seafood are not vegetarian.
    """
    directory = Path(directory)
    aisles = {row["aisle_id"]: row["aisle"] for row in _rows(directory / "aisles.csv")}
    departments = {row["department_id"]: row["department"] for row in _rows(directory / "departments.csv")}
    rows: dict[int, list[tuple[int, str]]] = {}
    for row in _rows(directory / "order_products__train.csv"):
        rows.setdefault(int(row["order_id"]), []).append((int(row["add_to_cart_order"]), row["product_id"]))
    chosen = sorted(rows)[:orders] if orders is not None else sorted(rows)
    needed = {product_id for order_id in chosen for _, product_id in rows[order_id]}
    products = {}
    for row in _rows(directory / "products.csv"):
        if row["product_id"] not in needed:
            continue
        aisle = aisles.get(row["aisle_id"], "missing")
        department = departments.get(row["department_id"], "missing")
        item_id = f"ic-{row['product_id']}"
        products[row["product_id"]] = Product(
            item_id=item_id,
            name=row["product_name"][:MAX_NAME] or item_id,
            category=grocery_category(department, aisle),
            cuisine=aisle[:50],
            veg=not any(word in aisle or word in department for word in NOT_VEG_WORDS),
            tags=tuple(dict.fromkeys(t[:MAX_TAG] for t in (department, aisle))),
            restaurant_id=INSTACART_STORE,
        )
    missing = needed - products.keys()
    if missing:
        raise ValueError(f"{len(missing)} products of the orders are not in products.csv, "
                         f"e.g. {sorted(missing)[:3]}")
    log_orders = []
    for order_id in chosen:
        items = tuple(dict.fromkeys(products[p].item_id for _, p in sorted(rows[order_id])))
        log_orders.append(Order(str(order_id), f"order-{order_id}", items))
    return OrderLog({p.item_id: p for p in products.values()}, log_orders)


def read_orders_csv(
    path: str | Path,
    order_column: str = "order_id",
    item_column: str = "item",
    time_column: str | None = None,
    user_column: str | None = None,
    price_column: str | None = None,
    name_column: str | None = None,
    orders: int | None = None,
) -> OrderLog:
    """Any CSV with one row per added item: orders by time when `time_column` is given (an
    order's time is its earliest row's), else by order id.

    Rows of one order keep their file order, which is the order of its adds. The item value is the
    item id (hashed when longer than an id may be) and, without `name_column`, its name.
    Prices come from `price_column` (the first valid one per item) or are `DEFAULT_PRICE`.
    Times may be epoch seconds, epoch milliseconds or ISO 8601. Without `user_column`
    each order is its own diner, ``order-<order id>``. An item repeated in one order is
    added once.
    """
    path = Path(path)
    rows = list(_rows(path))
    if not rows:
        raise ValueError(f"{path} has no rows")
    for label, column in (("order", order_column), ("item", item_column), ("time", time_column),
                          ("user", user_column), ("price", price_column), ("name", name_column)):
        if column is not None and column not in rows[0]:
            raise ValueError(f"{path} has no {label} column {column!r}; its columns are {sorted(rows[0])}")
    by_order: dict[str, list[tuple[int, str]]] = {}
    users: dict[str, str] = {}
    products: dict[str, Product] = {}
    for line, row in enumerate(rows, start=2):
        order_id, value = row[order_column].strip(), row[item_column].strip()
        if not order_id or not value:
            raise ValueError(f"{path} line {line}: empty {order_column!r} or {item_column!r}")
        t = _time_ms(row[time_column], path, line) if time_column else 0
        item_id = value if len(value) <= MAX_ID_LENGTH else "item-" + hashlib.sha256(value.encode()).hexdigest()[:32]
        by_order.setdefault(order_id, []).append((t, item_id))
        if user_column and row[user_column].strip():
            users.setdefault(order_id, row[user_column].strip()[:MAX_ID_LENGTH])
        if item_id not in products or (products[item_id].price == DEFAULT_PRICE and price_column):
            name = (row[name_column].strip() if name_column else "") or value
            price = _price(row[price_column]) if price_column else None
            if item_id in products and price is None:
                continue
            products[item_id] = Product(item_id, name[:MAX_NAME], price=price or DEFAULT_PRICE)
    log_orders = []
    for order_id, items in by_order.items():
        ids = tuple(dict.fromkeys(item_id for _, item_id in items))  # appended in file order
        user_id = users.get(order_id) or _id(f"order-{order_id}")
        log_orders.append(Order(order_id, user_id, ids, min(t for t, _ in items) if time_column else None))
    if time_column:
        log_orders.sort(key=lambda o: o.time_ms)  # stable: ties keep the file's order
    else:
        numeric = all(o.order_id.isdigit() for o in log_orders)
        log_orders.sort(key=lambda o: int(o.order_id) if numeric else o.order_id)
    return OrderLog(products, log_orders).head(orders)


def _rows(path: Path) -> Iterable[dict[str, str]]:
    if path.is_dir():
        raise FileNotFoundError(f"{path} is a directory; give the CSV file itself")
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def _id(text: str) -> str:
    """`text` as an id: itself when short enough, else a readable head and a hash."""
    if len(text) <= MAX_ID_LENGTH:
        return text
    return text[: MAX_ID_LENGTH - 17] + "-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _time_ms(text: str, path: Path, line: int) -> int:
    """Epoch milliseconds from epoch seconds, epoch milliseconds or ISO 8601 (UTC unless it says)."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{path} line {line}: time {text!r} is neither epoch seconds/ms nor ISO 8601") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    if not math.isfinite(number):
        raise ValueError(f"{path} line {line}: time {text!r} is not a number")
    # Seconds since the epoch stay below 1e11 until the year 5138; milliseconds are above it.
    return int(number * 1000) if abs(number) < 1e11 else int(number)


def _price(text: str) -> float | None:
    try:
        price = float(text)
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and 0 < price <= 1000 else None
