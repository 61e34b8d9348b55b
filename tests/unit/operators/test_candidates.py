import numpy as np
import pytest

from cartstream.models.covisitation import CoVisitation
from cartstream.models.trending import Trending
from cartstream.operators.candidates import Candidate, candidates_for
from cartstream.operators.catalog import Catalog, ItemInfo
from cartstream.operators.user_state import UserState

MENU = [
    ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False),
    ItemInfo("biryani", "r1", "Biryani", "main", "indian", 11.0, False),
    ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True),
    ItemInfo("raita", "r1", "Raita", "side", "indian", 2.5, True),
    ItemInfo("lassi", "r1", "Mango Lassi", "drink", "indian", 4.0, True),
    ItemInfo("kulfi", "r1", "Kulfi", "dessert", "indian", 5.0, True),
    ItemInfo("chai", "r1", "Chai", "drink", "indian", 2.0, True, available=False),
    ItemInfo("pizza", "r2", "Margherita", "main", "italian", 10.0, True),
    ItemInfo("tiramisu", "r2", "Tiramisu", "dessert", "italian", 6.0, True),
    ItemInfo("cola", "r2", "Cola", "drink", "italian", 2.0, True, available=False),
]
VECTORS = {i.item_id: np.eye(len(MENU))[n] for n, i in enumerate(MENU)}


def catalog():
    c = Catalog()
    for info in MENU:
        c.upsert(info)
    return c


def everything_search(vector, k):
    """An index that returns every item it ever heard of, and one it never did."""
    return [(i.item_id, 1.0) for i in MENU][:k] + [("ghost", 0.9)]


def generate(state, covis=None, trending=None, search=everything_search):
    return candidates_for(state, catalog(), covisitation=covis or CoVisitation(),
                          trending=trending or Trending(), taste=state.taste_vector(VECTORS), search=search)


def ids(candidates: list[Candidate]) -> list[str]:
    return [c.item_id for c in candidates]


def in_cart(*items):
    state = UserState()
    for item_id in items:
        state.on_cart("add", catalog().get(item_id), 1, 0)
    return state


def test_cart_candidates_stay_in_the_cart_restaurant():
    trending = Trending()
    trending.learn_one("pizza", 0, weight=100)
    covis = CoVisitation()
    covis.learn_one("tiramisu", ["curry"], 0)
    candidates = generate(in_cart("curry"), covis, trending)
    assert {c.item.restaurant_id for c in candidates} == {"r1"}


def test_cart_candidates_are_the_whole_available_menu_minus_the_cart():
    assert ids(generate(in_cart("curry", "naan"))) == ["biryani", "kulfi", "lassi", "raita"]


def test_before_any_co_visitation_drinks_and_desserts_complement_a_main_the_cart_lacks():
    by_id = {c.item_id: c for c in generate(in_cart("curry"))}
    assert by_id["lassi"].complement_of == by_id["kulfi"].complement_of == "curry"
    assert by_id["lassi"].complement == pytest.approx(1 / 3)
    assert not by_id["biryani"].complement  # a second main rounds nothing off


def test_co_visitation_teaches_which_categories_round_off_an_item():
    covis = CoVisitation()
    for _ in range(9):  # curry carts take a lassi, and never a dessert
        covis.learn_one("lassi", ["curry"], 0)
    by_id = {c.item_id: c for c in generate(in_cart("curry"), covis)}
    assert by_id["lassi"].complement == pytest.approx((0.9 + 0.5 / 3) / 1.4)
    assert by_id["kulfi"].complement_of is None  # 0.12: no longer "goes with your Butter Chicken"
    assert by_id["kulfi"].complement == by_id["raita"].complement == pytest.approx(0.5 / 3 / 1.4)


def test_a_complement_names_the_cart_item_it_rounds_off_best():
    covis = CoVisitation()
    covis.learn_one("kulfi", ["naan"], 0)
    by_id = {c.item_id: c for c in generate(in_cart("curry", "naan"), covis)}
    # Naan was once taken with a dessert (0.5), curry's usual rules give desserts a third.
    assert (by_id["kulfi"].complement_of, by_id["kulfi"].complement) == ("naan", pytest.approx(0.5))


def test_a_category_already_in_the_cart_is_no_complement():
    by_id = {c.item_id: c for c in generate(in_cart("curry", "naan"))}
    assert not by_id["raita"].complement


def test_cart_candidates_carry_co_visitation_with_cart_items():
    covis = CoVisitation()
    covis.learn_one("lassi", ["curry"], 0)
    by_id = {c.item_id: c for c in generate(in_cart("curry"), covis)}
    assert by_id["lassi"].sources == ("covisitation", "menu")
    assert by_id["lassi"].covisited_with == "curry"
    assert by_id["lassi"].covisitation > 0
    assert by_id["naan"].sources == ("menu",) and by_id["naan"].covisitation == 0.0


def test_unavailable_and_unknown_items_never_become_candidates():
    trending, covis = Trending(), CoVisitation()
    for item_id in ["chai", "cola", "ghost", "pizza"]:
        trending.learn_one(item_id, 0)
        covis.learn_one(item_id, ["curry"], 0)
    browsing = UserState()
    browsing.on_click(catalog().get("curry"), 0)
    for state in [browsing, in_cart("curry")]:
        found = ids(generate(state, covis, trending))
        assert found and not {"chai", "cola", "ghost"} & set(found)


def test_without_a_cart_candidates_record_every_source():
    trending, covis = Trending(), CoVisitation()
    trending.learn_one("tiramisu", 0)
    covis.learn_one("tiramisu", ["pizza"], 0)
    state = UserState()
    state.on_click(catalog().get("pizza"), 0)
    by_id = {c.item_id: c for c in generate(state, covis, trending)}
    assert by_id["tiramisu"].sources == ("ann", "covisitation", "trending")
    assert by_id["tiramisu"].covisited_with == "pizza"
    assert by_id["naan"].sources == ("ann",)


