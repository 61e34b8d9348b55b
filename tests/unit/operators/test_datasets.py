"""Order logs read from tiny hand-made CSVs, and replayed as valid menu and cart events."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cartstream.operators.datasets import read_instacart, read_orders_csv
from cartstream.schemas import CartEvent, MenuItem


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def instacart_dir(tmp_path) -> Path:
    write_csv(tmp_path / "aisles.csv", ["aisle_id", "aisle"],
              [[1, "soft drinks"], [2, "fresh fruits"], [3, "ice cream ice"], [4, "poultry counter"]])
    write_csv(tmp_path / "departments.csv", ["department_id", "department"],
              [[1, "beverages"], [2, "produce"], [3, "frozen"], [4, "meat seafood"]])
    write_csv(tmp_path / "products.csv", ["product_id", "product_name", "aisle_id", "department_id"],
              [[10, "Cola, Zero Sugar", 1, 1], [20, "Banana", 2, 2], [30, "Vanilla Ice Cream", 3, 3],
               [40, "Chicken Breast", 4, 4], [50, "Never Ordered", 2, 2]])
    write_csv(tmp_path / "order_products__train.csv", ["order_id", "product_id", "add_to_cart_order", "reordered"],
              [[7, 30, 2, 0], [7, 20, 1, 1], [3, 10, 1, 0], [3, 40, 2, 0], [9, 20, 1, 0]])
    return tmp_path


def test_instacart_orders_come_in_order_id_order_with_items_in_cart_order(instacart_dir):
    log = read_instacart(instacart_dir)
    assert [(o.order_id, o.user_id, o.item_ids) for o in log.orders] == [
        ("3", "order-3", ("ic-10", "ic-40")),
        ("7", "order-7", ("ic-20", "ic-30")),
        ("9", "order-9", ("ic-20",)),
    ]
    assert "ic-50" not in log.products  # only what the orders hold becomes a menu item


def test_instacart_products_map_onto_one_store_with_food_categories(instacart_dir):
    products = read_instacart(instacart_dir).products
    assert {i: p.category for i, p in products.items()} == {
        "ic-10": "drink", "ic-20": "side", "ic-30": "dessert", "ic-40": "main"}
    cola = products["ic-10"]
    assert (cola.name, cola.cuisine, cola.restaurant_id, cola.tags) == (
        "Cola, Zero Sugar", "soft drinks", "instacart", ("beverages", "soft drinks"))
    assert products["ic-20"].veg and not products["ic-40"].veg


def test_instacart_orders_limit_keeps_the_first_orders_and_their_items(instacart_dir):
    log = read_instacart(instacart_dir, orders=1)
    assert [o.order_id for o in log.orders] == ["3"]
    assert sorted(log.products) == ["ic-10", "ic-40"]


def test_orders_csv_sorts_orders_by_id_and_keeps_rows_in_file_order(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["order_id", "item", "price"],
                     [[10, "naan", 3.5], [2, "curry", 12], [2, "lassi", "n/a"], [10, "curry", 12], [2, "curry", 12]])
    log = read_orders_csv(path, price_column="price")
    assert [(o.order_id, o.item_ids) for o in log.orders] == [("2", ("curry", "lassi")), ("10", ("naan", "curry"))]
    assert {i: p.price for i, p in log.products.items()} == {"curry": 12.0, "lassi": 5.0, "naan": 3.5}


def test_orders_csv_runs_orders_by_their_earliest_time_and_keeps_rows_in_file_order(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["basket", "dish", "at", "who"], [
        ["b", "pizza", "2026-01-02T12:00:05", "ann"], ["b", "cola", "2026-01-02T12:00:01", "ann"],
        ["a", "curry", "1767355200", "bob"],  # epoch seconds: 2026-01-02T12:00:00Z
    ])
    log = read_orders_csv(path, order_column="basket", item_column="dish", time_column="at", user_column="who")
    assert [(o.order_id, o.user_id, o.item_ids) for o in log.orders] == [
        ("a", "bob", ("curry",)), ("b", "ann", ("pizza", "cola"))]
    assert log.orders[1].time_ms - log.orders[0].time_ms == 1_000  # b's earliest row, cola


def test_orders_csv_names_a_missing_column(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["order_id", "product"], [[1, "x"]])
    with pytest.raises(ValueError, match="no item column 'item'"):
        read_orders_csv(path)


def test_replay_publishes_each_item_before_its_first_add_and_valid_events_in_time_order(instacart_dir):
    stream = read_instacart(instacart_dir).replay(step_ms=1_000, order_gap_ms=1_000)
    published, times = set(), []
    for topic, value in stream:
        if topic == "menu-items":
            MenuItem.model_validate(value)
            published.add(value["item_id"])
            continue
        event = CartEvent.model_validate(value)
        times.append(event.event_time)
        if event.action == "add":
            assert event.item_id in published
    assert times == sorted(times)
    assert [v["action"] for t, v in stream if t == "carts" and v["user_id"] == "order-7"] == ["add", "add", "checkout"]
    assert sum(t == "menu-items" for t, _ in stream) == 4  # each product once, banana included


def test_replay_starts_a_diners_next_order_after_their_last_one(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["order_id", "item", "user"],
                     [[1, "a", "u"], [1, "b", "u"], [1, "c", "u"], [2, "d", "u"]])
    stream = read_orders_csv(path, user_column="user").replay(step_ms=1_000, order_gap_ms=1_000)
    carts = [(v["action"], v.get("item_id")) for t, v in stream if t == "carts"]
    assert carts == [("add", "a"), ("add", "b"), ("add", "c"), ("checkout", None), ("add", "d"), ("checkout", None)]
