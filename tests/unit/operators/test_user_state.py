import numpy as np
import orjson
import pytest

from cartstream.operators.catalog import ItemInfo
from cartstream.operators.user_state import UserState

HOUR = 3_600_000
CURRY = ItemInfo("curry", "r1", "Butter Chicken", "main", "indian", 12.0, False)
NAAN = ItemInfo("naan", "r1", "Garlic Naan", "side", "indian", 3.0, True)
PIZZA = ItemInfo("pizza", "r2", "Margherita", "main", "italian", 10.0, True)


def test_adding_an_item_of_another_restaurant_starts_a_new_cart():
    state = UserState()
    state.on_cart("add", CURRY, 1, 0)
    state.on_cart("add", NAAN, 2, 1)
    state.on_cart("add", PIZZA, 1, 2)
    assert (state.cart_restaurant, state.cart) == ("r2", {"pizza": 1})


def test_adding_the_same_item_again_adds_up_quantities():
    state = UserState()
    state.on_cart("add", CURRY, 1, 0)
    state.on_cart("add", CURRY, 2, 1)
    assert state.cart == {"curry": 3}


def test_removing_decrements_and_an_empty_cart_has_no_restaurant():
    state = UserState()
    state.on_cart("add", CURRY, 3, 0)
    state.on_cart("remove", CURRY, 1, 1)
    assert state.cart == {"curry": 2}
    state.on_cart("remove", CURRY, 5, 2)
    assert (state.cart_restaurant, state.cart) == (None, {})


def test_removing_an_item_not_in_the_cart_does_nothing():
    state = UserState()
    state.on_cart("add", CURRY, 1, 0)
    state.on_cart("remove", PIZZA, 1, 1)
    assert (state.cart_restaurant, state.cart) == ("r1", {"curry": 1})


@pytest.mark.parametrize("action", ["clear", "checkout"])
def test_clear_and_checkout_empty_the_cart(action):
    state = UserState()
    state.on_cart("add", CURRY, 1, 0)
    state.on_cart(action, None, 1, 1)
    assert (state.cart_restaurant, state.cart) == (None, {})


def test_an_abandoned_cart_expires_after_its_ttl():
    state = UserState(cart_ttl_ms=HOUR)
    state.on_cart("add", CURRY, 1, 0)
    state.on_click(NAAN, HOUR)
    assert state.cart == {"curry": 1}
    state.on_click(NAAN, 2 * HOUR + 1)
    assert (state.cart_restaurant, state.cart) == (None, {})


def test_bad_cart_events_are_refused():
    state = UserState()
    with pytest.raises(ValueError, match="action"):
        state.on_cart("buy", CURRY, 1, 0)
    with pytest.raises(ValueError, match="needs an item"):
        state.on_cart("add", None, 1, 0)


def test_recent_items_are_distinct_bounded_and_most_recent_first():
    state = UserState(max_recent=2)
    state.on_click(CURRY, 0)
    state.on_click(NAAN, 1)
    state.on_click(CURRY, 2)
    assert state.recent_ids() == ["curry", "naan"]
    state.on_click(PIZZA, 3)
    assert state.recent_ids() == ["pizza", "curry"]


def test_a_late_event_lands_in_event_time_order():
    state = UserState()
    state.on_click(CURRY, 100)
    state.on_click(NAAN, 50)
    state.on_click(CURRY, 10)  # older than what we know about curry: no change
    assert state.recent_ids() == ["curry", "naan"]
    assert state.recent[-1][2] == 100


def test_current_restaurant_is_the_carts_else_the_latest_items():
    state = UserState()
    assert state.current_restaurant is None
    state.on_cart("add", CURRY, 1, 0)
    state.on_click(PIZZA, 1)
    assert state.current_restaurant == "r1"
    state.on_cart("checkout", None, 1, 2)
    assert state.current_restaurant == "r2"


def test_session_ids_cover_only_the_session_gap():
    state = UserState()
    state.on_click(CURRY, 0)
    state.on_click(NAAN, 2 * HOUR)
    assert state.session_ids(2 * HOUR + 1, session_gap_ms=HOUR) == ["naan"]


def test_older_tastes_fade_with_the_half_life():
    state = UserState(half_life_ms=HOUR)
    state.on_click(PIZZA, 0)
    state.on_click(CURRY, HOUR)
    # pizza now weighs 1/2, curry 1: shares 1/3 and 2/3
    assert state.cuisine_share("italian") == pytest.approx(1 / 3)
    assert state.cuisine_share("indian") == pytest.approx(2 / 3)
    assert state.category_share("main") == pytest.approx(1.0)
    assert state.veg_ratio() == pytest.approx(1 / 3)
    assert state.price_band() == pytest.approx((10.0 * 0.5 + 12.0) / 1.5)


def test_tastes_do_not_depend_on_arrival_order():
    in_order, late = UserState(half_life_ms=HOUR), UserState(half_life_ms=HOUR)
    in_order.on_click(PIZZA, 0)
    in_order.on_click(CURRY, HOUR)
    late.on_click(CURRY, HOUR)
    late.on_click(PIZZA, 0)
    assert late.cuisine_share("italian") == pytest.approx(in_order.cuisine_share("italian"))
    assert late.price_band() == pytest.approx(in_order.price_band())


def test_cart_adds_count_more_than_clicks():
    state = UserState(add_weight=3.0)
    state.on_click(PIZZA, 0)
    state.on_cart("add", CURRY, 1, 0)
    assert state.cuisine_share("indian") == pytest.approx(0.75)


def test_no_history_means_no_tastes():
    state = UserState()
    assert state.veg_ratio() is None and state.price_band() is None
    assert state.cuisine_share("indian") == 0.0
    assert state.taste_vector({"curry": np.ones(2)}) is None


def test_taste_vector_is_a_unit_vector_leaning_to_recent_items():
    state = UserState(taste_half_life_ms=HOUR)
    vectors = {"curry": np.array([2.0, 0.0]), "pizza": np.array([0.0, 5.0])}
    state.on_click(CURRY, 0)
    state.on_click(NAAN, HOUR // 2)  # no vector: skipped
    state.on_click(PIZZA, HOUR)
    taste = state.taste_vector(vectors)
    assert np.linalg.norm(taste) == pytest.approx(1.0)
    assert taste[1] == pytest.approx(2 * taste[0])  # curry is one half-life older


def test_taste_vector_is_none_without_vectors():
    state = UserState()
    state.on_click(CURRY, 0)
    assert state.taste_vector({}) is None


def test_a_shown_list_is_taken_once():
    state = UserState()
    state.show([("naan", {"similarity": 0.5})], "e1", 10)
    assert state.take_shown() == {"items": [["naan", {"similarity": 0.5}]], "trigger_event_id": "e1", "event_time": 10}
    assert state.take_shown() is None


def test_state_round_trips_through_json():
    state = UserState(half_life_ms=HOUR, max_recent=5)
    state.on_click(PIZZA, 0)
    state.on_cart("add", CURRY, 2, HOUR)
    state.show([("naan", {"similarity": 0.5})], "e1", HOUR)
    again = UserState.from_dict(orjson.loads(orjson.dumps(state.to_dict())))
    assert again.to_dict() == state.to_dict()
    again.on_cart("add", NAAN, 1, 2 * HOUR)
    state.on_cart("add", NAAN, 1, 2 * HOUR)
    assert again.to_dict() == state.to_dict()