def test_a_cold_diner_gets_trending_items():
    trending = Trending()
    trending.learn_one("pizza", 0)
    trending.learn_one("lassi", 0)
    assert ids(generate(UserState(), trending=trending)) == ["lassi", "pizza"]
    assert {c.sources for c in generate(UserState(), trending=trending)} == {("trending",)}


def test_without_an_index_there_is_no_nearest_neighbour_source():
    state = UserState()
    state.on_click(catalog().get("pizza"), 0)
    assert generate(state, search=None) == []


def test_co_visitation_sums_over_the_anchors_names_the_best_and_skips_the_anchors_themselves():
    covis = CoVisitation()
    covis.learn_one("kulfi", ["curry"], 0)
    covis.learn_one("kulfi", ["naan"], 0)
    covis.learn_one("kulfi", ["naan"], 0)
    covis.learn_one("naan", ["curry"], 0)
    state = UserState()
    state.on_click(catalog().get("curry"), 0)
    state.on_click(catalog().get("naan"), 1)
    by_id = {c.item_id: c for c in generate(state, covis, search=None)}
    assert set(by_id) == {"kulfi"}
    assert by_id["kulfi"].covisited_with == "naan"
    with_naan, with_curry = covis.neighbours("naan", 1)[0][1], dict(covis.neighbours("curry", 5))["kulfi"]
    assert with_naan > with_curry > 0
    assert by_id["kulfi"].covisitation == pytest.approx(with_naan + with_curry)


def big_store(items: int = 60) -> tuple[Catalog, dict[str, np.ndarray]]:
    """One store with a big menu (every fifth item unavailable) and 2-d vectors on a circle."""
    c = Catalog()
    vectors = {}
    for n in range(items):
        item_id = f"g{n:03d}"
        c.upsert(ItemInfo(item_id, "store", f"Grocery {n}", "side", "any", 1.0 + n % 7, True,
                          available=n % 5 != 4))
        angle = n * 2 * np.pi / items
        vectors[item_id] = np.array([np.cos(angle), np.sin(angle)])
    return c, vectors


def capped(state, c, vectors, cap, covis=None, trending=None):
    return candidates_for(state, c, covisitation=covis or CoVisitation(), trending=trending or Trending(),
                          taste=state.taste_vector(vectors), vectors=vectors, max_cart_candidates=cap)


def test_a_menu_bigger_than_the_cap_is_cut_to_the_cap_without_cart_or_unavailable_items():
    c, vectors = big_store()
    state = UserState()
    state.on_cart("add", c.get("g000"), 1, 0)
    found = ids(capped(state, c, vectors, cap=10))
    assert len(found) == 10 and found == sorted(found)
    assert "g000" not in found
    assert all(c.get(i).available and c.get(i).restaurant_id == "store" for i in found)


def test_a_menu_within_the_cap_is_scored_whole():
    c, vectors = big_store(items=10)
    state = UserState()
    state.on_cart("add", c.get("g000"), 1, 0)
    assert ids(capped(state, c, vectors, cap=10)) == ids(capped(state, c, vectors, cap=None))


def test_the_cap_keeps_co_visited_and_recent_items_first():
    c, vectors = big_store()
    covis = CoVisitation()
    covis.learn_one("g030", ["g000"], 0)  # opposite the taste: only co-visitation brings it
    state = UserState()
    state.on_click(c.get("g031"), 0)  # recent, and as far from the later taste
    state.on_cart("add", c.get("g000"), 1, 3_600_000 * 24)
    found = ids(capped(state, c, vectors, cap=3, covis=covis))
    assert {"g030", "g031"} <= set(found)


def test_the_cap_alternates_likeness_to_the_taste_and_trending():
    c, _ = big_store()
    vectors = {item_id: np.array([0.0, 1.0]) for item_id in c.items}  # unlike the cart item
    vectors.update({"g010": np.array([1.0, 0.0]), "g020": np.array([0.9, 0.1]), "g030": np.array([0.8, 0.2])})
    trending = Trending()
    trending.learn_one("g025", 0, weight=5)
    trending.learn_one("g035", 0, weight=3)
    trending.learn_one("g045", 0, weight=1)
    state = UserState()
    state.on_cart("add", c.get("g010"), 1, 0)
    assert ids(capped(state, c, vectors, cap=4, trending=trending)) == ["g020", "g025", "g030", "g035"]


def test_without_taste_or_evidence_the_cap_keeps_the_first_ids():
    c, _ = big_store()
    state = UserState()
    state.on_cart("add", c.get("g000"), 1, 0)
    assert ids(capped(state, c, {}, cap=3)) == ["g001", "g002", "g003"]


def test_the_cap_gives_the_same_candidates_for_the_same_input():
    c, vectors = big_store()
    trending = Trending()
    for n in range(0, 60, 3):
        trending.learn_one(f"g{n:03d}", 0)
    state = UserState()
    state.on_click(c.get("g010"), 0)
    state.on_cart("add", c.get("g020"), 1, 1)
    runs = {tuple(ids(capped(state, c, vectors, cap=12, trending=trending))) for _ in range(3)}
    assert len(runs) == 1


def test_items_of_the_same_category_are_alternatives_not_complements():
    covis = CoVisitation()
    for _ in range(9):  # diners compare curry with biryani, then take one of them
        covis.learn_one("biryani", ["curry"], 0)
    by_id = {c.item_id: c for c in generate(in_cart("curry"), covis)}
    assert by_id["lassi"].complement == pytest.approx(1 / 3)  # the usual rules, untouched
