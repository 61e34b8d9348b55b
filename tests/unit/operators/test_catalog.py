import orjson
import pytest

from cartstream.operators.catalog import Catalog, ItemInfo


def item(item_id, restaurant_id="r1", available=True):
    return ItemInfo(item_id, restaurant_id, f"Item {item_id}", "main", "indian", 10.0, False, available)


def test_upsert_replaces_an_item_and_follows_a_move_to_another_restaurant():
    catalog = Catalog()
    catalog.upsert(item("a", "r1"))
    catalog.upsert(item("a", "r2"))
    assert catalog.available_items_of("r1") == []
    assert catalog.available_items_of("r2") == [item("a", "r2")]
    assert len(catalog) == 1


def test_unavailable_items_are_known_but_never_listed():
    catalog = Catalog()
    catalog.upsert(item("a"))
    catalog.upsert(item("b", available=False))
    assert catalog.get("b") == item("b", available=False)
    assert catalog.available_ids() == ["a"]
    assert [i.item_id for i in catalog.available_items_of("r1")] == ["a"]


def test_listings_are_sorted_by_item_id():
    catalog = Catalog()
    for item_id in ["c", "a", "b"]:
        catalog.upsert(item(item_id))
    assert [i.item_id for i in catalog.available_items_of("r1")] == ["a", "b", "c"]
    assert catalog.available_ids() == ["a", "b", "c"]


def test_deleting_an_unknown_item_does_nothing():
    catalog = Catalog()
    catalog.upsert(item("a"))
    catalog.delete("zzz")
    catalog.delete("a")
    catalog.delete("a")
    assert len(catalog) == 0 and catalog.available_items_of("r1") == []


def test_unknown_category_is_rejected():
    with pytest.raises(ValueError, match="category"):
        ItemInfo("a", "r1", "A", "snack", "indian", 1.0, True)


def test_catalog_round_trips_through_json():
    catalog = Catalog()
    catalog.upsert(item("a"))
    catalog.upsert(item("b", "r2", available=False))
    again = Catalog.from_dict(orjson.loads(orjson.dumps(catalog.to_dict())))
    assert again.items == catalog.items
    assert again.available_items_of("r1") == catalog.available_items_of("r1")


def test_a_listing_read_before_a_change_follows_the_change():
    catalog = Catalog()
    catalog.upsert(item("a"))
    catalog.upsert(item("b"))
    assert [i.item_id for i in catalog.available_items_of("r1")] == ["a", "b"]
    catalog.upsert(item("b", available=False))
    catalog.upsert(item("c"))
    assert [i.item_id for i in catalog.available_items_of("r1")] == ["a", "c"]
    catalog.delete("a")
    assert [i.item_id for i in catalog.available_items_of("r1")] == ["c"]
